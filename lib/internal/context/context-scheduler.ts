import { Subscription, asyncScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { reportUnhandledError } from './report-error.js';
import { SynchronizationContext } from './synchronization-context.js';
import { scheduleAfter } from '../core/schedule-after.js';

const MARK = Symbol.for('rxtransfer.ContextScheduler');

/** Options of {@link contextScheduler}. */
export interface ContextSchedulerOptions {
  /** Measures delays and gives `now()`. Default `asyncScheduler`; pass a virtual-time one in tests. */
  readonly timer?: SchedulerLike;
}

/**
 * An RxJS scheduler whose work runs through a {@link SynchronizationContext}, as Rx.NET's
 * `SynchronizationContextScheduler` (C4). Delays are measured by the timer scheduler (outside a
 * zone, for a zone context), then the work is posted; unsubscribing before it runs cancels it,
 * and `this.schedule(state, delay)` inside the work reschedules it, so `interval`, `delay` and
 * `observeOn` work. A post the context refuses throws from `schedule()` for work due now; for
 * delayed work it is reported (C6) and the work runs in place, with the context as current.
 *
 * @example
 * ```ts
 * import { observeOn, of } from 'rxjs';
 * import { contextScheduler, microtaskContext } from 'rxtransfer';
 * of(1, 2).pipe(observeOn(contextScheduler(microtaskContext()))).subscribe(console.log);
 * ```
 */
export class ContextScheduler implements SchedulerLike {
  private readonly timer: SchedulerLike;

  constructor(
    readonly context: SynchronizationContext,
    options: ContextSchedulerOptions = {},
  ) {
    this.timer = options.timer ?? asyncScheduler;
    Object.defineProperty(this, MARK, { value: true });
  }

  /** The timer scheduler's clock, in milliseconds. */
  now(): number {
    return this.timer.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay: number, state: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay: number, state?: T): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number): Subscription;
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new ContextAction(this.context, this.timer, work).schedule(state, delay);
  }
}

class ContextAction<T> extends Subscription implements SchedulerAction<T> {
  private generation = 0;
  private timerSubscription: Subscription | undefined;
  /** While the work runs: the time it was due (its timer fired, or it was posted). */
  private runningDueAt: number | undefined;

  constructor(
    private readonly context: SynchronizationContext,
    private readonly timer: SchedulerLike,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super(() => {
      this.generation += 1;
      this.timerSubscription?.unsubscribe();
    });
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    // A newer schedule supersedes an older one that has not run yet.
    const generation = ++this.generation;
    this.timerSubscription?.unsubscribe();
    this.timerSubscription = undefined;
    // Rescheduled from inside its own work (`interval`, any periodic work): the delay counts
    // from when this run was due, not from when the context got round to running it, so a
    // period does not drift by the context's delivery delay (an animation frame: ~16 ms a tick).
    const now = this.timer.now();
    const wait = this.runningDueAt === undefined ? delay : Math.max(0, this.runningDueAt + delay - now);
    const dueAt = now + wait;
    let ran = false;
    const run = (): void => {
      if (ran || this.closed || generation !== this.generation) return;
      ran = true;
      this.runningDueAt = dueAt;
      try {
        this.work.call(this, state);
      } finally {
        this.runningDueAt = undefined;
      }
    };
    if (wait > 0) {
      // The timer has no caller to tell when the context refuses the post (its `post` throws):
      // thrown into the timer scheduler, the refusal would be an uncaught exception (and make
      // RxJS drop the rest of that scheduler's flush) and the work would be lost, leaving a
      // `delay`, an `interval` or a timeout without its end. So it is reported (C6) and the work
      // runs in place, with the context as current, as an EAP component raises a refused
      // Completed (docs/eap.md); a work that throws there is reported too.
      const deliverLater = (): void => {
        try {
          this.context.post(run);
        } catch (refusal) {
          reportUnhandledError(refusal);
          try {
            SynchronizationContext.run(this.context, run);
          } catch (error) {
            reportUnhandledError(error);
          }
        }
      };
      // Through scheduleAfter: a delay past 2^31 - 1 ms waits rather than firing at once.
      this.timerSubscription = this.context.runOutside(() => scheduleAfter(this.timer, deliverLater, wait));
    } else {
      // Refused now: the refusal reaches the caller of schedule() (observeOn ends its stream with it).
      this.context.post(run);
    }
    return this;
  }
}

/** True for a scheduler made by {@link contextScheduler}, also by another copy of the package. */
export function isContextScheduler(value: unknown): value is ContextScheduler {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARK] === true;
}

/**
 * An RxJS scheduler that posts its work to `context` (see {@link ContextScheduler}).
 *
 * @example
 * ```ts
 * import { interval, take } from 'rxjs';
 * import { contextScheduler, macrotaskContext } from 'rxtransfer';
 * interval(10, contextScheduler(macrotaskContext())).pipe(take(3)).subscribe(console.log);
 * ```
 */
export function contextScheduler(context: SynchronizationContext, options?: ContextSchedulerOptions): ContextScheduler {
  return new ContextScheduler(context, options);
}
