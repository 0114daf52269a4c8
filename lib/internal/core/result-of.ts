import type { Transfer } from './events.js';

/**
 * The result of a transfer as a promise: subscribes, ignores progress, resolves with `done`'s
 * result, or rejects with the transfer's `TransferError`.
 *
 * @example
 * ```ts
 * import { download, resultOf } from 'rxtransfer';
 * const { data } = await resultOf(download('https://example.com/a.json', { responseType: 'json' }));
 * ```
 */
export function resultOf<R>(transfer: Transfer<R>): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    transfer.subscribe({
      next: (event) => {
        if (event.type === 'done') resolve(event.result);
      },
      error: reject,
    });
  });
}
