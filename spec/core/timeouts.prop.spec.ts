import fc from 'fast-check';
import { download, isHttpStatusError, isTimeoutError, isTransferError, type TimeoutPhase } from 'rxtransfer';
import { FakeTransport, assertTransferGrammar } from 'rxtransfer/testing';
import { advance, drive, record, settle } from '../helpers/trace-driver.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';

/**
 * G9 on a virtual clock: a script of steps at chosen virtual times, then silence. The oracle
 * computes each phase's deadline (connect from the attempt's start until connected, idle from
 * the last byte either way, total from subscribe) and the first one to pass must be the
 * TimeoutError's phase. G11: retries never start past the total timeout.
 */
type Action = 'connect' | 'respond' | 'chunk' | 'upload';
interface TimedStep {
  readonly dt: number;
  readonly action: Action;
}

const DEFAULTS = { connect: 30_000, idle: 60_000, total: Number.POSITIVE_INFINITY };
const msArb = fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined });

/** The phase(s) whose deadline passes first (ties: any of them). */
function expectedPhases(limits: { connect: number; idle: number; total: number }, steps: readonly TimedStep[]): { phases: TimeoutPhase[]; at: number } {
  let t = 0;
  let last = 0;
  let connected = false;
  let responded = false;
  const first = (): { phases: TimeoutPhase[]; at: number } => {
    const deadlines: Array<[TimeoutPhase, number]> = [['total', limits.total], ['idle', last + limits.idle]];
    if (!connected) deadlines.push(['connect', limits.connect]);
    const at = Math.min(...deadlines.map(([, d]) => d));
    return { phases: deadlines.filter(([, d]) => d === at).map(([p]) => p), at };
  };
  for (const step of steps) {
    t += step.dt;
    const next = first();
    if (next.at <= t) return next;
    if (step.action === 'respond' && responded) continue; // a second answer is ignored
    if (step.action === 'connect' || step.action === 'respond') connected = true;
    if (step.action === 'upload') connected = true; // bytes handed to the socket
    if (step.action !== 'chunk' || responded) last = t;
    if (step.action === 'respond') responded = true;
  }
  return first();
}

const stepsArb = fc.array(
  fc.record({ dt: fc.integer({ min: 0, max: 1500 }), action: fc.constantFrom<Action>('connect', 'respond', 'chunk', 'chunk', 'upload') }),
  { maxLength: 8 },
);

