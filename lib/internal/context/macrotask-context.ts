import { SynchronizationContext } from './synchronization-context.js';

/**
 * A context that runs posted callbacks on the macrotask queue (`setImmediate` on Node,
 * `setTimeout(0)` elsewhere), in FIFO order (C1): I/O and timers get a turn between batches.
 * It behaves as the free-threaded default, but is a context of its own, so its operations
 * are counted apart.
 *
 * @example
 * ```ts
 * import { macrotaskContext } from 'rxtransfer';
 * const ctx = macrotaskContext();
 * ctx.post(() => console.log('after pending I/O callbacks'));
 * ```
 */
export class MacrotaskContext extends SynchronizationContext {}

/**
 * A new {@link MacrotaskContext}.
 *
 * @example
 * ```ts
 * import { macrotaskContext } from 'rxtransfer';
 * macrotaskContext().post(() => console.log('next turn'));
 * ```
 */
export function macrotaskContext(): MacrotaskContext {
  return new MacrotaskContext();
}
