import type { Transfer, TransferProgress } from '../index.node.js';

/**
 * Subscribes to a transfer and resolves with the `done` result, or rejects with its
 * `TransferError`. Progress goes to `onProgress` as it arrives.
 */
export function runTransfer<R>(transfer: Transfer<R>, onProgress: (event: TransferProgress) => void): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let result: { value: R } | undefined;
    transfer.subscribe({
      next: (event) => {
        if (event.type === 'progress') onProgress(event);
        else result = { value: event.result };
      },
      error: reject,
      complete: () => (result ? resolve(result.value) : reject(new Error('the transfer completed without a result'))),
    });
  });
}

/** Seconds since `started`, for summaries. */
export function elapsedSeconds(started: number): number {
  return Math.max(0.001, (Date.now() - started) / 1000);
}
