import fc from 'fast-check';
import type { Observable } from 'rxjs';
import { download, upload, type TransferEvent } from 'rxtransfer';
import { FakeTransport, assertTransferGrammar, grammarViolations, type Notification } from 'rxtransfer/testing';
import { ProgressReporter } from '../../lib/internal/core/progress.js';
import { chunksOf, cutsArb } from '../helpers/arbitraries.js';
import { advance, drive, progressOf, record, settle } from '../helpers/trace-driver.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';

/**
 * G10 on a virtual clock: throttling keeps the first event and a trailing final one, spaces the
 * others by at least `progressInterval`, and with an interval of 0 reports every change.
 */
const plan = fc.record({
  body: fc.uint8Array({ maxLength: 64 }),
  cuts: cutsArb(8),
  withLength: fc.boolean(),
  decoded: fc.boolean(),
  buffered: fc.boolean(),
  interval: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 500 }), fc.constant(1e9)),
  gaps: fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 5 }),
  upload: fc.option(fc.record({ size: fc.nat({ max: 64 }), steps: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }) }), { nil: undefined }),
});

describe('progress throttling (properties)', () => {
  it('G10 the first event is never dropped, the final one is flushed at 100%, the rest spaced by progressInterval (property, 500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        const timer = new VirtualTimer();
        const fake = new FakeTransport();
        const options = { transport: fake, timer, progressInterval: p.interval, responseType: 'uint8array' as const };
        const transfer: Observable<TransferEvent<unknown>> = p.upload ? upload('https://a.test/up', new Uint8Array(p.upload.size), options) : download('https://a.test/down', options);
        const recorder = record(transfer, undefined, timer);
        await drive(timer, () => fake.requests.length === 1, 'the request');
        const req = fake.requests[0]!;
        let g = 0;
        const gap = () => advance(timer, p.gaps[g++ % p.gaps.length]!);
        /** Each byte count the transport reported, and when. */
        const observed: { direction: 'upload' | 'download'; loaded: number; at: number }[] = [];
        const uploads = (p.upload?.steps ?? []).map((f) => Math.floor(f * p.upload!.size));
        for (const loaded of uploads) {
          await gap();
          req.uploadProgress(loaded);
          observed.push({ direction: 'upload', loaded, at: timer.now() });
        }
        await gap();
        req.respond({ headers: p.withLength ? { 'content-length': String(p.body.byteLength) } : {}, decoded: p.decoded });
        const chunks = chunksOf(p.body, p.cuts);
        const sums: number[] = [];
        for (const c of chunks) sums.push((sums[sums.length - 1] ?? 0) + c.byteLength);
        if (p.buffered) {
          for (const s of sums) {
            await gap();
            req.downloadProgress(s);
            observed.push({ direction: 'download', loaded: s, at: timer.now() });
          }
        }
        for (const [i, c] of chunks.entries()) {
          await gap();
          req.chunk(c);
          await settle(); // the body is read on a microtask
          observed.push({ direction: 'download', loaded: sums[i]!, at: timer.now() });
        }
        await gap();
        req.end();
        await drive(timer, () => recorder.ended(), 'done');
        assertTransferGrammar(recorder.trace);
        const events = progressOf(recorder.trace);
        const times = recorder.trace.flatMap((n, i) => (n.kind === 'next' && n.value.type === 'progress' ? [recorder.times[i]!] : []));
        for (const direction of ['upload', 'download'] as const) {
          const mine = events.map((e, i) => ({ e, t: times[i]! })).filter((x) => x.e.direction === direction);
          if (direction === 'upload' && !p.upload) {
            expect(mine).toHaveLength(0);
            continue;
          }
          // The first event is the first observation, at 0 bytes, and it is never dropped.
          expect(mine[0]?.e.loaded).toBe(0);
          const size = direction === 'upload' ? p.upload!.size : p.body.byteLength;
          const final = mine[mine.length - 1]!.e;
          expect([final.loaded, final.total, final.percent]).toEqual([size, size, 100]);
          // Between the first and the final flush, events are at least `interval` apart.
          for (let i = 1; i < mine.length - 1; i++) expect(mine[i]!.t - mine[i - 1]!.t).toBeGreaterThanOrEqual(p.interval);
          const distinct = [0, ...(direction === 'upload' ? [...uploads, size] : sums)].filter((v, i, all) => v > 0 && v !== all[i - 1] && v > Math.max(0, ...all.slice(0, i)));
          const loadedSeen = [...new Set(mine.map((x) => x.e.loaded))];
          if (p.interval === 0) {
            // Every change is reported: each new byte count appears.
            expect(loadedSeen).toEqual([0, ...distinct]);
          }
          if (p.interval === 1e9) {
            // Only the first and the final flush.
            expect(mine.length).toBeLessThanOrEqual(2);
          }
          // A throttled change is not held back until the next byte: it is shown within
          // progressInterval of being observed (the trailing flush), even when nothing follows it.
          for (const o of observed.filter((x) => x.direction === direction)) {
            const shown = mine.find((x) => x.e.loaded >= o.loaded);
            expect({ ...o, shownAt: shown?.t }).toEqual({ ...o, shownAt: expect.any(Number) });
            expect(shown!.t).toBeLessThanOrEqual(o.at + p.interval);
          }
          // The percent is the whole percent of loaded/total: 100 only when complete (G4, G5).
          for (const { e } of mine) if (e.total !== undefined) expect(e.percent).toBe(e.total === 0 ? 100 : Math.floor((e.loaded * 100) / e.total));
        }
        expect(timer.pending).toBe(0);
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * The reporter on its own. Through a transfer its events pass the grammar enforcer, which drops
 * one that goes back and mends a wrong delta: a reporter that made such events would lose
 * updates, unseen above. Fed any byte counts (going back, past a total that changes, not numbers
 * at all), upload after download, at any times, its own events must already be well formed, its
 * percent the whole percent of loaded/total (or a higher one shown before), the final flush must
 * show the most observed, and nothing may come after dispose().
 */
const observationArb = fc.record({
  direction: fc.constantFrom<'upload' | 'download'>('upload', 'upload', 'download'),
  loaded: fc.oneof({ weight: 9, arbitrary: fc.nat({ max: 60 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY) }),
  total: fc.option(fc.oneof(fc.nat({ max: 60 }), fc.constant(Number.NaN)), { freq: 3, nil: undefined }),
  dt: fc.oneof(fc.constant(0), fc.nat({ max: 300 })),
});

describe('the progress reporter on its own (property)', () => {
  it('G4 G10 its events are well formed whatever it observes, the final flush shows the most observed, nothing after dispose (property, 1000 runs)', () => {
    fc.assert(
      fc.property(fc.array(observationArb, { maxLength: 16 }), fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 500 }), fc.constant(1e9)), fc.array(observationArb, { maxLength: 3 }), (observations, interval, late) => {
        const timer = new VirtualTimer();
        const trace: Notification<never>[] = [];
        const reporter = new ProgressReporter((e) => trace.push({ kind: 'next', value: e }), timer, interval);
        const most = { upload: -1, download: -1 };
        let downloading = false;
        for (const o of observations) {
          timer.advanceBy(o.dt);
          reporter.observe(o.direction, o.loaded, o.total);
          // Not a byte count: ignored (it starts no download either).
          if (!(o.loaded >= 0 && o.loaded <= Number.MAX_SAFE_INTEGER)) continue;
          if (o.direction === 'download') downloading = true;
          if (o.direction === 'download' || !downloading) most[o.direction] = Math.max(most[o.direction], o.loaded);
        }
        reporter.flush();
        expect(grammarViolations(trace, { ended: false })).toEqual([]);
        const events = progressOf(trace);
        for (const direction of ['upload', 'download'] as const) {
          const mine = events.filter((e) => e.direction === direction);
          // The final flush shows the most observed in each direction (upload: until download began).
          expect([direction, mine[mine.length - 1]?.loaded ?? -1]).toEqual([direction, most[direction]]);
          let top = 0;
          for (const e of mine) {
            if (e.total === undefined) continue;
            const exact = e.total === 0 ? 100 : Math.floor((e.loaded * 100) / e.total);
            expect({ ...e, percent: e.percent }).toEqual({ ...e, percent: Math.max(exact, top) });
            top = Math.max(top, e.percent!);
          }
        }
        // Disposed: what a transport still reports is dropped, and no timer is left.
        const length = trace.length;
        reporter.dispose();
        for (const o of late) reporter.observe(o.direction, o.loaded + 100, o.total);
        reporter.flush();
        timer.advanceBy(1e10);
        expect(trace).toHaveLength(length);
        expect(timer.pending).toBe(0);
      }),
      { numRuns: 1000 },
    );
  });
});
