import { InvalidOperationError } from './invalid-operation-error.js';

/**
 * What `<name>Completed` carries (E1–E3): how the operation ended, its `userState`, and, for a
 * success, its typed `result` (E2: no cast). Reading `result` after a failure throws the
 * failure; after a cancellation it throws an {@link InvalidOperationError} (E3).
 *
 * @typeParam R - the operation's result type; `void` for operations without one.
 * @example
 * ```ts
 * import { AsyncCompletedEventArgs } from 'rxtransfer';
 * const ok = AsyncCompletedEventArgs.success({ size: 3 }, 'job-1');
 * ok.result.size; // 3, typed as number
 * const cancelled = AsyncCompletedEventArgs.cancellation<{ size: number }>('job-2');
 * cancelled.cancelled; // true; reading cancelled.result throws InvalidOperationError
 * ```
 * @see docs/eap.md
 */
export class AsyncCompletedEventArgs<R = void> {
  /** The failure, or `null` when the operation succeeded or was cancelled. */
  readonly error: Error | null;
  /** True when the operation was cancelled (E10). */
  readonly cancelled: boolean;
  /** The userState given to `<name>Async`, or `undefined`. */
  readonly userState: unknown;
  readonly #result: R | undefined;

  constructor(error: Error | null, cancelled: boolean, userState: unknown, result?: R) {
    this.error = error;
    this.cancelled = cancelled;
    this.userState = userState;
    this.#result = result;
  }

  /** A successful end with `result`. */
  static success<R>(result: R, userState?: unknown): AsyncCompletedEventArgs<R> {
    return new AsyncCompletedEventArgs<R>(null, false, userState, result);
  }

  /** A failed end. */
  static failure<R = void>(error: Error, userState?: unknown): AsyncCompletedEventArgs<R> {
    return new AsyncCompletedEventArgs<R>(error, false, userState);
  }

  /** A cancelled end. */
  static cancellation<R = void>(userState?: unknown): AsyncCompletedEventArgs<R> {
    return new AsyncCompletedEventArgs<R>(null, true, userState);
  }

  /** The operation's result. Throws `error` after a failure, {@link InvalidOperationError} after a cancellation. */
  get result(): R {
    this.raiseExceptionIfNecessary();
    return this.#result as R;
  }

  /** Throws `error` when set, else an {@link InvalidOperationError} when cancelled; otherwise returns. */
  raiseExceptionIfNecessary(): void {
    if (this.error !== null) throw this.error;
    if (this.cancelled) throw new InvalidOperationError('The operation was cancelled; it has no result.');
  }
}
