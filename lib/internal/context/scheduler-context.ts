import type { SchedulerLike } from 'rxjs';
import { isContextScheduler } from './context-scheduler.js';
import { SynchronizationContext } from './synchronization-context.js';

/**
 * A context that posts to an RxJS scheduler: `asapScheduler`, `animationFrameScheduler`, a
 * `TestScheduler`, anything. Callbacks run in FIFO order (C1) even on a scheduler that does not
 * promise it: the action of each post runs the callbacks waiting up to that post, oldest first.
 *
 * @example
 * ```ts
 * import { asapScheduler } from 'rxjs';
 * import { SchedulerContext } from 'rxtransfer';
 * new SchedulerContext(asapScheduler).post(() => console.log('asap'));
 * ```
 */
export class SchedulerContext extends SynchronizationContext {
  /** Callbacks waiting, oldest first, each with the number of its post. */
  private readonly queue: Array<{ readonly seq: number; readonly task: () => void }> = [];
  private posted = 0;

  constructor(readonly scheduler: SchedulerLike) {
    super();
  }

  protected override dispatch(task: () => void): void {
    const seq = ++this.posted;
    this.queue.push({ seq, task });
    try {
      this.scheduler.schedule(() => this.drain(seq));
    } catch (error) {
      // Refused: the post fails, so its callback must not run later from another post's action.
      const index = this.queue.findIndex((entry) => entry.seq === seq);
      if (index >= 0) this.queue.splice(index, 1);
      throw error;
    }
  }

  /**
   * The action of post number `seq`: runs the callbacks waiting up to and including that post,
   * oldest first. Usually that is its own alone (the earlier ones ran from their own actions), so
   * callbacks interleave with the scheduler's other work as they were posted; more when the
   * scheduler dropped an action (RxJS schedulers drop the rest of a flush when one action throws),
   * or runs actions out of order: a lost action never holds back later posts, and FIFO holds (C1).
   * A callback posted while this runs has a later number: its own action runs it.
   */
  private drain(seq: number): void {
    while (this.queue.length > 0 && this.queue[0]!.seq <= seq) this.queue.shift()!.task();
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
