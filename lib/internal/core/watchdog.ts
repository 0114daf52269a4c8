import type { SchedulerLike, Subscription } from 'rxjs';
import type { TimeoutPhase } from './errors/timeout-error.js';
import { scheduleAfter } from './schedule-after.js';

/**
 * The per-attempt timers of G9: `connect` until the connection is up, `idle` since the last
 * byte moved either way. Touching is O(1) (no timer is re-armed per chunk): the idle check
 * wakes up, looks at the last activity, and sleeps again for what is left.
 */
export class Watchdog {
  private connectTimer: Subscription | undefined;
  private idleTimer: Subscription | undefined;
  private lastActivity: number;
  private stopped = false;

  constructor(
    private readonly timer: SchedulerLike,
    private readonly limits: { readonly connect: number; readonly idle: number },
    private readonly fire: (phase: TimeoutPhase, ms: number) => void,
  ) {
    this.lastActivity = timer.now();
    if (Number.isFinite(limits.connect)) {
      this.connectTimer = scheduleAfter(timer, () => this.expire('connect', limits.connect), limits.connect);
    }
    if (Number.isFinite(limits.idle)) this.armIdle(limits.idle);
  }

  /** The connection is established: the connect timer stops. */
  connected(): void {
    this.connectTimer?.unsubscribe();
    this.connectTimer = undefined;
  }

  /** A byte moved: the idle timer starts over. */
  touch(): void {
    this.lastActivity = this.timer.now();
  }

  /** Stops every timer of this attempt. */
  stop(): void {
    this.stopped = true;
    this.connectTimer?.unsubscribe();
    this.idleTimer?.unsubscribe();
  }

  private armIdle(delay: number): void {
    this.idleTimer = scheduleAfter(this.timer, () => {
      if (this.stopped) return;
      const quiet = this.timer.now() - this.lastActivity;
      if (quiet >= this.limits.idle) this.expire('idle', this.limits.idle);
      else this.armIdle(this.limits.idle - quiet);
    }, delay);
  }

  private expire(phase: TimeoutPhase, ms: number): void {
    if (this.stopped) return;
    this.stop();
    this.fire(phase, ms);
  }
}
