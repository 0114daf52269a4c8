import { TransferError, type TransferErrorContext, isTransferError } from './transfer-error.js';

/**
 * The transfer was cancelled through its `signal` (G6). Unsubscribing delivers nothing.
 *
 * @example
 * ```ts
 * import { download, isCancelledError } from 'rxtransfer';
 * const controller = new AbortController();
 * download('https://example.com/big.iso', { signal: controller.signal }).subscribe({
 *   error: (e) => { if (isCancelledError(e)) console.log('cancelled by the user'); },
 * });
 * controller.abort();
 * ```
 * @see docs/transfers.md#cancelling
 */
export class CancelledError extends TransferError {
  override name = 'CancelledError' as const;
  override readonly code = 'cancelled' as const;

  constructor(context: TransferErrorContext = {}, message = 'transfer cancelled') {
    super('cancelled', message, context);
  }
}

/** True for a {@link CancelledError}, across package copies. */
export function isCancelledError(value: unknown): value is CancelledError {
  return isTransferError(value) && value.code === 'cancelled';
}
