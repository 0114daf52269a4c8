import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Transport } from './transport.js';
import { redactUrl } from './redact.js';
import { isSendableHeaderValue } from './headers.js';
import { normalizeRetry, type NormalizedRetry, type RetryPolicy } from './retry.js';
import { parseIntegrity, type IntegrityExpectation } from './integrity.js';
import type { ResponseType } from './sink.js';

/** Per-phase time limits in ms (G9). */
export interface TimeoutOptions {
  /** Until the connection is established. Default 30 000. */
  connect?: number;
  /** With no byte moving either way. Default 60 000, so that no transfer can hang. */
  idle?: number;
  /** The whole transfer, retries and redirects included. Default none. */
  total?: number;
}

/** Anything with axios' `request(config)`: the user's axios instance, interceptors and all. */
export interface AxiosLike {
  request(config: never): Promise<unknown>;
}

/** Options every transfer takes. */
export interface TransferOptions {
  /** HTTP method. Downloads default to GET, uploads to POST. */
  method?: string;
  /** Request headers. */
  headers?: Record<string, string>;
  /** Total time limit in ms, or per phase. */
  timeout?: number | TimeoutOptions;
  /** Aborting it ends the transfer with `CancelledError`. */
  signal?: AbortSignal;
  /** Retries: a count, or a policy. Default none. */
  retry?: number | RetryPolicy;
  /** The delivery context: every notification goes through it (G7). */
  scheduler?: SchedulerLike;
  /** The clock for timeouts, backoff and throttling. Default `asyncScheduler`; tests pass a virtual one. */
  timer?: SchedulerLike;
  /** Least ms between two progress events. Default 100. 0 sends every change. */
  progressInterval?: number;
  /** Redirects followed at most. Default 5. */
  maxRedirects?: number;
  /**
   * Names of request headers that are credentials too (an API key such as `X-Api-Key`): like
   * `Authorization`, `Cookie` and `Proxy-Authorization`, they are dropped once a redirect leaves
   * the first origin (G11). Default none.
   */
  sensitiveHeaders?: readonly string[];
  /** Largest body accepted, in bytes. Default no limit. */
  maxBytes?: number;
  /** Your own axios instance (interceptors, agents, proxy settings). */
  axios?: AxiosLike;
  /** A transport of your own, such as the fake from `rxtransfer/testing`. Takes precedence over `axios`. */
  transport?: Transport;
}

/**
 * Options of `download()`: those of every transfer, plus where and how the body is kept.
 *
 * @example
 * ```ts
 * import { download, type DownloadOptions } from 'rxtransfer';
 * const options = { to: 'big.iso', resume: true, retry: 5, timeout: { idle: 30_000 } } satisfies DownloadOptions;
 * download('https://example.com/big.iso', options).subscribe();
 * ```
 * @see docs/transfers.md#options-and-their-defaults
 */
export interface DownloadOptions extends TransferOptions {
  /** Node: stream the body to this file (through a side file renamed on success). */
  to?: string;
  /** Continue a partial `to` file left by an earlier run. */
  resume?: boolean;
  /**
   * Keep the partial side file when the download fails. Default: the value of `resume`.
   * `'resumable'` keeps it only when `resume` could continue it: bytes with a validator that did
   * not fail a check (a body cut short is kept; a digest mismatch or an oversized body is not).
   * `true` keeps bytes that failed a check too, without their validator: a resume starts them over.
   */
  keepPartial?: boolean | 'resumable';
  /** With `to`: replace an existing file on success. Default true; false fails if the file exists. */
  overwrite?: boolean;
  /**
   * With `to`: flush the file to stable storage (fsync) before it is renamed into place, so that
   * a crash or power loss right after `done` cannot leave a short or empty file at `to`.
   * Default true. `false` skips the fsync (faster on large files, as most download tools do);
   * the rename is still atomic and no partial file is ever left at `to`, but the bytes may sit
   * in the OS cache for a while after `done`.
   */
  durable?: boolean;
  /** Expected digest in Subresource Integrity form, `sha256-<base64>`; checked before `done`. */
  integrity?: string;
  /** In-memory result type. Default `arraybuffer`. */
  responseType?: ResponseType;
}

