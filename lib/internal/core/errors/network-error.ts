import { TransferError, type TransferErrorContext, isTransferError } from './transfer-error.js';

/**
 * The connection failed: refused, reset, DNS, TLS (G11 retries these when allowed).
 *
 * @example
 * ```ts
 * import { download, isNetworkError } from 'rxtransfer';
 * download('http://127.0.0.1:9/').subscribe({
 *   error: (e) => { if (isNetworkError(e)) console.log(e.errno); }, // 'ECONNREFUSED'
 * });
 * ```
 */
export class NetworkError extends TransferError {
  override name = 'NetworkError' as const;
  override readonly code = 'network' as const;
  /** The system error code when there is one, such as `ECONNRESET`. */
  readonly errno: string | undefined;

  constructor(message: string, errno: string | undefined, context: TransferErrorContext = {}) {
    super('network', errno ? `${message} [${errno}]` : message, context);
    this.errno = errno;
  }
}

/** True for a {@link NetworkError}, across package copies. */
export function isNetworkError(value: unknown): value is NetworkError {
  return isTransferError(value) && value.code === 'network';
}
