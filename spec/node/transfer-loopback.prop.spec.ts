import fc from 'fast-check';
import { asapScheduler, asyncScheduler, queueScheduler, type Observable } from 'rxjs';
import { download, upload, isTransferError, type TransferEvent } from 'rxtransfer';
import { assertTransferGrammar } from 'rxtransfer/testing';
import { startFaultServer, type FaultServer, type Query } from '../helpers/fault-server';
import { seededBytes, sha256Hex } from '../helpers/fault-bytes';
import { delay, within } from '../helpers/fault-trace';
import { progressOf, record, type Recorder } from '../helpers/trace-driver';
import { RecordingScheduler } from '../helpers/virtual-timer';

/**
 * The transfer properties against a real node:http fault server on 127.0.0.1 (>= 30 runs each):
 * random sizes, chunkings, with and without Content-Length, gzip, truncations, resets, stalls,
 * surplus bytes, statuses with retries, uploads and cancel points. Every trace goes through the
 * shared grammar checker (G2–G5), plus G1, G7 and G10 as on the fake transport.
 */
let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer();
});
afterAll(() => server.close());

type Delivery = 'none' | 'asap' | 'async' | 'queue';
const deliveryArb = fc.constantFrom<Delivery>('none', 'asap', 'async', 'queue');
function scheduler(kind: Delivery): RecordingScheduler | undefined {
  return kind === 'none' ? undefined : new RecordingScheduler(kind === 'asap' ? asapScheduler : kind === 'async' ? asyncScheduler : queueScheduler, kind === 'queue');
}

async function ended<R>(recorder: Recorder<R>, ms = 15_000): Promise<void> {
  for (let waited = 0; waited < ms && !recorder.ended(); waited += 5) await delay(5);
  if (!recorder.ended()) throw new Error(`G2 no end within ${ms} ms; trace so far: ${recorder.trace.length} notifications`);
  const length = recorder.trace.length;
  await delay(10); // anything late would show up now (G3)
  expect(recorder.trace).toHaveLength(length);
  assertTransferGrammar(recorder.trace);
  expect(recorder.problems).toEqual([]);
}

function errorCode<R>(recorder: Recorder<R>): string | undefined {
  const last = recorder.trace[recorder.trace.length - 1];
  if (last?.kind !== 'error') return undefined;
  expect(isTransferError(last.error)).toBe(true);
  return (last.error as { code: string }).code;
}

function resultOf<R>(recorder: Recorder<R>): R | undefined {
  const done = recorder.trace[recorder.trace.length - 2];
  return done?.kind === 'next' && done.value.type === 'done' ? done.value.result : undefined;
}

let keys = 0;
type Fault = 'none' | 'cut' | 'reset' | 'stall' | 'extra' | 'status' | 'fail-then-ok';
const downloadArb = fc.record({
  size: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 2, max: 4096 }), fc.integer({ min: 4097, max: 300_000 })),
  chunk: fc.oneof(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 513, max: 65_536 })),
  withLength: fc.boolean(),
  gzip: fc.boolean(),
  fault: fc.constantFrom<Fault>('none', 'none', 'cut', 'reset', 'stall', 'extra', 'status', 'fail-then-ok'),
  at: fc.double({ min: 0, max: 0.99, noNaN: true }),
  status: fc.constantFrom(404, 410, 500, 503),
  failures: fc.integer({ min: 1, max: 2 }),
  failWith: fc.constantFrom('503', 'reset', 'cut'),
  retry: fc.nat({ max: 2 }),
  progressInterval: fc.constantFrom(0, 5, 1e9),
  delivery: deliveryArb,
});

