import type { TransferError } from './errors/transfer-error.js';
import { isHttpStatusError } from './errors/http-status-error.js';
import { isTimeoutError } from './errors/timeout-error.js';
import { isIntegrityError } from './errors/integrity-error.js';
import { isNetworkError } from './errors/network-error.js';

/**
 * When and how a failed attempt is tried again (G11). Only idempotent methods are retried
 * unless `unsafeMethods` is set, so a default (POST) `upload()` is not, except after a failure
 * before any connection was made (refused, no such host): the server never saw it.
 *
 * @example
 * ```ts
 * import { download } from 'rxtransfer';
 * download('https://example.com/a', { retry: { count: 4, baseDelay: 500, statuses: [503] } }).subscribe();
 * ```
 * @see docs/transfers.md#retries
 */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 0 (no retry) when `retry` is not given. */
  count: number;
  /** First backoff delay in ms. Default 300. */
  baseDelay?: number;
  /** Longest backoff delay in ms. Default 10 000. */
  maxDelay?: number;
  /** Growth of the delay per retry. Default 2. */
  factor?: number;
  /** Fraction of the delay taken away at random (0..1). Default 0.5. */
  jitter?: number;
  /** Statuses worth another try. Default 408, 429, 500, 502, 503, 504. */
  statuses?: readonly number[];
  /**
   * Also retry non-idempotent methods (POST, PATCH) after any failure. Default false: they are
   * tried again only when no connection was made, so the server never saw the request.
   */
  unsafeMethods?: boolean;
  /** A `Retry-After` longer than this (ms) ends the transfer instead. Default 60 000. */
  maxRetryAfter?: number;
  /** Last word on whether to retry; a throw ends the transfer with a `TransferError` of code `'invalid'` (`retry.shouldRetry threw: …`). */
  shouldRetry?: (error: TransferError, attempt: number) => boolean;
}

/** A policy with every default filled in. */
export type NormalizedRetry = Required<Omit<RetryPolicy, 'shouldRetry'>> & Pick<RetryPolicy, 'shouldRetry'>;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

/** The policy of a transfer that gives no `retry` (most of them): built once, never changed. */
let noRetry: NormalizedRetry | undefined;

/** Fills in a retry policy, or says what is wrong with it. */
export function normalizeRetry(retry: number | RetryPolicy | undefined): NormalizedRetry | string {
  if (retry === undefined) return (noRetry ??= Object.freeze(normalizeRetry({ count: 0 }) as NormalizedRetry));
  const policy: RetryPolicy = typeof retry === 'number' ? { count: retry } : retry ?? { count: 0 };
  if (typeof policy !== 'object') return `retry must be a count or a policy, got ${typeof retry}`;
  const n: NormalizedRetry = {
    count: policy.count,
    baseDelay: policy.baseDelay ?? 300,
    maxDelay: policy.maxDelay ?? 10_000,
    factor: policy.factor ?? 2,
    jitter: policy.jitter ?? 0.5,
    statuses: policy.statuses ?? [408, 429, 500, 502, 503, 504],
    unsafeMethods: policy.unsafeMethods ?? false,
    maxRetryAfter: policy.maxRetryAfter ?? 60_000,
    shouldRetry: policy.shouldRetry,
  };
  if (!Number.isInteger(n.count) || n.count < 0) return `retry count must be a whole number >= 0, got ${String(policy.count)}`;
  for (const key of ['baseDelay', 'maxDelay', 'factor', 'maxRetryAfter'] as const) {
    if (typeof n[key] !== 'number' || !(n[key] >= 0)) return `retry.${key} must be a number >= 0, got ${String(n[key])}`;
  }
  if (!(n.jitter >= 0 && n.jitter <= 1)) return `retry.jitter must be between 0 and 1, got ${String(n.jitter)}`;
  if (!Array.isArray(n.statuses) || !n.statuses.every((s) => Number.isInteger(s))) return 'retry.statuses must be an array of HTTP status codes';
  // A string such as 'false' is truthy: taken as is it would retry every POST.
  if (typeof n.unsafeMethods !== 'boolean') return `retry.unsafeMethods must be true or false, got ${String(n.unsafeMethods)}`;
  if (n.shouldRetry !== undefined && typeof n.shouldRetry !== 'function') return 'retry.shouldRetry must be a function';
  return n;
}

/**
 * Failures before any connection was made (refused, no such host, no route): the request never
 * left this machine, so sending it again cannot do anything twice. Not a `connect` timeout: a
 * transport that cannot tell when it connects (one on fetch, an interceptor's own adapter) may
 * have sent the whole request by then.
 */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Whether the server cannot have seen the request: no connection was ever made for it. */
function neverSent(error: TransferError): boolean {
  return isNetworkError(error) && error.errno !== undefined && NOT_CONNECTED.has(error.errno);
}

/**
 * Whether the error is of a kind that another attempt may cure. `connected`: the attempt's
 * connection was up (the transport said so, or bytes moved): an errno of {@link NOT_CONNECTED}
 * is then no proof (an established TCP connection that times out after ICMP errors reports
 * `EHOSTUNREACH`, `ENETUNREACH` or `ECONNREFUSED`, after the request went out).
 */
export function isRetryable(error: TransferError, method: string, policy: NormalizedRetry, connected = false): boolean {
  if (!policy.unsafeMethods && !IDEMPOTENT.has(method) && (connected || !neverSent(error))) return false;
  switch (error.code) {
    case 'network':
      return true;
    case 'timeout':
      return isTimeoutError(error) && error.phase !== 'total';
    case 'http':
      return isHttpStatusError(error) && policy.statuses.includes(error.status);
    case 'integrity':
      return isIntegrityError(error) && error.reason === 'truncated';
    default:
      return false;
  }
}

/** Backoff before retry number `retry` (1 for the first retry), with jitter from `random()`. */
export function backoffDelay(retry: number, policy: NormalizedRetry, random: () => number): number {
  const raw = Math.min(policy.maxDelay, policy.baseDelay * policy.factor ** (retry - 1));
  return Math.round(raw * (1 - policy.jitter * random()));
}

/**
 * Parses `Retry-After` (delta-seconds or an HTTP date) into ms from `now`.
 * Returns undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form has a time of day; Date.parse alone would read "1.5" or "-1" as a date in 2001.
  if (!/\d{1,2}:\d{2}:\d{2}/.test(text)) return undefined;
  // Every HTTP-date is GMT (RFC 9110 §5.6.7), the asctime form too, though it does not say so:
  // Date.parse would read a date without a zone in the local one, hours off.
  const date = Date.parse(/(?:GMT|UTC|Z|[+-]\d{4})$/i.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
