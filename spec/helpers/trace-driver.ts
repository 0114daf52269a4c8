import { asapScheduler, asyncScheduler, queueScheduler, type Observable, type Subscription } from 'rxjs';
import { download, upload, type TransferEvent, type TransferProgress } from 'rxtransfer';
import { FakeTransport, assertTransferGrammar, type FakeRequest, type Notification } from 'rxtransfer/testing';
import { IDLE_MS, type DeliveryKind, type Scenario } from './arbitraries.js';
import { BASE_URL, planFor, predict, stepsOf, type Step } from './trace-oracle.js';
import { RecordingScheduler, VirtualTimer } from './virtual-timer.js';

/** Lets every pending microtask run (one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits `ms` of wall time (for asyncScheduler deliveries). */
export function sleepReal(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The delivery scheduler for a kind, wrapped to record that deliveries go through it (G7). */
export function makeDelivery(kind: DeliveryKind, timer: VirtualTimer): RecordingScheduler | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'asap':
      return new RecordingScheduler(asapScheduler);
    case 'async':
      return new RecordingScheduler(asyncScheduler);
    case 'queue':
      return new RecordingScheduler(queueScheduler, true);
    case 'virtual':
      return new RecordingScheduler(timer);
  }
}

/** A subscription that records its trace and checks G7 on every notification. */
export interface Recorder<R> {
  readonly trace: Notification<R>[];
  /** Problems seen while delivering (G7). */
  readonly problems: string[];
  /** `clock.now()` at each notification, when a clock was given. */
  readonly times: number[];
  /** `mark()` at each notification, when `mark` was given. */
  readonly marks: number[];
  ended(): boolean;
  /** Trace length when unsubscribed. */
  unsubscribedAt: number | undefined;
  unsubscribe(): void;
}

/** Subscribes, recording every notification; a notification during subscribe() or outside the delivery scheduler is a G7 problem. */
export function record<R>(transfer: Observable<TransferEvent<R>>, delivery: RecordingScheduler | undefined, clock?: { now(): number }, mark?: () => number): Recorder<R> {
  const trace: Notification<R>[] = [];
  const times: number[] = [];
  const marks: number[] = [];
  const problems: string[] = [];
  let subscribing = true;
  let done = false;
  const check = (what: string) => {
    if (clock) times.push(clock.now());
    if (mark) marks.push(mark());
    if (subscribing) problems.push(`G7 ${what} delivered synchronously inside subscribe()`);
    if (delivery && delivery.active === 0) problems.push(`G7 ${what} delivered outside the scheduler`);
  };
  const subscription: Subscription = transfer.subscribe({
    next: (value) => {
      check(`next(${value.type})`);
      trace.push({ kind: 'next', value });
    },
    error: (error: unknown) => {
      check('error');
      done = true;
      trace.push({ kind: 'error', error });
    },
    complete: () => {
      check('complete');
      done = true;
      trace.push({ kind: 'complete' });
    },
  });
  subscribing = false;
  const recorder: Recorder<R> = {
    trace,
    problems,
    times,
    marks,
    ended: () => done,
    unsubscribedAt: undefined,
    unsubscribe: () => {
      recorder.unsubscribedAt = trace.length;
      subscription.unsubscribe();
    },
  };
  return recorder;
}

/** Progress events of a trace. */
export function progressOf<R>(trace: readonly Notification<R>[]): TransferProgress[] {
  return trace.flatMap((n) => (n.kind === 'next' && n.value.type === 'progress' ? [n.value] : []));
}

/** Applies one script step to a request at once; `stall` does nothing (the caller decides what time does). */
export function applyNow(step: Step, req: FakeRequest): void {
  switch (step.do) {
    case 'upload':
      req.uploadProgress(step.loaded);
      break;
    case 'connect':
      req.connect();
      break;
    case 'fail':
      req.fail();
      break;
    case 'respond':
      req.respond(step.head);
      break;
    case 'progress':
      req.downloadProgress(step.loaded);
      break;
    case 'chunk':
      req.chunk(step.bytes);
      break;
    case 'end':
      req.end();
      break;
    case 'stall':
      break;
  }
}

/** Applies one script step to a request; on `stall`, runs virtual time until the core gives up on it. */
export async function applyStep(step: Step, req: FakeRequest, timer: VirtualTimer): Promise<void> {
  applyNow(step, req);
  if (step.do === 'stall') {
    for (let i = 0; i < 50 && !req.aborted && timer.runNext(); i++) await settle();
    if (!req.aborted) throw new Error('a stalled request was never aborted (no timeout fired): G2/G9');
  }
  await settle();
}

/**
 * Moves virtual time forward by `ms`, letting microtasks run after each timer action, as a real
 * event loop does between two timers.
 */
export async function advance(timer: VirtualTimer, ms: number): Promise<void> {
  const target = timer.now() + Math.max(0, ms);
  for (let i = 0; i < 1000; i++) {
    const due = timer.nextDue();
    if (due === undefined || due > target) break;
    timer.runNext();
    await settle();
  }
  timer.advanceBy(target - timer.now());
  await settle();
}

