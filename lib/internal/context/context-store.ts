import type { SynchronizationContext } from './synchronization-context.js';

/**
 * Where {@link SynchronizationContext.current} lives. The neutral default is a plain stack,
 * which sees `run(ctx, fn)` only while `fn` runs synchronously. On Node, the Node entry
 * installs a store on `AsyncLocalStorage`, so `current` also flows across awaits and timers
 * (C2).
 *
 * @example
 * ```ts
 * import { setContextStore, stackContextStore } from 'rxtransfer';
 * setContextStore(stackContextStore()); // back to the platform-neutral default
 * ```
 */
export interface ContextStore {
  /** The context in force here, or `undefined` for the free-threaded default. */
  get(): SynchronizationContext | undefined;
  /** Runs `fn` with `context` in force, and returns what `fn` returns. */
  run<T>(context: SynchronizationContext | undefined, fn: () => T): T;
  /**
   * Optional: `fn` bound to the caller's asynchronous context, so that it runs later in the
   * context of the code that posted it, not in that of whichever post started its batch (a
   * store on Node's `AsyncLocalStorage` binds it, as .NET flows its ExecutionContext into a post).
   */
  bind?(fn: () => void): BoundTask;
}

/** A callback bound by {@link ContextStore.bind}: run it once, or `release()` it if it never will be. */
export interface BoundTask {
  (): void;
  /** Lets go of what binding holds (a Node `AsyncResource`) for a task that will never run. */
  release?(): void;
}

/**
 * A {@link ContextStore} on a plain stack: `run` pushes, calls `fn`, and pops, even when `fn`
 * throws. It does not follow awaits or timers; callbacks posted to a context still see it,
 * because every built-in context runs its callbacks inside `run`.
 *
 * @example
 * ```ts
 * import { stackContextStore, microtaskContext } from 'rxtransfer';
 * const store = stackContextStore();
 * const ctx = microtaskContext();
 * store.run(ctx, () => store.get() === ctx); // true
 * ```
 */
export function stackContextStore(): ContextStore {
  const stack: (SynchronizationContext | undefined)[] = [];
  return {
    get: () => (stack.length === 0 ? undefined : stack[stack.length - 1]),
    run<T>(context: SynchronizationContext | undefined, fn: () => T): T {
      stack.push(context);
      try {
        return fn();
      } finally {
        stack.pop();
      }
    },
  };
}

/**
 * The store in force, and the Node entry's store once installed (see `installNodeContextStore`).
 * Kept on `globalThis`, so that two copies of the package in one process (its ESM and CommonJS
 * builds, two versions) share one `SynchronizationContext.current`: an operation started through
 * one copy inside `SynchronizationContext.run(ctx, …)` of the other still captures `ctx` (E11).
 */
export const contextSlot: { store: ContextStore; node?: ContextStore } = ((globalThis as Record<symbol, unknown>)[Symbol.for('rxtransfer.contextStore')] ??= {
  store: stackContextStore(),
}) as { store: ContextStore; node?: ContextStore };

/**
 * Installs the store that holds {@link SynchronizationContext.current}, and returns the one it
 * replaces. `undefined` restores a fresh plain stack. The Node entry calls it once with
 * `asyncLocalContextStore()`; tests may swap stores and restore the previous one.
 *
 * @example
 * ```ts
 * import { setContextStore, stackContextStore } from 'rxtransfer';
 * const previous = setContextStore(stackContextStore());
 * setContextStore(previous);
 * ```
 */
export function setContextStore(store: ContextStore | undefined): ContextStore {
  const previous = contextSlot.store;
  contextSlot.store = store ?? stackContextStore();
  return previous;
}

/**
 * The store in force (see {@link setContextStore}).
 *
 * @example
 * ```ts
 * import { getContextStore } from 'rxtransfer';
 * const ctx = getContextStore().get(); // undefined outside any SynchronizationContext.run
 * ```
 */
export function getContextStore(): ContextStore {
  return contextSlot.store;
}
