import { NetworkError } from '../core/errors/network-error.js';
import { TransferError } from '../core/errors/transfer-error.js';

interface AxiosishError {
  isAxiosError?: boolean;
  code?: string;
  message?: string;
  cause?: { code?: string };
}

/**
 * Maps what axios rejects with to a TransferError. The original error is not kept as `cause`:
 * axios errors carry the request config, headers and credentials included; `cause` here is a
 * plain Error with the system code and a message cleaned of any URL userinfo.
 */
export function fromAxiosError(error: unknown, context: { url: string; method: string }): TransferError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as AxiosishError;
  const raw = typeof e.message === 'string' ? e.message : String(error);
  const message = raw.replace(/\/\/[^/@\s]*@/g, '//').slice(0, 300);
  const cause = new Error(message);
  if (!e.isAxiosError) {
    // Thrown by user code around axios (an interceptor, a custom adapter).
    return new TransferError('invalid', `the axios instance failed: ${message}`, { ...context, cause });
  }
  const errno = e.cause?.code ?? (e.code && /^E[A-Z]+$/.test(e.code) ? e.code : undefined);
  return new NetworkError(errno ? 'connection failed' : `request failed: ${message}`, errno, { ...context, cause });
}
