import type { SchedulerLike, Subscription } from 'rxjs';
import type { TimeoutPhase } from './errors/timeout-error.js';
import { scheduleAfter } from './schedule-after.js';

/**
 * The per-attempt timers of G9: `connect` until the connection is up, `idle` since the last
 * byte moved either way. Touching is O(1) (no timer is re-armed per chunk): the check wakes
 * up, looks at the last activity, and sleeps again for what is left.
 *
 * One scheduled action serves both limits: it is armed for the earlier deadline (connect wins
 * a tie), and `connected()` only clears a flag, so an attempt costs one timer, not two plus a
 * cancellation. A wake-up for a connect deadline that no longer applies re-arms for idle.
 */
export class Watchdog {
  private pending: Subscription | undefined;
  /** What the pending wake-up is for: the connect deadline fires unconditionally, like a timer of its own. */
  private armedForConnect = false;
  private connecting: boolean;
  private readonly connectDue: number;
  private lastActivity: number;
  private stopped = false;

  constructor(
    private readonly timer: SchedulerLike,
    private readonly limits: { readonly connect: number; readonly idle: number },
    private readonly fire: (phase: TimeoutPhase, ms: number) => void,
  ) {
    const now = timer.now();
    this.lastActivity = now;
    this.connecting = Number.isFinite(limits.connect);
    this.connectDue = now + limits.connect;
    const idle = Number.isFinite(limits.idle);
    if (this.connecting && (!idle || limits.connect <= limits.idle)) this.arm(true, limits.connect);
    else if (idle) this.arm(false, limits.idle);
  }

  /** The connection is established: the connect limit no longer applies. */
  connected(): void {
    this.connecting = false;
  }

  /** A byte moved: the idle timer starts over. */
  touch(): void {
    this.lastActivity = this.timer.now();
  }

  /** Stops every timer of this attempt. */
  stop(): void {
    this.stopped = true;
    this.pending?.unsubscribe();
    this.pending = undefined;
  }

  private arm(forConnect: boolean, delay: number): void {
    this.armedForConnect = forConnect;
    this.pending = scheduleAfter(this.timer, () => this.wake(), delay);
  }

  private wake(): void {
    this.pending = undefined;
    if (this.stopped) return;
    const { connect, idle } = this.limits;
    if (this.armedForConnect && this.connecting) return this.expire('connect', connect);
    const now = this.timer.now();
    const hasIdle = Number.isFinite(idle);
    const quiet = now - this.lastActivity;
    if (hasIdle && quiet >= idle) return this.expire('idle', idle);
    const idleLeft = hasIdle ? idle - quiet : Number.POSITIVE_INFINITY;
    const connectLeft = this.connecting ? this.connectDue - now : Number.POSITIVE_INFINITY;
    if (this.connecting && connectLeft <= idleLeft) this.arm(true, connectLeft);
    else if (hasIdle) this.arm(false, idleLeft);
  }

  private expire(phase: TimeoutPhase, ms: number): void {
    if (this.stopped) return;
    this.stop();
    this.fire(phase, ms);
  }
}