/** Runs timers and waits until `until()` holds; throws when nothing can make progress any more. */
export async function drive(timer: VirtualTimer, until: () => boolean, what: string, limit = 400): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await settle();
    if (until()) return;
    if (!timer.runNext()) await sleepReal(1);
  }
  throw new Error(`hung: ${what} never happened (G2: a transfer that can hang needs a timeout)`);
}

/** The upload body of a scenario: bytes, or a one-shot stream of them. */
/** Drives virtual time until the transfer ends; checks its trace against the grammar and returns it. */
export async function ended<R>(recorder: Recorder<R>, timer: VirtualTimer): Promise<Notification<R>[]> {
  await drive(timer, () => recorder.ended(), 'the end');
  assertTransferGrammar(recorder.trace);
  return recorder.trace;
}

/** The error a trace ended with, or undefined. */
export function errorOf(trace: readonly Notification<unknown>[]): unknown {
  const last = trace[trace.length - 1];
  return last?.kind === 'error' ? last.error : undefined;
}

export function uploadBodyOf(sc: Scenario): Uint8Array | AsyncIterable<Uint8Array> {
  const bytes = new Uint8Array(sc.uploadSize).fill(7);
  if (sc.uploadBody === 'bytes') return bytes;
  return (async function* () {
    yield bytes;
  })();
}

export interface ScenarioRun {
  readonly recorder: Recorder<unknown>;
  readonly fake: FakeTransport;
  readonly timer: VirtualTimer;
  readonly delivery: RecordingScheduler | undefined;
  /** Requests seen before subscribe (G1: must be 0). */
  readonly requestsBeforeSubscribe: number;
  /** Steps actually taken. */
  readonly steps: number;
  readonly cancelled: boolean;
  /** Virtual timers still scheduled right after the end (or the unsubscribe). */
  readonly pendingAtEnd: number;
}

/** Drives a generated scenario on a FakeTransport with a virtual clock until the end (or the cancel). */
export async function runScenario(sc: Scenario): Promise<ScenarioRun> {
  const timer = new VirtualTimer();
  const delivery = makeDelivery(sc.delivery, timer);
  const fake = new FakeTransport();
  const controller = new AbortController();
  const headers: Record<string, string> = sc.credentials ? { Authorization: 'Bearer secret', Cookie: 'session=1', 'X-Trace': 't' } : { 'X-Trace': 't' };
  const common = {
    transport: fake,
    timer,
    scheduler: delivery,
    headers,
    signal: controller.signal,
    timeout: { idle: IDLE_MS, ...(sc.totalTimeout ? { total: 1e9 } : {}) },
    retry: { count: sc.retry, unsafeMethods: sc.unsafeMethods },
    maxRedirects: sc.maxRedirects,
    progressInterval: sc.progressInterval,
    responseType: 'uint8array' as const,
    method: sc.method,
  };
  const transfer: Observable<TransferEvent<unknown>> =
    sc.kind === 'download' ? download(BASE_URL, common) : upload(BASE_URL, uploadBodyOf(sc), common);
  await settle();
  const requestsBeforeSubscribe = fake.requests.length;
  // How many requests had been made when each notification arrived: which attempt it belongs to.
  const recorder = record(transfer, delivery, undefined, () => fake.requests.length);
  let step = 0;
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    if (sc.cancel!.how === 'unsubscribe') recorder.unsubscribe();
    else controller.abort();
  };
  outer: for (let i = 0; i < 64; i++) {
    // A cancel while waiting (backoff, or before the first request) is only meaningful while the run goes on.
    if (sc.cancel?.phase === 'wait' && sc.cancel.at === i && i < predict(sc).requests.length) {
      cancel();
      break;
    }
    await drive(timer, () => fake.requests.length > i || recorder.ended(), `request ${i + 1}`);
    const req = fake.requests[i];
    if (!req) break;
    const withBody = req.request.body !== undefined;
    for (const s of stepsOf(sc, planFor(sc, i), withBody)) {
      if (sc.cancel?.phase === 'step' && step === sc.cancel.at) {
        cancel();
        break outer;
      }
      step++;
      await advance(timer, sc.gaps[step % sc.gaps.length]!);
      await applyStep(s, req, timer);
    }
  }
  if (recorder.unsubscribedAt === undefined) await drive(timer, () => recorder.ended(), 'the terminal notification');
  await settle();
  // Right at the end nothing of the run may still be scheduled (watchdog, total timer, throttle, backoff).
  const pendingAtEnd = timer.pending;
  // Anything late would show up now (G3), and every timer of the run must be gone.
  for (let i = 0; i < 3; i++) await advance(timer, IDLE_MS * 100);
  if (sc.delivery === 'async') await sleepReal(2);
  await settle();
  return { recorder, fake, timer, delivery, requestsBeforeSubscribe, steps: step, cancelled, pendingAtEnd };
}
