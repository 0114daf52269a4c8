/* eslint-disable @typescript-eslint/no-explicit-any -- listeners of foreign components take anything */

/** A component with events: jQuery-style `on`/`off`, DOM-style or Node-style listener methods. */
export interface EventSourceLike {
  on?(name: string, handler: (...args: any[]) => void): unknown;
  off?(name: string, handler: (...args: any[]) => void): unknown;
  addEventListener?(name: string, handler: (...args: any[]) => void): unknown;
  removeEventListener?(name: string, handler: (...args: any[]) => void): unknown;
  addListener?(name: string, handler: (...args: any[]) => void): unknown;
  removeListener?(name: string, handler: (...args: any[]) => void): unknown;
}

/**
 * Adds `handler` to event `name` of `source` with whichever pair of methods it has (DOM-style
 * first, then `on`/`off`, then Node-style), and returns the function that removes it.
 * @internal
 */
export function listen(source: EventSourceLike, name: string, handler: (...args: any[]) => void): () => void {
  if (typeof source.addEventListener === 'function' && typeof source.removeEventListener === 'function') {
    source.addEventListener(name, handler);
    return () => source.removeEventListener?.(name, handler);
  }
  if (typeof source.on === 'function' && typeof source.off === 'function') {
    source.on(name, handler);
    return () => source.off?.(name, handler);
  }
  if (typeof source.addListener === 'function' && typeof source.removeListener === 'function') {
    source.addListener(name, handler);
    return () => source.removeListener?.(name, handler);
  }
  throw new TypeError(`cannot listen to "${name}": the component has no on/off, addEventListener/removeEventListener or addListener/removeListener`);
}
