import { NetworkError } from '../core/errors/network-error.js';
import { TransferError } from '../core/errors/transfer-error.js';
import { redactText } from '../core/redact.js';

interface AxiosishError {
  isAxiosError?: boolean;
  code?: string;
  message?: string;
  cause?: { code?: string };
}

/**
 * What axios rejects with before sending, for its own options (an instance's `paramsSerializer`,
 * `baseURL`, `auth` it cannot encode, a body it cannot send): the same request fails the same way.
 */
const OPTION_ERRORS = new Set(['ERR_BAD_OPTION_VALUE', 'ERR_BAD_OPTION', 'ERR_INVALID_URL', 'ERR_NOT_SUPPORT', 'ERR_DEPRECATED', 'ERR_FORM_DATA_DEPTH_EXCEEDED']);

/**
 * Maps what axios rejects with to a TransferError. The original error is not kept as `cause`:
 * axios errors carry the request config, headers and credentials included; `cause` here is a
 * plain Error with the system code and a message cleaned of any URL userinfo.
 */
export function fromAxiosError(error: unknown, context: { url: string; method: string }): TransferError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as AxiosishError;
  const raw = typeof e.message === 'string' ? e.message : String(error);
  const message = redactText(raw).slice(0, 300);
  const cause = new Error(message);
  if (!e.isAxiosError) {
    // Thrown by user code around axios (an interceptor, a custom adapter).
    return new TransferError('invalid', `the axios instance failed: ${message}`, { ...context, cause });
  }
  // Not the network's: 'invalid', never retried into the same refusal.
  if (e.code !== undefined && OPTION_ERRORS.has(e.code)) return new TransferError('invalid', `the axios instance refused the request: ${message}`, { ...context, cause });
  const errno = e.cause?.code ?? (e.code && /^E[A-Z]+$/.test(e.code) ? e.code : undefined);
  return new NetworkError(errno ? 'connection failed' : `request failed: ${message}`, errno, { ...context, cause });
}

/**
 * Why what the caller's axios resolved with is not an axios response with a body of the kind
 * asked for (`isBody`), or undefined when it is one. A response interceptor that unwraps it
 * (`(response) => response.data`, common in apps) leaves no status to read: said at once as
 * 'invalid', not read as a success with an empty body, a body cut short, or a retry.
 */
export function notAResponse(value: unknown, isBody: (data: unknown) => boolean, context: { url: string; method: string }): TransferError | undefined {
  const response = value as { status?: unknown; headers?: unknown; data?: unknown } | null | undefined;
  if (typeof response === 'object' && response !== null && typeof response.status === 'number' && typeof response.headers === 'object' && response.headers !== null && isBody(response.data)) return undefined;
  return new TransferError('invalid', 'the axios instance resolved with something other than its response and body (a response interceptor that returns response.data?)', context);
}
