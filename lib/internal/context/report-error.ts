import { config } from 'rxjs';

/**
 * Reports an error nobody can catch any more, such as one thrown by an event handler that a
 * context ran (C6). It goes to RxJS's `config.onUnhandledError` when one is set, as RxJS
 * reports its own; otherwise it is rethrown on a fresh macrotask, where the platform's reporter
 * (`uncaughtException`, `window.onerror`) sees it. Either way the caller carries on.
 *
 * @example
 * ```ts
 * import { config } from 'rxjs';
 * import { reportUnhandledError } from 'rxtransfer';
 * const seen: unknown[] = [];
 * const previous = config.onUnhandledError;
 * config.onUnhandledError = (e) => seen.push(e);
 * reportUnhandledError(new Error('handler failed'));
 * config.onUnhandledError = previous;
 * ```
 */
export function reportUnhandledError(error: unknown): void {
  const handler = config.onUnhandledError;
  if (handler) {
    try {
      handler(error);
      return;
    } catch (handlerError) {
      error = handlerError;
    }
  }
  // Rethrowing later is the reporting mechanism itself: the platform sees an uncaught error,
  // and the code that called us is not interrupted.
  setTimeout(() => {
    throw error;
  }, 0);
}
