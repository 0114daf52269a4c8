import fc from 'fast-check';
import { EventEmitter } from 'node:events';
import { Subject, type Subscription } from 'rxjs';
import {
  ProgressChangedEventArgs,
  TransferError,
  fromEap,
  immediateContext,
  isCancelledError,
  isIntegrityError,
  isTransferError,
  macrotaskContext,
  microtaskContext,
  toEap,
  SynchronizationContext,
  type Transfer,
  type TransferEvent,
} from './eap-index.js';
import { collectUnhandled, scriptedTransfer, settleTasks, Sequence, type Script, type SourceEvent } from '../helpers/eap-fakes.js';

interface Trace {
  events: TransferEvent<unknown>[];
  end: { kind: 'complete' } | { kind: 'error'; error: unknown } | undefined;
  syncInSubscribe: number;
}

function record(transfer: Transfer<unknown>): { trace: Trace; subscription: Subscription } {
  const trace: Trace = { events: [], end: undefined, syncInSubscribe: 0 };
  let subscribing = true;
  const subscription = transfer.subscribe({
    next: (e) => {
      if (subscribing) trace.syncInSubscribe += 1;
      trace.events.push(e);
    },
    error: (error: unknown) => void (trace.end = { kind: 'error', error }),
    complete: () => void (trace.end = { kind: 'complete' }),
  });
  subscribing = false;
  return { trace, subscription };
}

async function drain(s: fc.Scheduler): Promise<void> {
  for (let round = 0; round < 200; round++) {
    await s.waitAll();
    await settleTasks(2);
    if (s.count() === 0) return;
  }
  throw new Error('did not settle');
}

