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
    // The message may quote someone else's words (a component's failure, Node's fetch naming the
    // URL it refused): any URL in it is redacted as `url` is, whoever built the message.
    const said = redactText(message);
    super(where ? `${said} (${where})` : said, context.cause === undefined ? undefined : { cause: redactedCause(context.cause) });
    this.code = code;
    this.url = url;
    this.method = context.method;
    Object.defineProperty(this, MARK, { value: true });
  }
}

/**
 * The cause as it is, unless its message or stack, or those of its own causes, quote a URL with
 * credentials (someone else's error: a custom transport's, a platform's), or it carries objects of
 * its own (an axios error's `config`, `request` and `response` hold the URL and the headers sent,
 * `Authorization` included): then a copy without them (same name, message and stack, its own
 * text and numbers but secret-named ones, and cause, redacted), since a logger prints the causes
 * with the error (`util.inspect`, and JSON serializers that walk `cause`). Our own errors are
 * redacted already and kept as they are.
 */
function redactedCause(cause: unknown, depth = 0): unknown {
  if (typeof cause === 'string') return redactText(cause);
  // A few levels of causes (undici's "fetch failed" holds the socket's error): no more, a chain may loop.
  if (!isErrorObject(cause) || depth > 4 || isTransferError(cause)) return cause;
  // Only text is redacted (anything can be assigned to them; a constructor must not throw, G8).
  const message = typeof cause.message === 'string' ? redactText(cause.message) : cause.message;
  const stack = typeof cause.stack === 'string' ? redactText(cause.stack) : cause.stack;
  const inner: unknown = cause.cause;
  const innerRedacted = inner === undefined ? undefined : redactedCause(inner, depth + 1);
  let changed = message !== cause.message || stack !== cause.stack || innerRedacted !== inner;
  const kept: Record<string, unknown> = {};
  for (const name of ownNames(cause)) {
    if (name === 'message' || name === 'stack' || name === 'cause') continue;
    const value = ownValue(cause, name);
    const safe = redactedOwn(name, value, depth);
    if (safe !== value) changed = true;
    if (safe !== DROPPED) kept[name] = safe;
  }
  if (!changed) return cause;
  const copy = new Error(message, innerRedacted === undefined ? undefined : { cause: innerRedacted });
  copy.name = cause.name;
  copy.stack = stack;
  Object.assign(copy, kept);
  return copy;
}

const DROPPED = Symbol('dropped');
/** Own properties of a cause whose text is a secret by its name (`code`, `errno`, `syscall` are kept). */
const SECRET_PROPERTY = /passw|secret|token|authori[sz]|cookie|credential|api[-_]?key/i;

/** An own property of a cause as its copy keeps it: text redacted, numbers and flags as they are, the errors of an AggregateError redacted; objects and secret-named values dropped. */
function redactedOwn(name: string, value: unknown, depth: number): unknown {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value;
  if (typeof value === 'string') return SECRET_PROPERTY.test(name) ? DROPPED : redactText(value);
  if (name === 'errors' && Array.isArray(value) && value.every(isErrorObject)) {
    const errors = value.map((error) => redactedCause(error, depth + 1));
    return errors.every((error, i) => error === value[i]) ? value : errors;
  }
  return DROPPED;
}

/** The names of an object's own enumerable properties; none for a proxy whose trap throws. */
function ownNames(target: object): string[] {
  try {
    return Object.keys(target);
  } catch {
    return [];
  }
}

/** An own property's value; a getter that throws reads as nothing (a constructor must not throw, G8). */
function ownValue(target: object, name: string): unknown {
  try {
    return (target as Record<string, unknown>)[name];
  } catch {
    return DROPPED;
  }
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
