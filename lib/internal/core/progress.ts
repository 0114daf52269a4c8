import type { SchedulerLike, Subscription } from 'rxjs';
import type { TransferDirection, TransferProgress } from './events.js';
import { scheduleAfter } from './schedule-after.js';

interface DirectionState {
  /** Highest byte count observed (across attempts). */
  max: number;
  total: number | undefined;
  emitted: boolean;
  emittedLoaded: number;
  emittedTotal: number | undefined;
  emittedPercent: number;
  lastEmitAt: number;
  rate: number | undefined;
}

/** Seconds over which `bytesPerSecond` is smoothed (exponentially weighted). */
const RATE_TIME_CONSTANT_MS = 1000;

/** Integer percent 0..100 of `loaded` over `total`. */
export function percentOf(loaded: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.max(0, Math.floor((loaded * 100) / total)));
}

/**
 * Turns raw byte counts into the progress events of the grammar (G4, G5, G10):
 * `loaded` and `percent` never decrease per direction, all upload events come before any
 * download event, the first event is sent at once, later ones at most every `interval` ms,
 * and {@link ProgressReporter.flush} sends what is pending (the trailing event).
 */
export class ProgressReporter {
  /** 1 for the first try; the orchestrator raises it for each retry. */
  attempt = 1;
  private readonly states: Record<TransferDirection, DirectionState> = { upload: fresh(), download: fresh() };
  private downloading = false;
  private pending: TransferDirection | undefined;
  private trailing: Subscription | undefined;
  private disposed = false;

  constructor(
    private readonly emit: (event: TransferProgress) => void,
    private readonly timer: SchedulerLike,
    private readonly interval: number,
  ) {}

  /** Records that `loaded` bytes (cumulative, this attempt or held) moved in `direction`. */
  observe(direction: TransferDirection, loaded: number, total?: number): void {
    // A transport may still call its hooks after the end: no event, and no timer, comes of it.
    if (this.disposed) return;
    // Counts come from transports, custom ones too: one that is not a byte count (NaN, negative,
    // Infinity) is ignored rather than shown, or turned into an infinite rate.
    if (!(loaded >= 0 && loaded <= Number.MAX_SAFE_INTEGER)) return;
    if (total !== undefined && !(total >= 0 && total <= Number.MAX_SAFE_INTEGER)) total = undefined;
    if (direction === 'upload' && this.downloading) return;
    if (direction === 'download' && !this.downloading) {
      this.flush();
      this.downloading = true;
    }
    const s = this.states[direction];
    if (total !== undefined) s.total = total;
    if (loaded > s.max) s.max = loaded;
    if (s.total !== undefined && s.max > s.total) s.total = undefined;
    const changed = !s.emitted || s.max > s.emittedLoaded || s.total !== s.emittedTotal;
    if (!changed) return;
    this.pending = direction;
    const now = this.timer.now();
    if (!s.emitted || now - s.lastEmitAt >= this.interval) {
      this.flush();
    } else if (!this.trailing) {
      this.trailing = scheduleAfter(this.timer, () => {
        this.trailing = undefined;
        this.flush();
      }, s.lastEmitAt + this.interval - now);
    }
  }

  /** The highest count observed in a direction. */
  loaded(direction: TransferDirection): number {
    return this.states[direction].max;
  }

  /** Sends the pending event now, if there is one. */
  flush(): void {
    this.trailing?.unsubscribe();
    this.trailing = undefined;
    const direction = this.pending;
    if (direction === undefined) return;
    this.pending = undefined;
    const s = this.states[direction];
    const now = this.timer.now();
    const delta = s.emitted ? s.max - s.emittedLoaded : 0;
    if (s.emitted && now > s.lastEmitAt) {
      const instant = (delta * 1000) / (now - s.lastEmitAt);
      const weight = 1 - Math.exp(-(now - s.lastEmitAt) / RATE_TIME_CONSTANT_MS);
      s.rate = s.rate === undefined ? instant : s.rate + weight * (instant - s.rate);
    }
    const event: { -readonly [K in keyof TransferProgress]: TransferProgress[K] } = {
      type: 'progress',
      direction,
      loaded: s.max,
      delta,
      attempt: this.attempt,
    };
    if (s.total !== undefined) {
      event.total = s.total;
      s.emittedPercent = Math.max(s.emittedPercent, percentOf(s.max, s.total));
      event.percent = s.emittedPercent;
    }
    if (s.rate !== undefined) event.bytesPerSecond = Math.round(s.rate);
    s.emitted = true;
    s.emittedLoaded = s.max;
    s.emittedTotal = s.total;
    s.lastEmitAt = now;
    this.emit(event);
  }

  /** Stops the trailing timer; nothing more is sent. */
  dispose(): void {
    this.disposed = true;
    this.trailing?.unsubscribe();
    this.trailing = undefined;
    this.pending = undefined;
  }
}

function fresh(): DirectionState {
  return { max: 0, total: undefined, emitted: false, emittedLoaded: 0, emittedTotal: undefined, emittedPercent: 0, lastEmitAt: 0, rate: undefined };
}
