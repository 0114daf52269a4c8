import type { TransportRequest } from './transport.js';

/**
 * The run's own abort state: an `AbortController` without the `EventTarget`. A transfer's run
 * is aborted at most once (cancel, a timeout, unsubscribing) and its listeners are the core's
 * own, so it needs none of an `AbortSignal`'s event machinery — which on Node 20 costs several
 * microseconds to create and to listen to, paid on every request (docs/performance.md, item 6).
 * Only the attempt, whose signal is handed to the transport, keeps a real `AbortController`.
 */
export class RunAbort {
  private listeners: Array<(() => void) | undefined> | undefined = [];
  private abortedWith: { reason: unknown } | undefined;

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  /** What `abort()` was first called with; undefined while not aborted. */
  get reason(): unknown {
    return this.abortedWith?.reason;
  }

  /**
   * Aborts with `reason` (without one, an `AbortError` as `AbortController.abort()` gives) and
   * calls every listener once, in the order added; later calls do nothing. A listener removed
   * by an earlier one during the abort is not called, as with `EventTarget`. A listener that
   * throws does not keep the others from running; the first error is thrown once all have run.
   */
  abort(reason?: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason: reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason };
    const listeners = this.listeners!;
    let failure: { error: unknown } | undefined;
    // By index, each slot emptied before its call: a removal during the loop empties its slot
    // (see onAbort) instead of shifting the ones not yet called.
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i];
      if (!listener) continue;
      listeners[i] = undefined;
      try {
        listener();
      } catch (error) {
        failure ??= { error };
      }
    }
    this.listeners = undefined;
    if (failure) throw failure.error;
  }

  /**
   * Calls `listener` once when aborted (never if it already is: check `aborted` first, as with a
   * signal). Returns what removes it.
   */
  onAbort(listener: () => void): () => void {
    if (!this.listeners || this.abortedWith) return noop;
    this.listeners.push(listener);
    return () => {
      const listeners = this.listeners;
      const at = listeners ? listeners.indexOf(listener) : -1;
      if (at < 0) return;
      if (this.abortedWith) listeners![at] = undefined;
      else listeners!.splice(at, 1);
    };
  }
}

function noop(): void {}

/**
 * An attempt's abort. Its `signal`, a real `AbortSignal` for transports that take one, is made
 * only when first read: the Node transport listens here directly (through
 * {@link ATTEMPT_ABORT}) and never reads it, so a request makes no `AbortController` at all.
 */
export class AttemptAbort extends RunAbort {
  private controller: AbortController | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.aborted) controller.abort(this.reason);
      else this.onAbort(() => controller.abort(this.reason));
    }
    return this.controller.signal;
  }
}

/**
 * Where the core's own transports find the attempt's {@link RunAbort} on a `TransportRequest`
 * (not part of the public `Transport` interface: other transports use `request.signal`).
 */
export const ATTEMPT_ABORT: unique symbol = Symbol('rxtransfer.attemptAbort');

/** A `TransportRequest` as the core builds it. */
export interface WithAttemptAbort {
  readonly [ATTEMPT_ABORT]?: RunAbort;
}

/**
 * Completes a request with its attempt's abort: `signal`, an enumerable getter (so that a request
 * copied with `{ ...request }` still has it) that makes the `AbortSignal` when first read, and
 * {@link ATTEMPT_ABORT}, not enumerable (a wrapper that copies the request to give it a signal of
 * its own, `{ ...request, signal }`, must not keep the shortcut past its signal).
 *
 * The getter is one function for every request, finding the attempt on the request it is read
 * from: an object literal's `get signal()` closing over the attempt is a new accessor per request,
 * which V8 cannot share a hidden class for, and leaves every request in slow dictionary mode.
 */
export function withAttemptAbort(request: Omit<TransportRequest, 'signal'>, attempt: AttemptAbort): TransportRequest & WithAttemptAbort {
  Object.defineProperty(request, ATTEMPT_ABORT, { value: attempt });
  Object.defineProperty(request, 'signal', SIGNAL_OF_ATTEMPT);
  return request as TransportRequest & WithAttemptAbort;
}

const SIGNAL_OF_ATTEMPT: PropertyDescriptor = {
  get(this: WithAttemptAbort): AbortSignal {
    return (this[ATTEMPT_ABORT] as AttemptAbort).signal;
  },
  enumerable: true,
  configurable: true,
};
