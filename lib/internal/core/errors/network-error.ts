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

/**
 * The message of a network error a browser reports (an XMLHttpRequest's `error`, status 0). The
 * browser gives no reason, on purpose (a page must not learn why another origin refused it), and
 * axios says only "Network Error": the message lists what it may be, and where the reason is.
 * `fallback` outside a browser (no page, no worker: an XMLHttpRequest polyfill on Node).
 * @internal
 */
export function browserNetworkErrorMessage(fallback: string): string {
  const scope = globalThis as { origin?: unknown; location?: { origin?: unknown }; document?: unknown; WorkerGlobalScope?: unknown };
  if (scope.document === undefined && scope.WorkerGlobalScope === undefined) return fallback;
  const origin = typeof scope.origin === 'string' ? scope.origin : typeof scope.location?.origin === 'string' ? scope.location.origin : undefined;
  const allow = origin === undefined ? "this page's origin" : `this page's origin (${origin})`;
  return `the browser gives no reason for this network error: the server could not be reached, or the browser kept its response from the page (CORS: the server must allow ${allow}, after any redirect too; mixed content; a Content-Security-Policy; an extension); the browser's console says which`;
}
