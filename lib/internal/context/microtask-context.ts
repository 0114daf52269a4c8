import { SynchronizationContext } from './synchronization-context.js';
import { TaskQueue, requestMicrotask } from './task-queue.js';

/**
 * A context that runs posted callbacks on the microtask queue, in FIFO order (C1): after the
 * current synchronous code, before any timer or I/O.
 *
 * @example
 * ```ts
 * import { microtaskContext } from 'rxtransfer';
 * const ctx = microtaskContext();
 * ctx.post(() => console.log('second'));
 * console.log('first');
 * ```
 */
export class MicrotaskContext extends SynchronizationContext {
  private readonly queue = new TaskQueue(requestMicrotask);

  protected override dispatch(task: () => void): void {
    this.queue.push(task);
  }
}

/**
 * A new {@link MicrotaskContext}.
 *
 * @example
 * ```ts
 * import { microtaskContext } from 'rxtransfer';
 * microtaskContext().post(() => console.log('soon'));
 * ```
 */
export function microtaskContext(): MicrotaskContext {
  return new MicrotaskContext();
}
