import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Observable } from 'rxjs';
import { isCancelledError, isIntegrityError, type DownloadOptions, type TransferEvent } from 'rxtransfer';
import { FakeTransport, assertTransferGrammar } from 'rxtransfer/testing';
import { createTransfer } from '../../lib/internal/core/transfer.js';
import type { FileSink, Platform } from '../../lib/internal/core/platform.js';
import { nodePlatform } from '../../lib/internal/node/node-platform.js';
import { chunksOf, cutsArb, IDLE_MS } from '../helpers/arbitraries.js';
import { makeDelivery, record, settle, sleepReal, type Recorder } from '../helpers/trace-driver.js';
import type { VirtualTimer as VirtualTimerType } from '../helpers/virtual-timer.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';

/**
 * Cancels in the windows the scripted properties never reach: after the transport's last step
 * (the body's `end()`, or a 304 head, which has no body) and before `done` reaches the
 * subscriber, while the core checks the length and the digest, publishes the body (the file
 * renamed to `to`) or, on a 304 to a conditional download, gives its side file up and checks the
 * copy kept. The cancel comes after a random number of microtasks or event-loop turns, by
 * unsubscribing or by the signal, on a FakeTransport and a real disk.
 *
 * Whatever the moment: one end or none (G2, G3); unsubscribe delivers nothing more (G6); a signal
 * aborted before the end was delivered ends in CancelledError unless the body was published
 * already (too late: `done`, the file whole at `to`): with a file, the test sees when the core
 * starts publishing (the sink's `finish()`), and a signal aborted before that is always
 * CancelledError, never a file renamed into place; a 304 publishes nothing, so there it is
 * always CancelledError when aborted before the end (told apart where the end is delivered at
 * once, without a scheduler; docs/transfers.md, "Cancelling"); `to` is never left partial, a 304
 * never changes it, and no `<to>.partial`, record or lock outlives the run (G5, G6); no timer
 * is left behind.
 */
const URL = 'https://a.test/files/w.bin';
const OLD = new Uint8Array([111, 108, 100]);
const sha256 = (b: Uint8Array) => `sha256-${createHash('sha256').update(b).digest('base64')}`;

let dir: string;
let files = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rxtransfer-window-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** When the cancel comes after the last step: `n` microtasks, or `n` event-loop turns (disk I/O needs those). */
const waitArb = fc.record({ unit: fc.constantFrom<'micro' | 'turn'>('micro', 'turn'), n: fc.nat({ max: 8 }) });
type Wait = { readonly unit: 'micro' | 'turn'; readonly n: number };

async function wait(w: Wait): Promise<void> {
  for (let i = 0; i < w.n; i++) {
    if (w.unit === 'micro') await Promise.resolve();
    else await settle();
  }
}

/** Waits (real time, bounded) until `until()` holds, running only virtual timers due now: no timeout is made to fire. */
async function waitFor(timer: VirtualTimerType, until: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    await settle();
    if (until()) return;
    const due = timer.nextDue();
    if (due !== undefined && due <= timer.now()) timer.runNext();
    else await sleepReal(1);
  }
  throw new Error(`hung: ${what}`);
}

/** What the run leaves beside `to`: nothing may be there once it has settled. */
function leftovers(to: string): string[] {
  return ['.partial', '.partial.json', '.partial.lock'].filter((s) => existsSync(to + s));
}

function contents(path: string): string {
  return existsSync(path) ? Buffer.from(readFileSync(path)).toString('hex') : 'absent';
}

/** What the test hears from a watched file sink. */
interface SinkHooks {
  /** After each write, with the bytes the sink then holds. */
  onWrite?(offset: number): void;
  /** Once the sink has been given up (its `abort()` settled: the side file and lock let go). */
  onAborted?(): void;
  /** Once the core has read the copy kept at `to` (a 304 with `integrity`), to its end or not. */
  onKeptRead?(): void;
}

