import { Observable, takeWhile, type MonoTypeOperatorFunction } from 'rxjs';
import type { SynchronizationContext } from './synchronization-context.js';

/**
 * Re-emits every notification through `context.post`, in order (C1, G7): the `observeOn` of
 * synchronization contexts. The source is subscribed in `context.runOutside`, so with a zone
 * context the transfer's own work stays outside the zone and only deliveries enter it.
 * Unsubscribing drops notifications still waiting in the context. A post the context refuses
 * (its `post` throws) ends the stream with that error, at once, as `observeOn` does.
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
      // Set as soon as the consumer lets go, also while the source is still inside subscribe():
      // a synchronous source on a synchronous context then stops, as with observeOn.
      subscriber.add(() => {
        active = false;
      });
      const deliver = (notify: () => void): void => {
        if (!active) return;
        try {
          context.post(() => {
            if (active) notify();
          });
        } catch (error) {
          // The context refused the post: the stream ends now with that error, as observeOn's
          // does when its scheduler throws, rather than never (G2); what it still holds is dropped.
          active = false;
          subscriber.error(error);
        }
      };
      const subscription = context.runOutside(() =>
        source.pipe(takeWhile(() => active)).subscribe({
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
