import { HttpStatusError } from '../core/errors/http-status-error.js';
import { NetworkError } from '../core/errors/network-error.js';
import { TransferError, isTransferError, type TransferErrorContext } from '../core/errors/transfer-error.js';

/**
 * Any failure as a `TransferError`, for adapters of components that throw their own errors.
 * A `TransferError` is kept; something with a numeric `status` >= 400 becomes an
 * `HttpStatusError`; anything else a `NetworkError` (its string `code`, such as `ECONNRESET`,
 * kept as `errno`), with the original as `cause`.
 * @internal
 */
export function toTransferError(error: unknown, context: TransferErrorContext = {}): TransferError {
  if (isTransferError(error)) return error;
  const record = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {};
  const message = error instanceof Error ? error.message : typeof record.message === 'string' ? record.message : String(error);
  const status = record.status;
  if (typeof status === 'number' && status >= 400) {
    const body = typeof record.body === 'string' ? record.body : '';
    return new HttpStatusError(status, {}, body, { ...context, cause: error }, message || `HTTP ${status}`);
  }
  const errno = typeof record.code === 'string' ? record.code : undefined;
  return new NetworkError(message || 'the component failed', errno, { ...context, cause: error });
}

/**
 * A value thrown or passed as an error, as an `Error` (E4): errors are kept, anything else is
 * wrapped in a `TransferError` with code `'invalid'` and the value as `cause`.
 * @internal
 */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (isTransferError(value)) return value;
  return new TransferError('invalid', `operation failed with a non-Error value: ${describe(value)}`, { cause: value });
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
