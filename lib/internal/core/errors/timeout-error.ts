import { TransferError, type TransferErrorContext, isTransferError } from './transfer-error.js';

/** Which timer fired: connecting, no byte moving either way, or the whole transfer. */
export type TimeoutPhase = 'connect' | 'idle' | 'total';

/**
 * The transfer took too long in one of its {@link TimeoutPhase phases} (G9): `connect` and
 * `idle` per attempt (retryable), `total` for the whole transfer (final).
 *
 * @example
 * ```ts
 * import { download, isTimeoutError } from 'rxtransfer';
 * download('https://example.com/feed', { timeout: { connect: 5_000, idle: 10_000, total: 60_000 } }).subscribe({
 *   error: (e) => { if (isTimeoutError(e)) console.log(`${e.phase} timeout after ${e.ms} ms`); },
 * });
 * ```
 * @see docs/transfers.md#timeouts
 */
export class TimeoutError extends TransferError {
  override name = 'TimeoutError' as const;
  override readonly code = 'timeout' as const;
  /** Which clock ran out (G9): `connect`, `idle` or `total`. */
  readonly phase: TimeoutPhase;
  /** That clock's limit, in ms. */
  readonly ms: number;

  constructor(phase: TimeoutPhase, ms: number, context: TransferErrorContext = {}) {
    super('timeout', `${phase} timeout after ${ms} ms`, context);
    this.phase = phase;
    this.ms = ms;
  }
}

/** True for a {@link TimeoutError}, across package copies. */
export function isTimeoutError(value: unknown): value is TimeoutError {
  return isTransferError(value) && value.code === 'timeout';
}
