import { AsyncLocalStorage } from 'node:async_hooks';
import { contextSlot, setContextStore, type ContextStore } from '../internal/context/context-store.js';
import type { SynchronizationContext } from '../internal/context/synchronization-context.js';

/**
 * A {@link ContextStore} on Node's `AsyncLocalStorage`: `SynchronizationContext.current` set by
 * `run(ctx, fn)` flows into everything `fn` starts, across awaits, timers and I/O callbacks (C2).
 *
 * @example
 * ```ts
 * import { setContextStore } from 'rxtransfer';
 * import { asyncLocalContextStore } from 'rxtransfer/node';
 * setContextStore(asyncLocalContextStore());
 * ```
 */
export function asyncLocalContextStore(): ContextStore {
  const storage = new AsyncLocalStorage<SynchronizationContext | undefined>();
  return {
    get: () => storage.getStore(),
    run: (context, fn) => storage.run(context, fn),
  };
}

/**
 * Installs {@link asyncLocalContextStore} as the context store, once; the Node entry calls it.
 * Returns the store it installed. Calling it again changes nothing: a store set later with
 * `setContextStore` stays in force (pass the returned store to `setContextStore` to go back).
 *
 * @example
 * ```ts
 * import { installNodeContextStore } from 'rxtransfer/node';
 * installNodeContextStore();
 * ```
 */
export function installNodeContextStore(): ContextStore {
  // Once per process, whichever copy of the package comes first (see `contextSlot`).
  if (contextSlot.node) return contextSlot.node;
  contextSlot.node = asyncLocalContextStore();
  setContextStore(contextSlot.node);
  return contextSlot.node;
}
