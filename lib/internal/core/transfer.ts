import { Observable, observeOn, type SchedulerLike } from 'rxjs';
import type { Transfer, TransferEvent } from './events.js';
import { TransferError } from './errors/transfer-error.js';
import { normalizeOptions, type DownloadOptions, type NormalizedOptions, type UploadOptions } from './options.js';
import { normalizeBody, type NormalizedBody } from './body.js';
import type { Platform } from './platform.js';
import { enforceGrammar } from './grammar.js';
import { redactUrl } from './redact.js';
import { TransferRun } from './transfer-run.js';
import { isContextScheduler } from '../context/context-scheduler.js';

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
    return scheduler ? failing.pipe(observeOn(scheduler)) : failing;
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
  const delivered = cold.pipe(observeOn(scheduler));
  if (!isContextScheduler(scheduler)) return delivered;
  // A context's scheduler (an Angular zone's): the transfer's own work — its requests, progress
  // and timers — starts outside the context, which is entered only to deliver (C3).
  return new Observable<TransferEvent<R>>((subscriber) => scheduler.context.runOutside(() => delivered.subscribe(subscriber)));
}