/**
 * Options of `upload()`: those of every transfer, plus how the response body is read.
 *
 * @example
 * ```ts
 * import { upload } from 'rxtransfer';
 * upload('https://example.com/files/a.txt', 'hello', { method: 'PUT', retry: 3, responseType: 'json' }).subscribe();
 * ```
 */
export interface UploadOptions extends TransferOptions {
  /** How to read the response body. Default `text`. */
  responseType?: ResponseType;
  /**
   * Node: send `Expect: 100-continue` and hold the body back until the server answers `100
   * Continue`, or for at most 1 s (curl's wait; half the idle timeout if that is less). A server that refuses the request (401, 413, a
   * redirect) then says so before any of the body is sent, instead of closing the connection
   * under it (which reads as a network error). Default: for bodies of unknown size or over
   * 1 MiB, as curl does. `true` for every body, `false` for none. Browsers never send it.
   */
  expectContinue?: boolean;
}

/** Bodies larger than this (or of unknown size) are sent with `Expect: 100-continue` by default. */
export const EXPECT_CONTINUE_ABOVE = 1024 * 1024;

/**
 * How long a request that sent `Expect: 100-continue` waits for the server's `100 Continue`
 * before it sends the body anyway (RFC 9110 §10.1.1 lets a client stop waiting; curl waits 1 s):
 * a server that ignores the expectation (an HTTP/1.0 one) costs this much per upload. Never more
 * than half the idle timeout, which nothing moving during the wait would otherwise run out.
 */
export const CONTINUE_WAIT_MS = 1000;

/** Options after validation: what the orchestrator works from. */
export interface NormalizedOptions {
  readonly kind: 'download' | 'upload';
  readonly url: string;
  /** `url` without `user:password@`, for results and messages (made here from the parsed URL, not parsed again per use). */
  readonly safeUrl: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeouts: { readonly connect: number; readonly idle: number; readonly total: number };
  readonly retry: NormalizedRetry;
  readonly scheduler: SchedulerLike | undefined;
  readonly timer: SchedulerLike;
  readonly progressInterval: number;
  readonly maxRedirects: number;
  /** {@link TransferOptions.sensitiveHeaders}, lower-cased. */
  readonly sensitiveHeaders: ReadonlySet<string>;
  readonly maxBytes: number;
  readonly signal: AbortSignal | undefined;
  readonly responseType: ResponseType;
  /** {@link UploadOptions.expectContinue}; undefined: by the body's size. */
  readonly expectContinue: boolean | undefined;
  readonly to: string | undefined;
  readonly resume: boolean;
  readonly keepPartial: boolean | 'resumable';
  readonly overwrite: boolean;
  readonly durable: boolean;
  /** Set by sessions through {@link PUBLISH_OWNER}; see `FileSinkOptions.owner`. */
  readonly owner: string | undefined;
  readonly integrity: IntegrityExpectation | undefined;
  readonly axios: AxiosLike | undefined;
  readonly transport: Transport | undefined;
}

/**
 * A download option only sessions set (not part of the public options): the task writing `to`,
 * see `FileSinkOptions.owner`.
 */
export const PUBLISH_OWNER: unique symbol = Symbol.for('rxtransfer.publishOwner');

const DEFAULT_CONNECT_MS = 30_000;
const DEFAULT_IDLE_MS = 60_000;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Says what is wrong with a request method given by the caller, or undefined. */
export function checkMethod(method: unknown): string | undefined {
  return typeof method === 'string' && TOKEN.test(method) ? undefined : `method "${String(method).slice(0, 40)}" is not an HTTP method`;
}

/**
 * Headers that say where the body ends. One that disagrees with the body sent (a `Content-Length`
 * of 1 before a 1 MiB body) makes the rest of the body read as the next request on the
 * connection; browsers refuse both from scripts for that reason.
 */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/** True for an array of header names (`sensitiveHeaders`). */
