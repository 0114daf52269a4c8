import type { ResponseHeaders } from '../events.js';
import { TransferError, type TransferErrorContext, isTransferError } from './transfer-error.js';

/** Longest body excerpt kept on an {@link HttpStatusError}, in characters. */
export const BODY_EXCERPT_LIMIT = 1024;

/**
 * The server answered with a status >= 400, or an HTTP rule was broken on the way
 * (too many redirects, a refused redirect: `status` is then the 3xx) (G11).
 *
 * @example
 * ```ts
 * import { download, isHttpStatusError } from 'rxtransfer';
 * download('https://example.com/missing').subscribe({
 *   error: (e) => { if (isHttpStatusError(e) && e.status === 404) console.log('not found:', e.body); },
 * });
 * ```
 * @see docs/transfers.md#errors-and-when-each-one-arrives
 */
export class HttpStatusError extends TransferError {
  override name = 'HttpStatusError' as const;
  override readonly code = 'http' as const;
  /** The response's status: 400 or more, or the 3xx of a redirect that could not be followed. */
  readonly status: number;
  /** The response's headers, names in lower case. */
  readonly headers: ResponseHeaders;
  /** The start of the response body as text (its first {@link BODY_EXCERPT_LIMIT} bytes, in the charset it names), at most as many characters. */
  readonly body: string;

  constructor(status: number, headers: ResponseHeaders, body: string, context: TransferErrorContext = {}, message?: string) {
    super('http', message ?? `HTTP ${status}`, context);
    this.status = status;
    this.headers = headers;
    this.body = body.slice(0, BODY_EXCERPT_LIMIT);
  }
}

/** True for an {@link HttpStatusError}, across package copies. */
export function isHttpStatusError(value: unknown): value is HttpStatusError {
  return isTransferError(value) && value.code === 'http';
}
