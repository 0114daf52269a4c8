import { TransferError, isTransferError } from './transfer-error.js';

const LOCAL_FILE = Symbol.for('rxtransfer.localFileError');

/**
 * A failure of the disk under a download (no space left, a file over the size limit, `to` a
 * directory, a failed fsync), or of an upload's own body (a file gone or changed, a source that
 * threw): `'invalid'`, never retried, as another attempt would meet the same disk and send or
 * receive the body again for nothing. The command line exits 1 for it.
 */
export function localFileError(what: string, error: unknown, context: { url?: string; method?: string } = {}): TransferError {
  if (isTransferError(error)) return error;
  const message = (error as { message?: unknown } | undefined)?.message;
  const local = new TransferError('invalid', `${what}: ${typeof message === 'string' ? message : String(error)}`, { ...context, cause: error });
  Object.defineProperty(local, LOCAL_FILE, { value: true });
  return local;
}

/** Whether `error` is a failure of the local disk under a transfer (see `localFileError`). */
export function isLocalFileError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[LOCAL_FILE] === true;
}
