import { redactText, redactUrl } from '../redact.js';

/** The stable codes a {@link TransferError} carries. */
export type TransferErrorCode = 'timeout' | 'cancelled' | 'http' | 'network' | 'integrity' | 'invalid';

const MARK = Symbol.for('rxtransfer.TransferError');

/** Where the error happened: the method and URL (credentials removed). */
export interface TransferErrorContext {
  readonly url?: string | URL;
  readonly method?: string;
  readonly cause?: unknown;
}

/**
 * The one error type a transfer ends with. `code` is stable; subclasses add detail.
 * Messages name the method and URL, never credentials.
 *
 * @example
 * ```ts
 * import { download, isTransferError } from 'rxtransfer';
 * download('https://example.com/x').subscribe({
 *   error: (e) => { if (isTransferError(e) && e.code === 'timeout') console.log('slow'); },
 * });
 * ```
 */
export class TransferError extends Error {
  override name: string = 'TransferError';
  /** What kind of failure, stable across versions: branch on it (or on the `is…Error` guards), not on the message. */
  readonly code: TransferErrorCode;
  /** The URL, without credentials (userinfo removed, secret-looking query values masked). */
  readonly url: string | undefined;
  /** The request's method (`GET`, `PUT`…), when the error belongs to a request. */
  readonly method: string | undefined;

  constructor(code: TransferErrorCode, message: string, context: TransferErrorContext = {}) {
    const url = context.url === undefined ? undefined : redactUrl(context.url, { secrets: true });
    const where = [context.method, url].filter(Boolean).join(' ');
    super(where ? `${message} (${where})` : message, context.cause === undefined ? undefined : { cause: redactedCause(context.cause) });
    this.code = code;
    this.url = url;
    this.method = context.method;
    Object.defineProperty(this, MARK, { value: true });
  }
}

/**
 * The cause as it is, unless its message or stack, or those of its own causes, quote a URL with
 * credentials (someone else's error: a custom transport's, a platform's): then a copy without
 * them (same name, code, message, stack and cause, redacted), since a logger prints the causes
 * with the error (`util.inspect`).
 */
function redactedCause(cause: unknown, depth = 0): unknown {
  if (typeof cause === 'string') return redactText(cause);
  // A few levels of causes (undici's "fetch failed" holds the socket's error): no more, a chain may loop.
  if (!isErrorObject(cause) || depth > 4) return cause;
  // Only text is redacted (anything can be assigned to them; a constructor must not throw, G8).
  const message = typeof cause.message === 'string' ? redactText(cause.message) : cause.message;
  const stack = typeof cause.stack === 'string' ? redactText(cause.stack) : cause.stack;
  const inner: unknown = cause.cause;
  const innerRedacted = inner === undefined ? undefined : redactedCause(inner, depth + 1);
  if (message === cause.message && stack === cause.stack && innerRedacted === inner) return cause;
  const copy = new Error(message, innerRedacted === undefined ? undefined : { cause: innerRedacted });
  copy.name = cause.name;
  copy.stack = stack;
  const code = (cause as { code?: unknown }).code;
  if (code !== undefined) (copy as { code?: unknown }).code = code;
  return copy;
}

/**
 * True for an Error, also one made in another realm (an iframe's, a `vm` context's: a test
 * runner's, where Node's own errors come from outside), which `instanceof Error` does not see.
 */
function isErrorObject(value: unknown): value is Error {
  if (value instanceof Error) return true;
  try {
    return Object.prototype.toString.call(value) === '[object Error]' && typeof (value as Error).message === 'string';
  } catch {
    return false; // a proxy whose traps throw: left as it is
  }
}

/** True for any rxtransfer error, also one made by another copy of the package. */
export function isTransferError(value: unknown): value is TransferError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARK] === true;
}
