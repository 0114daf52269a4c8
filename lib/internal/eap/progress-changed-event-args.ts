import type { TransferDirection, TransferProgress } from '../core/events.js';

/**
 * What `progressChanged` carries: a percentage (E8) and the operation's `userState`.
 * `progressPercentage` is always an integer from 0 to 100, and 0 when the total is unknown.
 *
 * @example
 * ```ts
 * import { ProgressChangedEventArgs } from 'rxtransfer';
 * new ProgressChangedEventArgs(42.7, 'job-1').progressPercentage; // 42
 * new ProgressChangedEventArgs(Number.NaN, 'job-1').progressPercentage; // 0
 * ```
 */
export class ProgressChangedEventArgs {
  /** An integer 0..100 (E8). */
  readonly progressPercentage: number;
  readonly userState: unknown;

  constructor(progressPercentage: number, userState: unknown) {
    this.progressPercentage = toPercentage(progressPercentage);
    this.userState = userState;
  }
}

/**
 * The progress args of a transfer: the percentage of {@link ProgressChangedEventArgs} plus the
 * byte counts, as the EAP guidance asks (derive a class for measures other than a percentage,
 * keep `progressPercentage` a percentage). `progress` is the transfer's own event.
 *
 * @example
 * ```ts
 * import { TransferProgressChangedEventArgs } from 'rxtransfer';
 * const e = new TransferProgressChangedEventArgs(
 *   { type: 'progress', direction: 'upload', loaded: 50, delta: 50, total: 200, percent: 25, attempt: 1 },
 *   'job-1',
 * );
 * e.progressPercentage; // 25
 * e.bytesTransferred; // 50
 * ```
 */
export class TransferProgressChangedEventArgs extends ProgressChangedEventArgs {
  /** The transfer's progress event, unchanged. */
  readonly progress: TransferProgress;

  constructor(progress: TransferProgress, userState: unknown) {
    super(progress.percent ?? 0, userState);
    this.progress = progress;
  }

  get direction(): TransferDirection {
    return this.progress.direction;
  }

  /** Bytes so far in this direction. */
  get bytesTransferred(): number {
    return this.progress.loaded;
  }

  /** Expected bytes, or `undefined` when unknown. */
  get totalBytes(): number | undefined {
    return this.progress.total;
  }
}

/** Clamps to an integer percentage, 0 for anything that is not a finite number. @internal */
export function toPercentage(value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 0;
  return Math.min(100, Math.max(0, Math.floor(value)));
}