export function isHeaderNameList(given: unknown): given is readonly string[] {
  return Array.isArray(given) && given.every((h) => typeof h === 'string' && TOKEN.test(h));
}

/**
 * Request headers as a plain record, or what is wrong with them: names must be HTTP tokens,
 * values text that can be sent as given (never shown: they may be secrets).
 */
export function checkHeaders(given: unknown = {}): Record<string, string> | string {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return 'headers must be an object of name: value pairs';
  // A fetch `Headers` (or a Map) has no own enumerable entries: read it as what it is rather than drop every header.
  const entries = typeof (given as Map<string, string>).entries === 'function' && typeof (given as Map<string, string>).forEach === 'function' ? [...(given as Map<string, string>).entries()] : Object.entries(given);
  const headers: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!TOKEN.test(name)) return `header name "${name.slice(0, 40)}" is not valid`;
    if (typeof value !== 'string') return `header "${name}" must be a string`;
    if (!isSendableHeaderValue(value)) return `header "${name}" must be Latin-1 text without CR, LF, NUL or other control characters but tab (the value is not shown)`;
    if (FRAMING.has(name.toLowerCase())) return `header "${name}" is not yours to set: the transfer frames the body itself (a stream body declares its length as its size)`;
    headers[name] = value;
  }
  return headers;
}
const RESPONSE_TYPES: readonly ResponseType[] = ['arraybuffer', 'uint8array', 'text', 'json', 'blob'];

function isMs(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && !Number.isNaN(value);
}

/**
 * A URL as a transfer reads it: a relative one is resolved against the page's address where there
 * is one (browsers), as `fetch` does; elsewhere it must be absolute. Undefined when it is no URL.
 */
export function absoluteUrl(url: string): URL | undefined {
  try {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    return base === undefined ? new URL(url) : new URL(url, base);
  } catch {
    return undefined;
  }
}

/** No header names (the default `sensitiveHeaders`), shared: nothing to build per request. */
const NO_HEADER_NAMES: ReadonlySet<string> = new Set();

/**
 * Validates once and fills in defaults (the one normalization point). Returns a message naming
 * what is wrong instead of throwing: the caller turns it into `TransferError('invalid')`.
 */
