import { reportUnhandledError } from '../context/report-error.js';

/** An event handler: receives the event's args; `this` is the component. */
export type EapHandler<A> = (args: A) => void;

/**
 * Named events with handlers, subscribed with `on`/`off` (jQuery-style), `addEventListener`/
 * `removeEventListener` (DOM-style) or `addListener`/`removeListener` (Node-style), so RxJS
 * `fromEvent` works whichever it looks for. A handler is registered once per event (as in the
 * DOM). Raising calls a snapshot of the handlers; one that throws is reported and the others
 * still run (C6).
 *
 * @typeParam M - event name to args type.
 * @example
 * ```ts
 * import { EapEventSource } from 'rxtransfer';
 * const events = new EapEventSource<{ tick: number }>();
 * events.on('tick', (n) => console.log(n));
 * ```
 */
export class EapEventSource<M extends object> {
  readonly #handlers = new Map<string, Set<EapHandler<never>>>();

  /** Adds `handler` to event `name`. Returns `this` for chaining. */
  on<E extends keyof M & string>(name: E, handler: EapHandler<M[E]>): this {
    if (typeof handler !== 'function') throw new TypeError(`handler for "${name}" must be a function`);
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, (set = new Set()));
    set.add(handler as EapHandler<never>);
    return this;
  }

  /** Removes `handler` from event `name`; unknown handlers are ignored. */
  off<E extends keyof M & string>(name: E, handler: EapHandler<M[E]>): this {
    this.#handlers.get(name)?.delete(handler as EapHandler<never>);
    return this;
  }

  /** DOM-style alias of {@link EapEventSource.on}. */
  addEventListener<E extends keyof M & string>(name: E, handler: EapHandler<M[E]>): void {
    this.on(name, handler);
  }

  /** DOM-style alias of {@link EapEventSource.off}. */
  removeEventListener<E extends keyof M & string>(name: E, handler: EapHandler<M[E]>): void {
    this.off(name, handler);
  }

  /** Node-style alias of {@link EapEventSource.on}. */
  addListener<E extends keyof M & string>(name: E, handler: EapHandler<M[E]>): this {
    return this.on(name, handler);
  }

  /** Node-style alias of {@link EapEventSource.off}. */
  removeListener<E extends keyof M & string>(name: E, handler: EapHandler<M[E]>): this {
    return this.off(name, handler);
  }

  /** Number of handlers of event `name`. */
  listenerCount(name: keyof M & string): number {
    return this.#handlers.get(name)?.size ?? 0;
  }

  /** Calls every handler of `name` with `args`, each guarded (C6). */
  protected raise<E extends keyof M & string>(name: E, args: M[E]): void {
    const set = this.#handlers.get(name);
    if (!set || set.size === 0) return;
    for (const handler of [...set] as EapHandler<M[E]>[]) {
      try {
        handler.call(this, args);
      } catch (error) {
        reportUnhandledError(error);
      }
    }
  }
}