/**
 * The Node platform, its file sinks watched: `publishing()` says whether the core has started to
 * publish (called the sink's `finish()`, which renames the file into place), and `hooks` hear
 * the sink's other steps. Only observes: every call goes to the real sink.
 */
function watchedPlatform(hooks: SinkHooks): { platform: Platform; publishing(): boolean } {
  let started = false;
  const platform: Platform = {
    ...nodePlatform,
    openFileSink: async (path, options) => {
      const sink = await nodePlatform.openFileSink!(path, options);
      return new Proxy(sink, {
        get(target, key) {
          switch (key) {
            case 'finish':
              return () => {
                started = true;
                return target.finish();
              };
            case 'write':
              return (chunk: Uint8Array) => {
                const pending = target.write(chunk);
                hooks.onWrite?.(target.offset);
                return pending;
              };
            case 'abort':
              return async (reason?: unknown) => {
                try {
                  return await target.abort(reason);
                } finally {
                  hooks.onAborted?.();
                }
              };
            case 'kept':
              return target.kept && async function* () {
                try {
                  yield* target.kept!();
                } finally {
                  hooks.onKeptRead?.();
                }
              };
          }
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }) as FileSink;
    },
  };
  return { platform, publishing: () => started };
}

/** Lets the run unwind after an unsubscribe (the file let go, its lock released), then lets time run out. */
async function settleRun(timer: VirtualTimerType, recorder: Recorder<unknown>, to: string | undefined): Promise<void> {
  await waitFor(timer, () => (to === undefined || leftovers(to).length === 0) && timer.pending === 0 && (recorder.ended() || recorder.unsubscribedAt !== undefined), 'the run to let go of everything');
  for (let i = 0; i < 3; i++) {
    await settle();
    timer.advanceBy(IDLE_MS * 1000);
  }
  await sleepReal(2);
  await settle();
}

describe('a cancel between the last step and done (properties)', () => {
  it('G3 G5 G6 unsubscribe or signal after the body ended: nothing after unsubscribe, Cancelled unless published, `to` never partial, nothing left beside it (property, 150 runs)', async () => {
    const arb = fc.record({
      body: fc.uint8Array({ maxLength: 48 }),
      cuts: cutsArb(4),
      withLength: fc.boolean(),
      file: fc.constantFrom<'memory' | 'new' | 'existing'>('memory', 'new', 'existing'),
      integrity: fc.boolean(),
      how: fc.constantFrom<'unsubscribe' | 'signal'>('unsubscribe', 'signal'),
      // Counted from the transport's end(), or (to a file) from the write that gave the sink the body's last byte.
      from: fc.constantFrom<'end' | 'last-write'>('end', 'last-write'),
      wait: waitArb,
      delivery: fc.constantFrom<'none' | 'asap' | 'queue' | 'virtual'>('none', 'none', 'asap', 'queue', 'virtual'),
      progressInterval: fc.constantFrom(0, 100, 1e9),
      totalTimeout: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(arb, async (p) => {
        const timer = new VirtualTimer();
        const delivery = makeDelivery(p.delivery, timer);
        const fake = new FakeTransport();
        const controller = new AbortController();
        const to = p.file === 'memory' ? undefined : join(dir, `after-end-${++files}.bin`);
        if (p.file === 'existing') writeFileSync(to!, OLD);
        const before = to === undefined ? undefined : contents(to);
        let cancelled: { endedBefore: boolean; lengthAt: number; publishedBefore: boolean } | undefined;
        const cancel = () => {
          if (cancelled) return;
          cancelled = { endedBefore: recorder.ended(), lengthAt: recorder.trace.length, publishedBefore: watched.publishing() };
          if (p.how === 'unsubscribe') recorder.unsubscribe();
          else controller.abort();
        };
        const fromLastWrite = p.from === 'last-write' && to !== undefined && p.body.byteLength > 0;
        const watched = watchedPlatform({
          onWrite: (offset) => {
            if (fromLastWrite && offset === p.body.byteLength) void wait(p.wait).then(cancel);
          },
        });
        const options: DownloadOptions = {
          transport: fake,
          timer,
          scheduler: delivery,
          signal: controller.signal,
          progressInterval: p.progressInterval,
          timeout: { idle: IDLE_MS, ...(p.totalTimeout ? { total: 1e9 } : {}) },
          ...(to === undefined ? { responseType: 'uint8array' as const } : { to }),
          ...(p.integrity ? { integrity: sha256(p.body) } : {}),
        };
        const transfer: Observable<TransferEvent<unknown>> = createTransfer(watched.platform, 'download', URL, undefined, options);
        const recorder = record(transfer, delivery);
        await waitFor(timer, () => fake.requests.length === 1 || recorder.ended(), 'the request');
        const req = fake.requests[0]!;
        req.respond({ headers: p.withLength ? { 'content-length': String(p.body.byteLength) } : {} });
        for (const c of chunksOf(p.body, p.cuts)) req.chunk(c);
        req.end(); // the transport's last step
        if (fromLastWrite) await waitFor(timer, () => cancelled !== undefined, 'the last write');
        else {
          await wait(p.wait);
          cancel();
        }
        const { endedBefore, lengthAt, publishedBefore } = cancelled!;
        if (p.how === 'signal') await waitFor(timer, () => recorder.ended(), 'the end after the signal');
        await settleRun(timer, recorder, to);

        expect(recorder.problems).toEqual([]);
        assertTransferGrammar(recorder.trace, { ended: p.how === 'signal' || endedBefore });
        if (p.how === 'unsubscribe') expect(recorder.trace).toHaveLength(lengthAt);
        expect(req.released).toBe(true);
        expect(timer.pending).toBe(0);
        const last = recorder.trace[recorder.trace.length - 1];
        const done = recorder.trace[recorder.trace.length - 2];
        const result = last?.kind === 'complete' && done?.kind === 'next' && done.value.type === 'done' ? (done.value.result as { data?: Uint8Array; size: number }) : undefined;
        if (p.how === 'signal' && !endedBefore) {
          // Before the core could even read the end, nothing can have been published: cancelled.
          if ((p.wait.n === 0 && !fromLastWrite) || (to !== undefined && !publishedBefore)) expect({ publishedBefore, end: last?.kind === 'error' && isCancelledError(last.error) }).toEqual({ publishedBefore, end: true });
          expect(result !== undefined || (last?.kind === 'error' && isCancelledError(last.error))).toBe(true);
        }
        if (result && to === undefined) expect(Buffer.from(result.data!).equals(Buffer.from(p.body))).toBe(true);
        if (result) expect(result.size).toBe(p.body.byteLength);
        if (to !== undefined) {
          expect(leftovers(to)).toEqual([]);
          const now = contents(to);
          const whole = Buffer.from(p.body).toString('hex');
          // done: the whole body is at `to`; cancelled: `to` as it was; unsubscribed: one or the other, never a part.
          if (result) expect(now).toBe(whole);
          else if (last?.kind === 'error') expect(now).toBe(before);
          else expect([before, whole]).toContain(now);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('G5 G6 a 304 to a conditional download to a file: a cancel while the core lets its side file go or checks the copy kept is CancelledError (signal) or silence (unsubscribe), and `to` is never touched (property, 300 runs)', async () => {
    const arb = fc.record({
      present: fc.boolean(),
      integrity: fc.constantFrom<'none' | 'match' | 'mismatch'>('none', 'match', 'mismatch'),
      how: fc.constantFrom<'none' | 'unsubscribe' | 'signal'>('none', 'unsubscribe', 'signal', 'signal'),
      // Counted from the 304 head, from the moment the core has let the side file go, or from the
      // end of its reading of the copy kept (with `integrity`).
      from: fc.constantFrom<'head' | 'side-file' | 'kept'>('head', 'side-file', 'kept'),
      wait: waitArb,
      delivery: fc.constantFrom<'none' | 'asap' | 'queue' | 'virtual'>('none', 'none', 'none', 'asap', 'queue', 'virtual'),
    });
    await fc.assert(
      fc.asyncProperty(arb, async (p) => {
        const timer = new VirtualTimer();
        const delivery = makeDelivery(p.delivery, timer);
        const fake = new FakeTransport();
        const controller = new AbortController();
        const to = join(dir, `not-modified-${++files}.bin`);
        if (p.present) writeFileSync(to, OLD);
        const before = contents(to);
        const integrity = p.integrity === 'none' ? {} : { integrity: sha256(p.integrity === 'match' ? OLD : new Uint8Array([1])) };
        let cancelled: { endedBefore: boolean; lengthAt: number } | undefined;
        const cancel = () => {
          if (cancelled) return;
          cancelled = { endedBefore: recorder.ended(), lengthAt: recorder.trace.length };
          if (p.how === 'unsubscribe') recorder.unsubscribe();
          if (p.how === 'signal') controller.abort();
        };
        const later = () => void wait(p.wait).then(cancel);
        const from = p.from === 'kept' && p.integrity === 'none' ? 'side-file' : p.from;
        const watched = watchedPlatform({ onAborted: () => from === 'side-file' && later(), onKeptRead: () => from === 'kept' && later() });
        const options: DownloadOptions = { transport: fake, timer, scheduler: delivery, signal: controller.signal, headers: { 'If-None-Match': '"v1"' }, timeout: { idle: IDLE_MS }, to, ...integrity };
        const recorder = record(createTransfer(watched.platform, 'download', URL, undefined, options), delivery);
        await waitFor(timer, () => fake.requests.length === 1 || recorder.ended(), 'the request');
        const req = fake.requests[0]!;
        req.respond({ status: 304, headers: { etag: '"v1"' } }); // the last step: a 304 has no body
        if (from === 'head') {
          await wait(p.wait);
          cancel();
        } else await waitFor(timer, () => cancelled !== undefined, `the ${from} hook`);
        const { endedBefore, lengthAt } = cancelled!;
        if (p.how !== 'unsubscribe') await waitFor(timer, () => recorder.ended(), 'the end');
        await settleRun(timer, recorder, to);

        expect(recorder.problems).toEqual([]);
        assertTransferGrammar(recorder.trace, { ended: p.how !== 'unsubscribe' || endedBefore });
        if (p.how === 'unsubscribe') expect(recorder.trace).toHaveLength(lengthAt);
        expect(req.released).toBe(true);
        expect(timer.pending).toBe(0);
        // Nothing is written, replaced or removed at `to`, and nothing is left beside it.
        expect(contents(to)).toBe(before);
        expect(leftovers(to)).toEqual([]);
        const last = recorder.trace[recorder.trace.length - 1];
        const done = recorder.trace[recorder.trace.length - 2];
        const result = last?.kind === 'complete' && done?.kind === 'next' && done.value.type === 'done' ? (done.value.result as { status: number; size: number; path?: string }) : undefined;
        const kept = p.integrity === 'none' || (p.integrity === 'match' && p.present);
        // Delivered at once (no scheduler), a signal aborted before the end is the end: a 304 publishes nothing.
        if (p.how === 'signal' && !endedBefore && p.delivery === 'none') expect(last?.kind === 'error' && isCancelledError(last.error)).toBe(true);
        else if (last?.kind === 'error' && !(p.how === 'signal' && isCancelledError(last.error))) expect(!kept && isIntegrityError(last.error)).toBe(true);
        if (result) {
          expect(kept).toBe(true);
          expect(result).toMatchObject({ status: 304, size: 0, path: to });
        }
      }),
      { numRuns: 300 },
    );
  });
});
