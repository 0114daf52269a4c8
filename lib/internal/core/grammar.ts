import { Observable, Subscription, type OperatorFunction } from 'rxjs';
import type { TransferEvent, TransferProgress } from './events.js';
import { type TransferError, isTransferError } from './errors/transfer-error.js';
import { NetworkError } from './errors/network-error.js';
import { redactText } from './redact.js';

/** Wraps anything thrown into a {@link TransferError}, keeping TransferErrors as they are (G8). */
export function toTransferError(error: unknown, context: { url?: string; method?: string } = {}): TransferError {
  if (isTransferError(error)) return error;
  // Someone else's words, which may quote the URL with its credentials (G11: never in a message).
  const message = redactText(error instanceof Error ? error.message : String(error));
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return new NetworkError(`transfer failed: ${message}`, typeof code === 'string' ? code : undefined, { ...context, cause: error });
}

/**
 * The one place that enforces the grammar on what reaches the subscriber, whatever happened
 * underneath: exactly one end (G2), nothing after it (G3), `done` immediately followed by
 * `complete`, progress per direction never going back and no upload after download (G4),
 * and every error a {@link TransferError}. A source that completes without `done` ends in an
 * error, never in silence.
 */
export function enforceGrammar<R>(context: { url?: string; method?: string } = {}): OperatorFunction<TransferEvent<R>, TransferEvent<R>> {
  return (source) =>
    new Observable<TransferEvent<R>>((subscriber) => {
      let ended = false;
      let downloading = false;
      const last: Record<string, TransferProgress | undefined> = {};
      const shownPercent: Record<string, number | undefined> = {};
      const inner = new Subscription();
      const end = () => {
        ended = true;
        inner.unsubscribe();
      };
      inner.add(source.subscribe({
        next(event) {
          if (ended) return;
          if (event.type === 'done') {
            end();
            subscriber.next(event);
            subscriber.complete();
            return;
          }
          if (event.type !== 'progress') return;
          if (event.direction === 'upload' && downloading) return;
          if (event.direction === 'download') downloading = true;
          const before = last[event.direction];
          // A percent never goes below one already shown; an event without one (the total became
          // unknown, say the resource changed on a retry) is not a step back.
          if (before && (event.loaded < before.loaded || (event.percent !== undefined && event.percent < (shownPercent[event.direction] ?? 0)))) return;
          if (event.total !== undefined && event.loaded > event.total) return;
          // `delta` counts from the last event the subscriber saw, also when one was dropped above.
          const delta = before ? event.loaded - before.loaded : event.delta >= 0 && event.delta <= event.loaded ? event.delta : 0;
          const forwarded = delta === event.delta ? event : { ...event, delta };
          last[event.direction] = forwarded;
          if (forwarded.percent !== undefined) shownPercent[event.direction] = Math.max(shownPercent[event.direction] ?? 0, forwarded.percent);
          subscriber.next(forwarded);
        },
        error(error) {
          if (ended) return;
          end();
          subscriber.error(toTransferError(error, context));
        },
        complete() {
          if (ended) return;
          end();
          subscriber.error(new NetworkError('transfer ended without a result', undefined, context));
        },
      }));
      return () => {
        ended = true;
        inner.unsubscribe();
      };
    });
}