describe('transfers against the loopback fault server (properties)', () => {
  it('G2 G4 G5 downloads end as the fault says: done with the exact bytes, or the right error (property, 30 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(downloadArb, async (p) => {
        const seed = (keys % 7) + 1;
        const size = p.fault === 'cut' || p.fault === 'reset' || p.fault === 'stall' || (p.fault === 'fail-then-ok' && p.failWith === 'cut') ? Math.max(2, p.size) : p.size;
        const stop = Math.min(size - 1, Math.floor(p.at * size));
        // gzip is served whole or cut (the fault server gzips in one piece): never a false size, never done when cut.
        const gzip = p.gzip && (p.fault === 'none' || p.fault === 'status' || p.fault === 'cut');
        const query: Query = { size, seed, chunk: Math.max(p.chunk, Math.ceil(size / 256)), length: p.withLength ? 1 : 0, gzip: gzip ? 1 : undefined };
        let path = '/bytes';
        if (p.fault === 'cut') query['cut'] = stop;
        if (p.fault === 'reset') query['resetAfter'] = stop;
        if (p.fault === 'stall') query['stallAfter'] = stop;
        if (p.fault === 'extra') Object.assign(query, { extra: 3, length: 1, gzip: undefined });
        if (p.fault === 'status') {
          path = `/status/${p.status}`;
          query['retryAfter'] = p.status === 503 ? '0' : undefined;
        }
        if (p.fault === 'fail-then-ok') Object.assign(query, { key: `k${keys++}`, fail: p.failures, failWith: p.failWith, gzip: undefined });
        const delivery = scheduler(p.delivery);
        const before = server.requests.length;
        const transfer = download(server.url(path, query), {
          responseType: 'uint8array',
          progressInterval: p.progressInterval,
          retry: { count: p.retry, baseDelay: 1, maxDelay: 5 },
          // Short where a stall is the fault (its wait is the test's time), long enough elsewhere that a
          // loaded machine's pause is no idle timeout (a retry there would be a second request).
          timeout: { idle: p.fault === 'stall' ? 250 : 5000 },
          scheduler: delivery,
        });
        await delay(2);
        expect(server.requests.length).toBe(before); // G1
        const recorder = record(transfer, delivery);
        await ended(recorder);

        const code = errorCode(recorder);
        const known = p.withLength && !gzip;
        let expected: string[];
        switch (p.fault) {
          case 'none':
            expected = ['done'];
            break;
          case 'cut':
          case 'reset':
            expected = known ? ['integrity'] : ['network', 'integrity'];
            break;
          case 'stall':
            expected = ['timeout'];
            break;
          case 'extra':
            // Bytes past Content-Length are not body to an HTTP parser: either refused, or left out.
            expected = ['integrity', 'done'];
            break;
          case 'status':
            expected = ['http'];
            break;
          case 'fail-then-ok':
            expected = p.retry >= p.failures ? ['done'] : [p.failWith === '503' ? 'http' : p.failWith === 'reset' ? 'network' : p.withLength ? 'integrity' : 'network'];
            if (p.failWith === 'cut' && !p.withLength) expected = p.retry >= p.failures ? ['done', 'network'] : ['network', 'integrity'];
            break;
        }
        expect(expected).toContain(code ?? 'done');
        const result = resultOf(recorder) as { data: Uint8Array; size: number } | undefined;
        if (result) {
          // G5: done only with the whole body, byte for byte; G10: the last event shows it at 100%.
          expect(result.size).toBe(size);
          expect(sha256Hex(result.data)).toBe(sha256Hex(seededBytes(seed, size)));
          const last = progressOf(recorder.trace).pop();
          expect([last?.loaded, last?.total, last?.percent]).toEqual([size, size, 100]);
        }
        if (p.fault !== 'fail-then-ok' && p.fault !== 'status' && p.fault !== 'stall' && p.fault !== 'cut' && p.fault !== 'reset') expect(server.requests.length - before).toBe(1);
      }),
      { numRuns: 30 },
    );
  });

  it('G4 uploads: upload progress first and whole, the server got every byte (property, 30 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 2, max: 400_000 })),
        fc.constantFrom('POST', 'PUT'),
        fc.constantFrom(200, 201, 500),
        fc.constantFrom(0, 5, 1e9),
        deliveryArb,
        async (size, method, status, progressInterval, kind) => {
          const seed = (size % 5) + 1;
          const body = seededBytes(seed, size);
          const delivery = scheduler(kind);
          const recorder = record(upload(server.url('/upload', { status }), body, { method, progressInterval, scheduler: delivery, responseType: 'json' }), delivery);
          await ended(recorder);
          const rec = server.requests[server.requests.length - 1]!;
          const got = await within(rec.bodyEnded, 5_000, undefined);
          expect(got?.bytes).toBe(size);
          expect(got?.sha256).toBe(sha256Hex(body));
          expect(rec.method).toBe(method);
          const events = progressOf(recorder.trace);
          const up = events.filter((e) => e.direction === 'upload');
          expect(up[0]).toMatchObject({ loaded: 0 }); // G10: the first event is kept
          if (status >= 400) expect(errorCode(recorder)).toBe('http');
          else {
            expect((resultOf(recorder) as { sent: number; data: { bytes: number } }).data.bytes).toBe(size);
            expect(up[up.length - 1]).toMatchObject({ loaded: size, total: size, percent: 100 }); // G10 on success
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('G3 cancel at a random moment: unsubscribe delivers nothing more and the server sees the close; signal ends in cancelled (property, 30 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.constantFrom<'unsubscribe' | 'signal'>('unsubscribe', 'signal'), deliveryArb, fc.boolean(), async (after, how, kind, isUpload) => {
        const delivery = scheduler(kind);
        const controller = new AbortController();
        const options = { signal: controller.signal, scheduler: delivery, progressInterval: 0 };
        const requested = server.nextRequest(isUpload ? '/upload' : '/bytes');
        const transfer: Observable<TransferEvent<unknown>> = isUpload
          ? upload(server.url('/upload', { read: 0 }), seededBytes(3, 2_000_000), options)
          : download(server.url('/bytes', { size: 5_000_000, chunk: 4096, delay: 2 }), options);
        const recorder = record(transfer, delivery);
        const rec = await within(requested, 5_000, undefined);
        expect(rec).toBeDefined();
        await delay(after);
        if (how === 'unsubscribe') {
          recorder.unsubscribe();
          const delivered = recorder.trace.length;
          rec!.release();
          expect(await within(rec!.closedEarly, 5_000, 'still open')).toBe(true); // G6, seen by the server
          await delay(10);
          expect(recorder.trace).toHaveLength(delivered);
          assertTransferGrammar(recorder.trace, { ended: false });
          expect(recorder.problems).toEqual([]);
        } else {
          controller.abort();
          await ended(recorder);
          expect(errorCode(recorder)).toBe('cancelled');
          rec!.release();
          expect(await within(rec!.closedEarly, 5_000, 'still open')).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });
});
