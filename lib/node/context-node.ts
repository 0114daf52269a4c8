import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { contextSlot, setContextStore, type ContextStore } from '../internal/context/context-store.js';
import type { SynchronizationContext } from '../internal/context/synchronization-context.js';

/**
 * A {@link ContextStore} on Node's `AsyncLocalStorage`: `SynchronizationContext.current` set by
 * `run(ctx, fn)` flows into everything `fn` starts, across awaits, timers and I/O callbacks (C2).
 * A callback posted to a context runs in the asynchronous context of the code that posted it,
 * whatever the batch it runs in, so the app's own `AsyncLocalStorage` values follow it too.
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
    // A posted callback runs in the asynchronous context of the code that posted it: a context
    // runs its callbacks in batches, from the platform task the first post of the batch asked
    // for, and every other AsyncLocalStorage of the app (a request's logger, a trace) would
    // otherwise see that first poster's values.
    // Destroyed by hand once run (a task runs once): AsyncResource.bind's resource is tracked
    // through the garbage collector instead, ~30 µs a post, 40 times the post itself on Node 20.
    bind: (fn) => {
      const resource = new AsyncResource('rxtransfer.post', { requireManualDestroy: true });
      let destroyed = false;
      const release = (): void => {
        if (destroyed) return;
        destroyed = true;
        resource.emitDestroy();
      };
      return Object.assign(
        () => {
          try {
            resource.runInAsyncScope(fn);
          } finally {
            release();
          }
        },
        { release },
      );
    },
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
