import { reportUnhandledError } from './report-error.js';
import { SynchronizationContext } from './synchronization-context.js';
import { TaskQueue, requestMicrotask } from './task-queue.js';

/**
 * The shape of a zone: Angular's `NgZone` has it, and so can anything else. `run` enters the
 * zone; `runOutsideAngular`, when present, leaves it.
 */
export interface ZoneLike {
  run<T>(fn: () => T): T;
  runOutsideAngular?<T>(fn: () => T): T;
}

/**
 * A context that delivers inside a zone (C3), such as Angular's `NgZone`, without depending on
 * Angular. High-rate work (the transfer's sockets and timers, via `runOutside`) runs outside
 * the zone when it offers `runOutsideAngular`; callbacks are batched and the zone is entered
 * once per batch, on a microtask, so change detection runs once per batch rather than once
 * per chunk.
 *
 * @example
 * ```ts
 * import { zoneContext } from 'rxtransfer';
 * const zone = { run: <T>(fn: () => T): T => fn(), runOutsideAngular: <T>(fn: () => T): T => fn() };
 * const ctx = zoneContext(zone); // in Angular: zoneContext(inject(NgZone))
 * ctx.post(() => console.log('inside the zone'));
 * ```
 */
export class ZoneContext extends SynchronizationContext {
  private readonly queue: TaskQueue;

  constructor(readonly zone: ZoneLike) {
    super();
    this.queue = new TaskQueue((flush) => this.runOutside(() => requestMicrotask(() => this.enter(flush))));
  }

  /**
   * Runs a batch inside the zone. A zone whose `run` throws is reported (C6); if it threw before
   * running the batch, the batch runs here instead: lost, it would also stall every later post.
   */
  private enter(flush: () => void): void {
    let ran = false;
    try {
      this.zone.run(() => {
        ran = true;
        flush();
      });
    } catch (error) {
      reportUnhandledError(error);
      if (!ran) flush();
    }
  }

  /**
   * Queues `callback` for the next batch inside the zone. Unlike other contexts, it runs in the
   * asynchronous context the zone gives it (`zone.run`), not its poster's: the zone decides.
   */
  override post(callback: () => void): void {
    this.dispatch(() => this.invoke(callback));
  }

  /** Runs `callback` inside the zone, now. */
  override send<T>(callback: () => T): T {
    return this.zone.run(() => super.send(callback));
  }

  /** Runs `work` outside the zone when the zone can (`runOutsideAngular`), else in place. */
  override runOutside<T>(work: () => T): T {
    const zone = this.zone;
    return typeof zone.runOutsideAngular === 'function' ? zone.runOutsideAngular(work) : work();
  }

  protected override dispatch(task: () => void): void {
    this.queue.push(task);
  }
}

/**
 * A new {@link ZoneContext} over any `{ run(fn) }`.
 *
 * @example
 * ```ts
 * import { zoneContext } from 'rxtransfer';
 * const ctx = zoneContext({ run: <T>(fn: () => T): T => fn() });
 * ctx.post(() => console.log('delivered'));
 * ```
 */
export function zoneContext(zone: ZoneLike): ZoneContext {
  return new ZoneContext(zone);
}