describe('fromEap', () => {
  it('E12 fromEap(toEap(f)) behaves as f for the grammar (property)', async () => {
    const scriptArb: fc.Arbitrary<Script> = fc.record({
      chunks: fc.array(fc.nat({ max: 100 }), { maxLength: 5 }),
      totalKnown: fc.boolean(),
      end: fc.constantFrom('done', 'error', 'never'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        scriptArb,
        fc.constantFrom('transfer', 'plain'),
        fc.constantFrom('microtask', 'macrotask', 'default'),
        fc.option(fc.nat({ max: 6 }), { nil: undefined }),
        async (s, script, failure, contextKind, unsubscribeAfter) => {
          const seq = new Sequence();
          const log: SourceEvent[] = [];
          const error = failure === 'transfer' ? new TransferError('http', 'HTTP 500') : new Error('socket hang up');
          const f = (op: number): Transfer<unknown> => scriptedTransfer(s, script, op, log, seq, { ok: op }, error);
          const context: SynchronizationContext | undefined = contextKind === 'microtask' ? microtaskContext() : contextKind === 'macrotask' ? macrotaskContext() : undefined;
          const roundTrip = fromEap(toEap({ f }), 'f', { context });

          const direct = record(f(0));
          await drain(s);
          const transfer = roundTrip(1);
          expect(log.filter((e) => e.op === 1)).toEqual([]); // G1: cold
          const trip = record(transfer);
          if (unsubscribeAfter !== undefined) {
            void s.schedule(Promise.resolve(), 'unsubscribe').then(() => trip.subscription.unsubscribe());
          }
          await drain(s);
          if (script.end === 'never' && unsubscribeAfter === undefined) trip.subscription.unsubscribe();
          await drain(s);

          expect(trip.trace.syncInSubscribe).toBe(0); // G7: nothing inside subscribe
          const sourceLog = log.filter((e) => e.op === 1);
          expect(sourceLog.filter((e) => e.kind === 'subscribed')).toHaveLength(1);
          if (trip.trace.end === undefined) {
            // unsubscribed early (G6): the source was let go, and what came before matched f
            expect(sourceLog.some((e) => e.kind === 'unsubscribed')).toBe(true);
            expect(direct.trace.events.slice(0, trip.trace.events.length)).toEqual(trip.trace.events);
            return;
          }
          // G2–G5, G10: the same events and the same single end
          expect(trip.trace.events).toEqual(direct.trace.events.map((e) => (e.type === 'done' ? { type: 'done', result: { ok: 1 } } : e)));
          expect(trip.trace.end.kind).toBe(direct.trace.end?.kind);
          if (trip.trace.end.kind === 'error') {
            const got = trip.trace.end.error;
            expect(isTransferError(got)).toBe(true); // G8: errors are TransferErrors
            if (failure === 'transfer') expect(got).toBe(error);
            else expect((got as Error & { cause?: unknown }).cause).toBe(error);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('E12 each subscription uses its own userState and unsubscribe calls cancelAsync for it', () => {
    const states: unknown[] = [];
    const cancelled: unknown[] = [];
    const component = Object.assign(new EventEmitter(), {
      fetchAsync: (_url: string, state: unknown) => void states.push(state),
      cancelAsync: (state: unknown) => void cancelled.push(state),
    });
    const fetch$ = fromEap<string, [string]>(component, 'fetch');
    const a = fetch$('x').subscribe();
    const b = fetch$('x').subscribe();
    expect(states).toHaveLength(2);
    expect(states[0]).not.toBe(states[1]);
    a.unsubscribe();
    b.unsubscribe();
    expect(cancelled).toEqual(states);
    expect(component.listenerCount('fetchCompleted')).toBe(0);
  });

  it('E12 a percent-only foreign component maps to a 0..100 scale, flushed to 100 before done', async () => {
    const component = Object.assign(new EventEmitter(), {
      workAsync(n: number, state: unknown) {
        setTimeout(() => {
          component.emit('progressChanged', new ProgressChangedEventArgs(30, state));
          component.emit('progressChanged', new ProgressChangedEventArgs(20, state)); // goes backwards: ignored
          component.emit('progressChanged', new ProgressChangedEventArgs(70, {})); // someone else's
          component.emit('workCompleted', { error: null, cancelled: false, userState: state, result: n * 2 });
        }, 1);
      },
      cancelAsync: () => undefined,
    });
    const events: TransferEvent<number>[] = [];
    await new Promise<void>((resolve, reject) =>
      fromEap<number, [number]>(component, 'work', { context: immediateContext() })(21).subscribe({ next: (e) => events.push(e), error: reject, complete: resolve }),
    );
    expect(events).toEqual([
      { type: 'progress', direction: 'download', loaded: 30, delta: 30, total: 100, percent: 30, attempt: 1 },
      { type: 'progress', direction: 'download', loaded: 100, delta: 70, total: 100, percent: 100, attempt: 1 },
      { type: 'done', result: 42 },
    ]);
  });

  it('E12 byte counts read from foreign args; short ends are IntegrityErrors; cancel and refusals are errors', async () => {
    const emitter = new EventEmitter();
    const component = Object.assign(emitter, {
      getAsync(mode: string, state: unknown) {
        if (mode === 'refuse') throw new Error('busy');
        queueMicrotask(() => {
          emitter.emit('getProgressChanged', { userState: state, progressPercentage: 50, bytesReceived: 5, totalBytesToReceive: 10 });
          if (mode === 'short') emitter.emit('getCompleted', { error: null, cancelled: false, userState: state, result: 'x' });
          if (mode === 'cancel') emitter.emit('getCompleted', { error: null, cancelled: true, userState: state });
          if (mode === 'error') emitter.emit('getCompleted', { error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }), cancelled: false, userState: state });
        });
      },
      cancelAsync: () => undefined,
    });
    const get$ = fromEap<string, [string]>(component, 'get', { progress: (e) => ({ loaded: e.bytesReceived, total: e.totalBytesToReceive }) });
    const outcome = (mode: string) =>
      new Promise<unknown>((resolve) => get$(mode).subscribe({ error: resolve, complete: () => resolve('complete') }));
    expect(isIntegrityError(await outcome('short'))).toBe(true);
    expect(isCancelledError(await outcome('cancel'))).toBe(true);
    const reset = (await outcome('error')) as TransferError & { errno?: string };
    expect(reset.code).toBe('network');
    expect(reset.errno).toBe('ECONNRESET');
    const refused = (await outcome('refuse')) as TransferError;
    expect(refused.code).toBe('invalid');
    const none = fromEap(Object.assign(new EventEmitter(), { cancelAsync: () => undefined }), 'nothing')();
    expect(((await new Promise((r) => none.subscribe({ error: r }))) as TransferError).code).toBe('invalid');
  });

  it('E12 a component that reuses one args object for its progress loses no reading (it ended in a false IntegrityError)', async () => {
    const component = Object.assign(new EventEmitter(), {
      getAsync(state: unknown) {
        const args = { userState: state, progressPercentage: 0, bytes: 0 };
        setTimeout(() => {
          Object.assign(args, { progressPercentage: 50, bytes: 5 });
          component.emit('getProgressChanged', args);
          Object.assign(args, { progressPercentage: 100, bytes: 10 });
          component.emit('getProgressChanged', args);
          component.emit('getCompleted', { error: null, cancelled: false, userState: state, result: 'ok' });
        }, 1);
      },
      cancelAsync: () => undefined,
    });
    const get$ = fromEap<string, []>(component, 'get', { progress: (e) => ({ loaded: e.bytes, total: 10 }) });
    const events: TransferEvent<string>[] = [];
    await new Promise<void>((resolve, reject) => get$().subscribe({ next: (e) => events.push(e), error: reject, complete: resolve }));
    expect(events.map((e) => (e.type === 'progress' ? e.loaded : e.result))).toEqual([5, 10, 'ok']);
  });

  it('E12 G5 fromEap(toEap(f)) over a context that refuses progress posts (closed) still ends in done at 100%, not a false IntegrityError', async () => {
    await collectUnhandled(async (unhandled) => {
      // Accepts posts until closed, then refuses them; a post it took before closing still runs.
      class Closable extends SynchronizationContext {
        closed = false;
        refuse?: (n: number) => boolean;
        private posts = 0;
        protected override dispatch(task: () => void): void {
          const n = ++this.posts;
          if (this.closed || this.refuse?.(n)) throw new Error('context closed');
          queueMicrotask(task);
        }
      }
      const step = (direction: 'upload' | 'download', loaded: number, total: number, attempt = 1): TransferEvent<string> => ({
        type: 'progress', direction, loaded, delta: loaded, total, percent: Math.floor((loaded * 100) / total), attempt,
      });
      const run = async (ctx: Closable, script: (src: Subject<TransferEvent<string>>) => Promise<void>): Promise<Trace> => {
        const src = new Subject<TransferEvent<string>>();
        const { trace } = record(fromEap(toEap({ get: (): Transfer<string> => src }), 'get', { context: ctx })());
        await settleTasks(1);
        await script(src);
        await settleTasks(2);
        return trace;
      };
      const progressOf = (trace: Trace) => trace.events.map((e) => (e.type === 'progress' ? `${e.direction} ${e.loaded}/${e.total} ${e.percent}% #${e.attempt}` : e.type));

      // The context closes after the first reading: the last one is refused, Completed is raised in place.
      const closing = new Closable();
      const refused = await run(closing, async (src) => {
        src.next(step('download', 5, 10, 2));
        await settleTasks(1);
        closing.closed = true;
        src.next(step('download', 10, 10, 2));
        src.next({ type: 'done', result: 'ok' });
      });
      expect(refused.end).toEqual({ kind: 'complete' });
      expect(progressOf(refused)).toEqual(['download 5/10 50% #2', 'download 10/10 100% #2', 'done']);

      // It closes with the last reading still in it: Completed, raised in place, overtakes it (E9).
      const late = new Closable();
      const overtaken = await run(late, async (src) => {
        src.next(step('download', 5, 10));
        await settleTasks(1);
        src.next(step('download', 10, 10));
        late.closed = true;
        src.next({ type: 'done', result: 'ok' });
      });
      expect(overtaken.end).toEqual({ kind: 'complete' });
      expect(progressOf(overtaken)).toEqual(['download 5/10 50% #1', 'download 10/10 100% #1', 'done']);

      // Only the upload's last reading is refused: no upload progress is made up after download progress (G4).
      const picky = new Closable();
      picky.refuse = (n) => n === 2;
      const upload = await run(picky, async (src) => {
        src.next(step('upload', 5, 10));
        src.next(step('upload', 10, 10));
        src.next(step('download', 3, 3));
        src.next({ type: 'done', result: 'ok' });
      });
      expect(upload.end).toEqual({ kind: 'complete' });
      expect(progressOf(upload)).toEqual(['upload 5/10 50% #1', 'download 3/3 100% #1', 'done']);
      expect(unhandled.length).toBeGreaterThan(0); // each refusal is reported (C6)
    });
  });

  it('E12 G8 a progress reader that throws ends the transfer as invalid and cancels the operation; nothing is thrown into the component', async () => {
    const cancels: unknown[] = [];
    const states: unknown[] = [];
    const component = Object.assign(new EventEmitter(), {
      getAsync: (s: unknown) => void states.push(s),
      cancelAsync: (s: unknown) => void cancels.push(s),
    });
    const get$ = fromEap<string, []>(component, 'get', { progress: () => { throw new Error('bad reader'); } });
    const { trace } = record(get$());
    // The component raises its progress (synchronously, as its own code would): nothing may come back at it.
    expect(() => component.emit('getProgressChanged', { userState: states[0], progressPercentage: 5 })).not.toThrow();
    expect(trace.end).toMatchObject({ kind: 'error', error: { code: 'invalid' } });
    expect(((trace.end as { error: Error }).error).message).toContain('bad reader');
    expect(cancels).toEqual(states);
    expect(component.listenerCount('getCompleted')).toBe(0);
  });

  it('E12 a progress reader that throws on progress raised inside getAsync cancels once getAsync has returned, so the component knows the operation it is told to stop', async () => {
    const running = new Set<unknown>();
    const told: string[] = [];
    const component = new (class extends EventEmitter {
      getAsync(s: unknown) {
        this.emit('getProgressChanged', { userState: s, progressPercentage: 0 }); // before it takes the userState in
        running.add(s);
      }
      cancelAsync(s: unknown) {
        told.push(running.delete(s) ? 'cancelled' : 'unknown userState');
      }
    })();
    const get$ = fromEap<string, []>(component, 'get', { progress: () => { throw new Error('bad reader'); } });
    const { trace } = record(get$());
    expect(told).toEqual(['cancelled']);
    expect(running.size).toBe(0);
    await settleTasks(1);
    expect(trace.end).toMatchObject({ kind: 'error', error: { code: 'invalid' } });
  });

  it('E12 a cancel decided inside getAsync (a progress reader that throws) is made even when getAsync then throws', async () => {
    const cancelled: unknown[] = [];
    const component = new (class extends EventEmitter {
      getAsync(s: unknown) {
        this.emit('getProgressChanged', { userState: s, progressPercentage: 0 }); // started by now
        throw new Error('getAsync failed after it began');
      }
      cancelAsync(s: unknown) {
        cancelled.push(s);
      }
    })();
    const get$ = fromEap<string, []>(component, 'get', { progress: () => { throw new Error('bad reader'); } });
    const { trace } = record(get$());
    expect(cancelled).toHaveLength(1);
    await settleTasks(1);
    expect(trace.end).toMatchObject({ kind: 'error', error: { code: 'invalid' } });
    expect(((trace.end as { error: Error }).error).message).toContain('bad reader');
  });

  it('G7 E12 a component that raises its events inside workAsync: nothing is told inside subscribe(), then all of it in order, before what it raises later', async () => {
    const component = new (class extends EventEmitter {
      workAsync(s: unknown) {
        this.emit('progressChanged', new ProgressChangedEventArgs(30, s));
        this.emit('workCompleted', { error: null, cancelled: false, userState: s, result: 'sync' });
      }
      cancelAsync() {}
    })();
    const work$ = fromEap<string, []>(component, 'work');
    const { trace } = record(work$());
    expect(trace.syncInSubscribe).toBe(0);
    expect(trace.end).toBeUndefined();
    await settleTasks(1);
    expect(trace.events.map((e) => (e.type === 'progress' ? e.loaded : e.result))).toEqual([30, 100, 'sync']);
    expect(trace.end).toEqual({ kind: 'complete' });

    // Progress inside workAsync, the rest raised after subscribe() returned but before the held progress was told: order kept.
    const later = new (class extends EventEmitter {
      state: unknown;
      workAsync(s: unknown) {
        this.state = s;
        this.emit('progressChanged', new ProgressChangedEventArgs(30, s));
      }
      cancelAsync() {}
    })();
    const second = record(fromEap<string, []>(later, 'work')());
    later.emit('progressChanged', new ProgressChangedEventArgs(60, later.state));
    later.emit('workCompleted', { error: null, cancelled: false, userState: later.state, result: 'later' });
    expect(second.trace.events).toEqual([]);
    await settleTasks(1);
    expect(second.trace.events.map((e) => (e.type === 'progress' ? e.loaded : e.result))).toEqual([30, 60, 100, 'later']);
    expect(second.trace.end).toEqual({ kind: 'complete' });

    // Called in options.context: what it raised there is told with that context current (C2), as before it was held.
    const context = new SynchronizationContext();
    const currents: unknown[] = [];
    fromEap<string, []>(component, 'work', { context })().subscribe(() => currents.push(SynchronizationContext.current));
    await settleTasks(1);
    expect(currents).toHaveLength(3);
    expect(currents.every((c) => c === context)).toBe(true);
  });

  it('G7 a subscriber may unsubscribe from its own first notification of a component that raises inside workAsync; the operation is cancelled', async () => {
    const cancelled: unknown[] = [];
    const component = new (class extends EventEmitter {
      workAsync(s: unknown) {
        this.emit('progressChanged', new ProgressChangedEventArgs(10, s));
      }
      cancelAsync(s: unknown) {
        cancelled.push(s);
      }
    })();
    const seen: unknown[] = [];
    const subscription: Subscription = fromEap<string, []>(component, 'work')().subscribe((e) => {
      seen.push(e.type);
      subscription.unsubscribe(); // `subscription` is set: subscribe() had returned
    });
    await settleTasks(1);
    expect(seen).toEqual(['progress']);
    expect(cancelled).toHaveLength(1);
    expect(component.listenerCount('workCompleted')).toBe(0);
  });

  it('E12 a component without cancelAsync (the pattern asks for one only where possible): unsubscribing lets go without an error', () =>
    collectUnhandled(async (unhandled) => {
      const component = Object.assign(new EventEmitter(), { getAsync: (_state: unknown) => undefined });
      fromEap<string, []>(component, 'get')().subscribe().unsubscribe();
      await settleTasks(2);
      expect(unhandled).toEqual([]);
      expect(component.listenerCount('getCompleted')).toBe(0);
    }));

  it('E12 the result option reads out-style Completed args (properties of their own, no result); it is not read after an error', async () => {
    let fail = false;
    const component = Object.assign(new EventEmitter(), {
      getAsync(state: unknown) {
        queueMicrotask(() => {
          const args = fail
            ? { error: new Error('reset'), cancelled: false, userState: state }
            : { error: null, cancelled: false, userState: state, data: 'body', status: 200 };
          component.emit('getCompleted', args);
        });
      },
      cancelAsync: () => undefined,
    });
    const reads: unknown[] = [];
    const get$ = fromEap<{ data: string; status: number }, []>(component, 'get', {
      result: (e: { data: string; status: number }) => (reads.push(e), { data: e.data, status: e.status }),
    });
    const done = await new Promise((resolve, reject) => get$().subscribe({ next: resolve, error: reject }));
    expect(done).toEqual({ type: 'done', result: { data: 'body', status: 200 } });
    fail = true;
    const error = await new Promise((resolve) => get$().subscribe({ error: resolve }));
    expect((error as Error).message).toBe('reset');
    expect(reads).toHaveLength(1);
    fail = false;
    const broken = fromEap<string, []>(component, 'get', { result: () => { throw new Error('no such property'); } });
    const refused = await new Promise((resolve) => broken().subscribe({ error: resolve }));
    expect(refused).toMatchObject({ code: 'invalid' });
    expect((refused as Error).message).toContain('the result option threw: no such property');
  });
});

describe('fromEap over a single-invocation component without userState (userState: false)', () => {
  /** The pattern's simplest form: workAsync(n), no userState anywhere, cancelAsync() without arguments. */
  class Worker extends EventEmitter {
    constructor(private readonly none: undefined | null) {
      super();
    }
    busy = false;
    cancels: unknown[][] = [];
    private timer: NodeJS.Timeout | undefined;
    workAsync(n: number): void {
      if (this.busy) throw new Error('busy: one operation at a time');
      this.busy = true;
      this.timer = setTimeout(() => {
        this.emit('workProgressChanged', new ProgressChangedEventArgs(50, this.none));
        this.timer = setTimeout(() => {
          this.busy = false;
          this.emit('workCompleted', { error: null, cancelled: false, userState: this.none, result: n * 2 });
        }, 5);
      }, 5);
    }
    cancelAsync(...args: unknown[]): void {
      this.cancels.push(args);
      clearTimeout(this.timer);
      if (!this.busy) return;
      this.busy = false;
      this.emit('workCompleted', { error: null, cancelled: true, userState: this.none });
    }
  }

  it('calls workAsync(...args) alone, takes its events as its own, and ends (done, with progress to 100)', async () => {
    const worker = new Worker(undefined);
    const work = fromEap<number, [number]>(worker, 'work', { userState: false });
    const { trace } = record(work(21));
    await settleTasks(20);
    for (let i = 0; i < 50 && trace.end === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    expect(trace.end).toEqual({ kind: 'complete' });
    expect(trace.events.map((e) => (e.type === 'progress' ? e.percent : e.result))).toEqual([50, 100, 42]);
  });

  it('takes events whose userState is null as its own too (how .NET components say none)', async () => {
    const work = fromEap<number, [number]>(new Worker(null), 'work', { userState: false });
    const { trace } = record(work(5));
    for (let i = 0; i < 50 && trace.end === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    expect(trace.end).toEqual({ kind: 'complete' });
    expect(trace.events.at(-1)).toEqual({ type: 'done', result: 10 });
  });

  it('unsubscribing calls cancelAsync() without arguments; a second call while busy is refused as invalid', async () => {
    const worker = new Worker(undefined);
    const work = fromEap<number, [number]>(worker, 'work', { userState: false });
    const first = record(work(1));
    const second = record(work(2));
    expect(second.trace.end).toBeUndefined(); // G7: told after subscribe() returns
    await Promise.resolve();
    expect(second.trace.end).toMatchObject({ kind: 'error' });
    const refused = (second.trace.end as { error: unknown }).error;
    expect(isTransferError(refused) && refused.code === 'invalid' && /busy/.test(refused.message)).toBe(true);
    first.subscription.unsubscribe();
    expect(worker.cancels).toEqual([[]]);
    expect(worker.busy).toBe(false);
    expect(first.trace.end).toBeUndefined();
  });

  it('a refused subscription let go before its refusal arrives cancels nothing: the running operation is another subscription\'s', async () => {
    const worker = new Worker(undefined);
    const work = fromEap<number, [number]>(worker, 'work', { userState: false });
    const first = record(work(1));
    const second = record(work(2));
    second.subscription.unsubscribe();
    await Promise.resolve();
    expect(worker.cancels).toEqual([]);
    expect(worker.busy).toBe(true);
    expect(second.trace.end).toBeUndefined();
    first.subscription.unsubscribe();
    expect(worker.cancels).toEqual([[]]);
  });
});
