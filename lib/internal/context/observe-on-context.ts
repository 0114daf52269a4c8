import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { SynchronizationContext } from './synchronization-context.js';

/**
 * Re-emits every notification through `context.post`, in order (C1, G7): the `observeOn` of
 * synchronization contexts. The source is subscribed in `context.runOutside`, so with a zone
 * context the transfer's own work stays outside the zone and only deliveries enter it.
 * Unsubscribing drops notifications still waiting in the context.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { observeOnContext, animationFrameContext } from 'rxtransfer';
 * of(10, 50, 100).pipe(observeOnContext(animationFrameContext())).subscribe((p) => console.log(p));
 * ```
 */
export function observeOnContext<T>(context: SynchronizationContext): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let active = true;
      const deliver = (notify: () => void): void =>
        context.post(() => {
          if (active) notify();
        });
      const subscription = context.runOutside(() =>
        source.subscribe({
          next: (value) => deliver(() => subscriber.next(value)),
          error: (error: unknown) => deliver(() => subscriber.error(error)),
          complete: () => deliver(() => subscriber.complete()),
        }),
      );
      return () => {
        active = false;
        subscription.unsubscribe();
      };
    });
}