describe('timeouts (properties)', () => {
  it('G9 a stalled script ends in TimeoutError with the phase whose deadline passed first: connect, idle or total (property, 500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(msArb, msArb, msArb, stepsArb, fc.boolean(), async (connect, idle, total, steps, isUpload) => {
        const timer = new VirtualTimer();
        const fake = new FakeTransport();
        const timeout = { ...(connect !== undefined ? { connect } : {}), ...(idle !== undefined ? { idle } : {}), ...(total !== undefined ? { total } : {}) };
        const transfer = download('https://a.test/slow', { transport: fake, timer, timeout, progressInterval: 0, ...(isUpload ? { method: 'PUT' } : {}) });
        const recorder = record(transfer, undefined, timer);
        await drive(timer, () => fake.requests.length === 1, 'the request');
        const req = fake.requests[0]!;
        let abortedAt: number | undefined;
        req.request.signal.addEventListener('abort', () => (abortedAt = timer.now()));
        let uploaded = 0;
        for (const step of steps) {
          await advance(timer, step.dt);
          if (step.action === 'connect') req.connect();
          if (step.action === 'respond') req.respond({ headers: { 'content-length': '1000' } });
          if (step.action === 'chunk') req.chunk(new Uint8Array([1]));
          if (step.action === 'upload') req.uploadProgress(++uploaded);
          await settle();
        }
        await drive(timer, () => recorder.ended(), 'a timeout');
        await settle();
        expect(timer.pending).toBe(0); // the other phases' timers went with the attempt
        assertTransferGrammar(recorder.trace);
        const end = recorder.trace[recorder.trace.length - 1]!;
        const want = expectedPhases({ connect: connect ?? DEFAULTS.connect, idle: idle ?? DEFAULTS.idle, total: total ?? DEFAULTS.total }, steps);
        expect(end.kind).toBe('error');
        const error = end.kind === 'error' ? end.error : undefined;
        if (!isTimeoutError(error)) throw new Error(`expected a TimeoutError, got ${String(error)}`);
        expect(want.phases).toContain(error.phase);
        expect(error.ms).toBe(error.phase === 'connect' ? connect ?? DEFAULTS.connect : error.phase === 'idle' ? idle ?? DEFAULTS.idle : total);
        expect(abortedAt).toBe(want.at);
        expect(req.aborted).toBe(true);
        timer.advanceBy(1e9);
        expect(timer.pending).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('G9 the total timeout fires as phase total, and no retry starts past it (property, 500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5000 }),
        fc.record({ baseDelay: fc.integer({ min: 0, max: 2000 }), jitter: fc.double({ min: 0, max: 1, noNaN: true }), count: fc.integer({ min: 0, max: 8 }) }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 1500 }), how: fc.constantFrom('503', '503-retry-after', 'reset', 'stall') }), { minLength: 1, maxLength: 10 }),
        async (total, policy, answers) => {
          const timer = new VirtualTimer();
          const starts: number[] = [];
          const aborts: number[] = [];
          const fake = new FakeTransport({
            onRequest: (req) => {
              starts.push(timer.now());
              req.request.signal.addEventListener('abort', () => aborts.push(timer.now()));
            },
          });
          const transfer = download('https://a.test/flaky', { transport: fake, timer, timeout: { total, idle: 700 }, retry: policy });
          const recorder = record(transfer, undefined, timer);
          /** When each `Retry-After: 1` answer was given, by request index. */
          const retryAfterAt = new Map<number, number>();
          for (let i = 0; i < 40 && !recorder.ended(); i++) {
            await drive(timer, () => fake.requests.length > i || recorder.ended(), `request ${i + 1}`);
            const req = fake.requests[i];
            if (!req) break;
            const answer = answers[i % answers.length]!;
            await advance(timer, answer.dt);
            if (answer.how === '503') req.respond({ status: 503 }).end();
            if (answer.how === '503-retry-after' && !req.aborted) {
              retryAfterAt.set(i, timer.now());
              req.respond({ status: 503, headers: { 'retry-after': '1' } }).end();
            }
            if (answer.how === 'reset') req.fail();
            await settle();
          }
          await drive(timer, () => recorder.ended(), 'the end');
          await settle();
          expect(timer.pending).toBe(0); // the total timer went with the run
          assertTransferGrammar(recorder.trace);
          for (const at of starts) expect(at).toBeLessThan(total);
          // G11: the attempt after a `Retry-After: 1` starts no sooner than a second later.
          for (const [i, at] of retryAfterAt) if (starts[i + 1] !== undefined) expect(starts[i + 1]! - at).toBeGreaterThanOrEqual(1000);
          expect(fake.requests.length).toBeLessThanOrEqual(policy.count + 1);
          const end = recorder.trace[recorder.trace.length - 1]!;
          const error = end.kind === 'error' ? end.error : undefined;
          expect(isTransferError(error)).toBe(true);
          if (isTimeoutError(error)) expect(error.phase === 'total' || error.phase === 'idle').toBe(true);
          if (isTimeoutError(error) && error.phase === 'total' && aborts.length > 0) expect(Math.max(...aborts)).toBe(total);
          for (const at of aborts) expect(at).toBeLessThanOrEqual(total);
          if (!isTimeoutError(error)) expect(isHttpStatusError(error) || (isTransferError(error) && error.code === 'network')).toBe(true);
          timer.advanceBy(1e9);
          expect(timer.pending).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
