import { SynchronizationContext } from './synchronization-context.js';

/**
 * A context that runs posted callbacks right away, trampolined: a callback posted while
 * another runs waits until that one returns, so FIFO order holds (C1) and the stack never
 * grows. It is the one synchronous built-in: use it in tests, or where the caller already is
 * on the right "thread" and wants no extra hop.
 *
 * @example
 * ```ts
 * import { ImmediateContext } from 'rxtransfer';
 * const ctx = new ImmediateContext();
 * const log: number[] = [];
 * ctx.post(() => { log.push(1); ctx.post(() => log.push(3)); log.push(2); });
 * // log is [1, 2, 3] here, synchronously
 * ```
 */
export class ImmediateContext extends SynchronizationContext {
  private readonly queue: (() => void)[] = [];
  private draining = false;

  protected override dispatch(task: () => void): void {
    this.queue.push(task);
    if (this.draining) return;
    this.draining = true;
    try {
      // Bounded by the callbacks posted: each iteration consumes one.
      for (let next = this.queue.shift(); next; next = this.queue.shift()) next();
    } finally {
      this.draining = false;
    }
  }
}

/**
 * A new {@link ImmediateContext}.
 *
 * @example
 * ```ts
 * import { immediateContext } from 'rxtransfer';
 * immediateContext().post(() => console.log('now'));
 * ```
 */
export function immediateContext(): ImmediateContext {
  return new ImmediateContext();
}