export function normalizeOptions(kind: 'download' | 'upload', url: unknown, options: DownloadOptions & UploadOptions = {}): NormalizedOptions | string {
  if (typeof options !== 'object' || options === null) return 'options must be an object';
  if (typeof url !== 'string' && !(url instanceof URL)) return `url must be a string or URL, got ${url === null ? 'null' : typeof url}`;
  const parsed = absoluteUrl(String(url));
  if (parsed === undefined) return 'url is not a valid absolute URL';
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `unsupported scheme ${parsed.protocol} (only http: and https:)`;

  const method = (options.method ?? (kind === 'download' ? 'GET' : 'POST')).toUpperCase();
  if (!TOKEN.test(method)) return `method "${String(options.method).slice(0, 40)}" is not an HTTP method`;

  const headers = checkHeaders(options.headers ?? {});
  if (typeof headers === 'string') return headers;

  const t = typeof options.timeout === 'number' ? { total: options.timeout } : options.timeout ?? {};
  if (typeof t !== 'object') return 'timeout must be ms or { connect, idle, total }';
  for (const phase of ['connect', 'idle', 'total'] as const) {
    if (t[phase] !== undefined && (!isMs(t[phase]) || t[phase] === 0)) return `timeout${phase === 'total' && typeof options.timeout === 'number' ? '' : '.' + phase} must be a positive number of ms, got ${String(t[phase])}`;
  }
  const retry = normalizeRetry(options.retry);
  if (typeof retry === 'string') return retry;

  const progressInterval = options.progressInterval ?? 100;
  if (!isMs(progressInterval)) return `progressInterval must be a number of ms >= 0, got ${String(options.progressInterval)}`;
  const maxRedirects = options.maxRedirects ?? 5;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) return `maxRedirects must be a whole number >= 0, got ${String(options.maxRedirects)}`;
  const sensitive = options.sensitiveHeaders;
  if (sensitive !== undefined && !isHeaderNameList(sensitive)) return 'sensitiveHeaders must be an array of header names';
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  if (!isMs(maxBytes)) return `maxBytes must be a number >= 0, got ${String(options.maxBytes)}`;
  if (options.signal !== undefined && !isSignal(options.signal)) return 'signal must be an AbortSignal';
  if (options.scheduler !== undefined && typeof options.scheduler?.schedule !== 'function') return 'scheduler must be an RxJS SchedulerLike';
  if (options.timer !== undefined && (typeof options.timer?.schedule !== 'function' || typeof options.timer.now !== 'function')) return 'timer must be an RxJS SchedulerLike (now() and schedule())';

  const responseType = options.responseType ?? (kind === 'download' ? 'arraybuffer' : 'text');
  if (!RESPONSE_TYPES.includes(responseType)) return `responseType must be one of ${RESPONSE_TYPES.join(', ')}, got ${String(responseType)}`;
  // Not truthy or falsy: `overwrite: 'false'` must not replace a file.
  for (const name of ['expectContinue', 'resume', 'overwrite', 'durable'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') return `${name} must be true or false, got ${String(options[name]).slice(0, 40)}`;
  }
  if (options.to !== undefined && (typeof options.to !== 'string' || options.to.length === 0 || options.to.includes('\0'))) return 'to must be a non-empty file path';
  if (options.resume && options.to === undefined) return 'resume needs a file to continue: give `to`';
  if (options.keepPartial !== undefined && typeof options.keepPartial !== 'boolean' && options.keepPartial !== 'resumable') return `keepPartial must be true, false or 'resumable', got ${String(options.keepPartial)}`;
  let integrity: IntegrityExpectation | undefined;
  if (options.integrity !== undefined) {
    const p = parseIntegrity(options.integrity);
    if (typeof p === 'string') return p;
    integrity = p;
  }
  if (options.axios !== undefined && typeof options.axios?.request !== 'function') return 'axios must be an axios instance';
  if (options.transport !== undefined && typeof options.transport?.send !== 'function') return 'transport must have a send(request) method';

  return {
    kind,
    url: parsed.href,
    safeUrl: parsed.username || parsed.password ? redactUrl(parsed) : parsed.href,
    method,
    headers,
    timeouts: {
      connect: t.connect ?? DEFAULT_CONNECT_MS,
      idle: t.idle ?? DEFAULT_IDLE_MS,
      total: t.total ?? Number.POSITIVE_INFINITY,
    },
    retry,
    scheduler: options.scheduler,
    timer: options.timer ?? asyncScheduler,
    progressInterval,
    maxRedirects,
    sensitiveHeaders: sensitive === undefined || sensitive.length === 0 ? NO_HEADER_NAMES : new Set(sensitive.map((h) => h.toLowerCase())),
    maxBytes,
    signal: options.signal,
    responseType,
    expectContinue: options.expectContinue,
    to: options.to,
    resume: options.resume ?? false,
    keepPartial: options.keepPartial ?? options.resume ?? false,
    overwrite: options.overwrite ?? true,
    durable: options.durable ?? true,
    owner: ownerOf(options),
    integrity,
    axios: options.axios,
    transport: options.transport,
  };
}

/** An `AbortSignal`, or anything shaped like one that the run can listen to. */
function isSignal(value: unknown): value is AbortSignal {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as { aborted?: unknown; addEventListener?: unknown; removeEventListener?: unknown };
  return typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function' && typeof s.removeEventListener === 'function';
}

function ownerOf(options: object): string | undefined {
  const owner = (options as { [PUBLISH_OWNER]?: unknown })[PUBLISH_OWNER];
  return typeof owner === 'string' && owner.length > 0 ? owner : undefined;
}
