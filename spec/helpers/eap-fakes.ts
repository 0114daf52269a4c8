import type fc from 'fast-check';
import { Observable, Subscription, config, type SchedulerAction, type SchedulerLike } from 'rxjs';
import {
  SynchronizationContext,
  immediateContext,
  microtaskContext,
  macrotaskContext,
  type Transfer,
  type TransferProgress,
} from '../../lib/index.js';

/** Counts operationStarted/operationCompleted calls on a context instance (C5). */
export interface Counted {
  started: number;
  completed: number;
}

export function countOperations<C extends SynchronizationContext>(context: C): C & { readonly counts: Counted } {
  const counts: Counted = { started: 0, completed: 0 };
  const started = context.operationStarted.bind(context);
  const completed = context.operationCompleted.bind(context);
  context.operationStarted = () => {
    counts.started += 1;
    started();
  };
  context.operationCompleted = () => {
    counts.completed += 1;
    completed();
  };
  return Object.assign(context, { counts });
}

/** A context whose deliveries happen when fast-check's scheduler decides, FIFO among its own. */
export class FcContext extends SynchronizationContext {
  private readonly queue: (() => void)[] = [];
  constructor(
    private readonly s: fc.Scheduler,
    readonly label: string,
  ) {
    super();
  }
  protected override dispatch(task: () => void): void {
    this.queue.push(task);
    void this.s.schedule(Promise.resolve(), `deliver ${this.label}`).then(() => this.queue.shift()?.());
  }
}

/** An RxJS scheduler whose timers fire when fast-check's scheduler decides (delays are ignored). */
export function fcTimer(s: fc.Scheduler): SchedulerLike {
  const timer: SchedulerLike = {
    now: () => 0,
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, _delay?: number, state?: T): Subscription {
      const action = new Subscription() as Subscription & SchedulerAction<T>;
      action.schedule = () => action;
      void s.schedule(Promise.resolve(), 'timer').then(() => {
        if (!action.closed) work.call(action, state);
      });
      return action;
    },
  };
  return timer;
}

/**
 * A context that is torn down while in use (a closed worker, a destroyed zone): it delivers as
 * {@link FcContext} does, then refuses every post from its `acceptFirst`-th on (its `post`
 * throws). What it accepted before is still delivered, later.
 */
export class TornDownContext extends FcContext {
  refusals = 0;
  private accepted = 0;
  constructor(s: fc.Scheduler, label: string, private readonly acceptFirst: number) {
    super(s, label);
  }
  protected override dispatch(task: () => void): void {
    if (this.accepted >= this.acceptFirst) {
      this.refusals += 1;
      throw new Error(`${this.label}: context torn down`);
    }
    this.accepted += 1;
    super.dispatch(task);
  }
}

export type ContextKind = 'immediate' | 'microtask' | 'macrotask' | 'fc' | { readonly tornDownAfter: number };

export function makeContext(kind: ContextKind, s: fc.Scheduler, label: string): SynchronizationContext & { readonly counts: Counted } {
  switch (kind) {
    case 'immediate':
      return countOperations(immediateContext());
    case 'microtask':
      return countOperations(microtaskContext());
    case 'macrotask':
      return countOperations(macrotaskContext());
    case 'fc':
      return countOperations(new FcContext(s, label));
    default:
      return countOperations(new TornDownContext(s, label, kind.tornDownAfter));
  }
}

/** What a scripted transfer does: progress chunks, then an end ('never' hangs). */
export interface Script {
  readonly chunks: readonly number[];
  readonly totalKnown: boolean;
  readonly end: 'done' | 'error' | 'never';
  /** The last progress and the end in the same tick, as the core sends its trailing 100% and `done`. */
  readonly sync?: boolean;
  /** A factory that is not rxtransfer's: every progress event carries this `percent`, sound or not (150, -5, 42.7, NaN). */
  readonly percent?: number;
}

export interface SourceEvent {
  readonly seq: number;
  readonly op: number;
  readonly kind: 'subscribed' | 'progress' | 'done' | 'error' | 'unsubscribed';
  readonly progress?: TransferProgress;
}

/** A global clock for the order things happened in. */
export class Sequence {
  private n = 0;
  next(): number {
    return ++this.n;
  }
}

/**
 * A transfer that emits `script` one step at a time, each step when fast-check's scheduler
 * decides; it records what it emitted, and its teardown, in `log`.
 */
export function scriptedTransfer(
  s: fc.Scheduler,
  script: Script,
  op: number,
  log: SourceEvent[],
  seq: Sequence,
  result: unknown,
  error: unknown,
): Transfer<unknown> {
  const total = script.chunks.reduce((a, b) => a + b, 0);
  return new Observable((subscriber) => {
    log.push({ seq: seq.next(), op, kind: 'subscribed' });
    let loaded = 0;
    let closed = false;
    const step = (i: number): void => {
      if (i > script.chunks.length || (i === script.chunks.length && script.end === 'never')) return;
      void s.schedule(Promise.resolve(), `op${op} step${i}`).then(() => {
        if (closed) return;
        if (i < script.chunks.length) {
          loaded += script.chunks[i];
          const progress: TransferProgress = script.totalKnown
            ? { type: 'progress', direction: 'download', loaded, delta: script.chunks[i], total, percent: total === 0 ? 100 : Math.floor((loaded * 100) / total), attempt: 1 }
            : { type: 'progress', direction: 'download', loaded, delta: script.chunks[i], attempt: 1 };
          if (script.percent !== undefined) (progress as { percent?: number }).percent = script.percent;
          log.push({ seq: seq.next(), op, kind: 'progress', progress });
          subscriber.next(progress);
          if (script.sync && i === script.chunks.length - 1 && script.end !== 'never') {
            if (!closed) end();
          } else step(i + 1);
        } else end();
      });
    };
    const end = (): void => {
      if (script.end === 'done') {
        log.push({ seq: seq.next(), op, kind: 'done' });
        subscriber.next({ type: 'done', result });
        subscriber.complete();
      } else {
        log.push({ seq: seq.next(), op, kind: 'error' });
        subscriber.error(error);
      }
    };
    step(0);
    return () => {
      closed = true;
      log.push({ seq: seq.next(), op, kind: 'unsubscribed' });
    };
  });
}

/** Collects what RxJS would report as unhandled while `fn` runs, then restores the handler. */
export async function collectUnhandled<T>(fn: (errors: unknown[]) => Promise<T>): Promise<T> {
  const errors: unknown[] = [];
  const previous = config.onUnhandledError;
  config.onUnhandledError = (e) => errors.push(e);
  try {
    return await fn(errors);
  } finally {
    config.onUnhandledError = previous;
  }
}

/** Lets queued microtasks and macrotasks run, a bounded number of rounds. */
export async function settleTasks(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
