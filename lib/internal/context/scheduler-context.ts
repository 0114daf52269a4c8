import type { SchedulerLike } from 'rxjs';
import { isContextScheduler } from './context-scheduler.js';
import { SynchronizationContext } from './synchronization-context.js';

/**
 * A context that posts to an RxJS scheduler: `asapScheduler`, `animationFrameScheduler`, a
 * `TestScheduler`, anything. Callbacks run in FIFO order (C1) even on a scheduler that does not
 * promise it: each scheduled action runs the oldest waiting callback.
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
    this.scheduler.schedule(() => this.queue.shift()?.());
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
