import { EMPTY, Observable, catchError, defer, observeOn, tap, throwError, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Transfer, TransferEvent } from './events.js';
import { TransferError, isTransferError } from './errors/transfer-error.js';
import { normalizeOptions, type DownloadOptions, type NormalizedOptions, type UploadOptions } from './options.js';
import { normalizeBody, type NormalizedBody } from './body.js';
import type { Platform } from './platform.js';
import { enforceGrammar } from './grammar.js';
import { redactText, redactUrl } from './redact.js';
import { TransferRun } from './transfer-run.js';
import { isContextScheduler } from '../context/context-scheduler.js';
import { reportUnhandledError } from '../context/report-error.js';

/**
 * Builds the cold Observable of one transfer. Validation happens here, once; everything
 * else happens per subscription in {@link TransferRun}.
 */
export function createTransfer<R>(
  platform: Platform,
  kind: 'download' | 'upload',
  url: unknown,
  body: unknown,
  options: DownloadOptions | UploadOptions | undefined,
): Transfer<R> {
  let normalized: NormalizedOptions | string;
  let normalizedBody: NormalizedBody | string | undefined;
  try {
    normalized = normalizeOptions(kind, url, (options ?? {}) as DownloadOptions & UploadOptions);
    normalizedBody = kind === 'upload' ? normalizeBody(body) : undefined;
  } catch (error) {
    normalized = `options could not be read: ${error instanceof Error ? error.message : String(error)}`;
  }
  const givenMethod = (() => {
    try {
      const m = (options as { method?: unknown } | undefined)?.method;
      return typeof m === 'string' ? m.toUpperCase().slice(0, 20) : kind === 'download' ? 'GET' : 'POST';
    } catch {
      return undefined;
    }
  })();
  const context = typeof normalized === 'string'
    ? { url: typeof url === 'string' || url instanceof URL ? redactUrl(url) : undefined, method: givenMethod }
    : { url: normalized.safeUrl, method: normalized.method };
  const problem = typeof normalized === 'string' ? normalized : typeof normalizedBody === 'string' ? normalizedBody : undefined;
  if (problem !== undefined || typeof normalized === 'string') {
    const error = new TransferError('invalid', problem ?? 'invalid options', context);
    // Read once more, guarded: the options that failed may be the ones that throw when read (G8).
    let scheduler: SchedulerLike | undefined;
    try {
      const candidate = (options as { scheduler?: SchedulerLike } | undefined)?.scheduler;
      scheduler = typeof candidate?.schedule === 'function' ? candidate : undefined;
    } catch {
      scheduler = undefined;
    }
    const failing = new Observable<TransferEvent<R>>((subscriber) => {
      let live = true;
      void Promise.resolve().then(() => live && subscriber.error(error));
      return () => {
        live = false;
      };
    });
    return scheduler ? failing.pipe(deliverOn(scheduler, context)) : failing;
  }
  const n = normalized;
  const b = normalizedBody as NormalizedBody | undefined;
  const cold = new Observable<TransferEvent<R>>((subscriber) => {
    const run = new TransferRun<R>(platform, n, b, subscriber);
    run.start();
    return () => run.unsubscribe();
  }).pipe(enforceGrammar<R>(context));
  const scheduler = n.scheduler;
  if (!scheduler) return cold;
  const delivered = cold.pipe(deliverOn(scheduler, context));
  if (!isContextScheduler(scheduler)) return delivered;
  // A context's scheduler (an Angular zone's): the transfer's own work — its requests, progress
  // and timers — starts outside the context, which is entered only to deliver (C3).
  return new Observable<TransferEvent<R>>((subscriber) => {
    let subscribed = false;
    try {
      scheduler.context.runOutside(() => {
        subscribed = true;
        subscriber.add(delivered.subscribe(subscriber));
      });
    } catch (error) {
      // A zone whose `runOutsideAngular` throws: reported (C6), and the transfer is started here
      // instead, not ended by an error thrown inside subscribe() (G7, G8).
      reportUnhandledError(error);
      if (!subscribed) subscriber.add(delivered.subscribe(subscriber));
    }
  });
}

/**
 * `observeOn(scheduler)`, and a scheduler that throws while scheduling a delivery (a context that
 * refuses its post: see docs/contexts.md, C4) ends the transfer with a TransferError of code
 * `'invalid'` (G2, G8), not with what it threw; `observeOn` then unsubscribes, which aborts the
 * request (G6). Refusing the transfer's own error delivers that error instead; refusing the
 * `complete` after a delivered `done` completes: one end, whatever the scheduler refuses.
 */
function deliverOn<R>(scheduler: SchedulerLike, context: { url?: string | undefined; method?: string | undefined }): OperatorFunction<TransferEvent<R>, TransferEvent<R>> {
  return (source) =>
    defer(() => {
      // What the transfer ended with, before the scheduler; and whether its `done` got through.
      let failure: { error: unknown } | undefined;
      let delivered = false;
      return source.pipe(
        tap({ error: (error: unknown) => void (failure = { error }) }),
        observeOn(scheduler),
        tap((event) => void (delivered ||= event.type === 'done')),
        catchError((error: unknown) => {
          // The `done` went out and only its `complete` could not be scheduled: complete (G2).
          if (delivered) return EMPTY;
          // The transfer's own error (delivered, or refused by the scheduler): that error, not the refusal.
          if (failure) return throwError(() => failure!.error);
          return throwError(() => isTransferError(error) ? error : new TransferError('invalid', `the scheduler threw: ${redactText(error instanceof Error ? error.message : String(error))}`, { ...context, cause: error }));
        }),
      );
    });
}
