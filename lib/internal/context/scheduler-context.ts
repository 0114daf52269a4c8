import type { SchedulerLike } from 'rxjs';
import { isContextScheduler } from './context-scheduler.js';
import { SynchronizationContext } from './synchronization-context.js';

/**
 * A context that posts to an RxJS scheduler: `asapScheduler`, `animationFrameScheduler`, a
 * `TestScheduler`, anything. Callbacks run in FIFO order (C1) even on a scheduler that does not
 * promise it: each scheduled action runs the callbacks waiting, oldest first.
 *
 * @example
 * ```ts
 * import { asapScheduler } from 'rxjs';
 * import { SchedulerContext } from 'rxtransfer';
 * new SchedulerContext(asapScheduler).post(() => console.log('asap'));
 * ```
 */
export class SchedulerContext extends SynchronizationContext {
  private readonly queue: (() => void)[] = [];

  constructor(readonly scheduler: SchedulerLike) {
    super();
  }

  protected override dispatch(task: () => void): void {
    this.queue.push(task);
    this.scheduler.schedule(() => this.drain());
  }

  /**
   * Runs the callbacks waiting when the action started, oldest first. Usually that is one (each
   * post schedules an action); more when the scheduler dropped an action (RxJS schedulers drop
   * the rest of a flush when one action throws), so a lost action never holds back later posts.
   */
  private drain(): void {
    for (let waiting = this.queue.length; waiting > 0; waiting--) this.queue.shift()?.();
  }
}

/**
 * A context that posts to `scheduler`. `schedulerContext(contextScheduler(c))` is `c` itself,
 * so the round trip behaves as `c` (C4).
 *
 * @example
 * ```ts
 * import { queueScheduler } from 'rxjs';
 * import { schedulerContext } from 'rxtransfer';
 * schedulerContext(queueScheduler).post(() => console.log('queued'));
 * ```
 */
export function schedulerContext(scheduler: SchedulerLike): SynchronizationContext {
  return isContextScheduler(scheduler) ? scheduler.context : new SchedulerContext(scheduler);
}
