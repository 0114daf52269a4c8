import type { TransferDirection, TransferProgress } from '../core/events.js';

/** A raw progress reading from a foreign component. `total` null/undefined/NaN means unknown. */
export interface ProgressReading {
  readonly loaded: number;
  readonly total?: number | null;
}

/** How a direction ended, see {@link ForeignProgress.finish}. */
export type FinishCheck =
  | { readonly kind: 'ok'; readonly flush?: TransferProgress }
  | { readonly kind: 'short'; readonly loaded: number; readonly total: number };

interface DirectionState {
  loaded: number;
  total: number | undefined;
  percent: number;
  emitted: boolean;
}

/**
 * Turns the progress readings of components we did not write into events that obey the
 * grammar (G4): per direction `loaded` never decreases and never exceeds a known `total`,
 * `percent` is present exactly when `total` is known and never decreases, nothing is reported
 * twice, and upload readings after the first download reading are dropped.
 * @internal
 */
export class ForeignProgress {
  private readonly state: Record<TransferDirection, DirectionState> = {
    upload: { loaded: 0, total: undefined, percent: 0, emitted: false },
    download: { loaded: 0, total: undefined, percent: 0, emitted: false },
  };

  /** The event to emit for `reading`, or `undefined` when it adds nothing. */
  update(direction: TransferDirection, reading: ProgressReading): TransferProgress | undefined {
    if (direction === 'upload' && this.state.download.emitted) return undefined;
    const s = this.state[direction];
    const rawTotal = reading.total;
    if (typeof rawTotal === 'number' && Number.isFinite(rawTotal) && rawTotal >= 0) {
      // A total, once known, only grows: a component cannot take back bytes it announced.
      s.total = Math.max(rawTotal, s.total ?? 0, s.loaded);
    }
    const raw = Number.isFinite(reading.loaded) ? Math.max(0, reading.loaded) : 0;
    const loaded = Math.max(s.loaded, s.total === undefined ? raw : Math.min(raw, s.total));
    const percent = s.total === undefined ? undefined : Math.max(s.percent, percentOf(loaded, s.total));
    if (s.emitted && loaded === s.loaded && (percent === undefined || percent === s.percent)) return undefined;
    const delta = loaded - s.loaded;
    s.loaded = loaded;
    if (percent !== undefined) s.percent = percent;
    s.emitted = true;
    return progressEvent(direction, loaded, delta, s.total, percent);
  }

  /**
   * Checks a direction at the end of a successful transfer (G5). With `trustTotal` (percent
   * scales, where precision is not promised; a transfer's own events, whose success vouches for
   * its bytes), a missing final step is flushed as an event at 100%, except an upload's once
   * download progress was told (G4); otherwise fewer bytes than the known total is reported as
   * `short`.
   */
  finish(direction: TransferDirection, trustTotal: boolean): FinishCheck {
    const s = this.state[direction];
    if (!s.emitted || s.total === undefined || s.loaded >= s.total) return { kind: 'ok' };
    if (!trustTotal) return { kind: 'short', loaded: s.loaded, total: s.total };
    // Upload progress after download progress would break G4's order: the upload, trusted to be
    // complete, is left where its last reading put it.
    if (direction === 'upload' && this.state.download.emitted) return { kind: 'ok' };
    const delta = s.total - s.loaded;
    s.loaded = s.total;
    s.percent = 100;
    return { kind: 'ok', flush: progressEvent(direction, s.total, delta, s.total, 100) };
  }

  /** Bytes so far in `direction`. */
  loaded(direction: TransferDirection): number {
    return this.state[direction].loaded;
  }
}

function percentOf(loaded: number, total: number): number {
  return total === 0 ? 100 : Math.min(100, Math.floor((loaded * 100) / total));
}

function progressEvent(direction: TransferDirection, loaded: number, delta: number, total: number | undefined, percent: number | undefined): TransferProgress {
  return total === undefined
    ? { type: 'progress', direction, loaded, delta, attempt: 1 }
    : { type: 'progress', direction, loaded, delta, total, percent: percent as number, attempt: 1 };
}
