import type { Transfer } from './events.js';
import { NetworkError } from './errors/network-error.js';

/**
 * The result of a transfer as a promise: subscribes, ignores progress, resolves with `done`'s
 * result, or rejects with the transfer's `TransferError` — also, with a `NetworkError`, when
 * what it is given completes without a `done` (a transfer piped through `take(1)` or a
 * `filter`), as `lastValueFrom` rejects on an empty source instead of never settling.
 *
 * @example
 * ```ts
 * import { download, resultOf } from 'rxtransfer';
 * const { data } = await resultOf(download('https://example.com/a.json', { responseType: 'json' }));
 * ```
 */
export function resultOf<R>(transfer: Transfer<R>): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let done = false;
    transfer.subscribe({
      next: (event) => {
        if (event.type !== 'done' || done) return;
        done = true;
        resolve(event.result);
      },
      error: reject,
      complete: () => {
        if (!done) reject(new NetworkError('transfer ended without a result', undefined));
      },
    });
  });
}
