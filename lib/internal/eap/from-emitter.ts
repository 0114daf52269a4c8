/* eslint-disable @typescript-eslint/no-explicit-any -- emitter events carry anything */
import { Observable } from 'rxjs';
import { reportUnhandledError } from '../context/report-error.js';
import { CancelledError } from '../core/errors/cancelled-error.js';
import { IntegrityError } from '../core/errors/integrity-error.js';
import { TimeoutError } from '../core/errors/timeout-error.js';
import { TransferError, type TransferErrorContext } from '../core/errors/transfer-error.js';
import type { Transfer, TransferDirection, TransferEvent } from '../core/events.js';
import { listen, type EventSourceLike } from './event-target-like.js';
import { ForeignProgress, type ProgressReading } from './foreign-progress.js';
import { HeldNotifications } from './held-notifications.js';
import { toTransferError } from './to-transfer-error.js';

/** How {@link fromEmitter} drives and reads an event-emitting component. */
export interface FromEmitterOptions<C, R> {
  /**
   * Starts the work. May return a promise: a rejection before the end becomes the error. A
   * synchronous throw, here or in `create`, is the caller's mistake: a `TransferError` of code
   * `'invalid'`, told after `subscribe()` returns. Events emitted inside it are told after
   * `subscribe()` returns too, in order (G7).
   */
  readonly start: (component: C) => unknown;
  /**
   * Stops the work; called when the subscriber unsubscribes before the end (G6), and when the
   * transfer ends while the component may still run: its `timeout` event, or a `progress.read`
   * that throws.
   */
  readonly stop?: (component: C) => unknown;
  /** The success event, and how to read the result from its arguments (may throw: that becomes the error). */
  readonly end: { readonly event: string; readonly result: (...args: any[]) => R };
  /** The failure event. Default `'error'`. */
  readonly errorEvent?: string;
  /** The progress event and how to read byte counts from its arguments. */
  readonly progress?: { readonly event: string; readonly read: (...args: any[]) => ProgressReading };
  /** Events meaning the component stopped on its own: they end in `CancelledError`. */
  readonly stopEvents?: readonly string[];
  /**
   * An event meaning the component timed out (idle), ending in `TimeoutError`, and its delay when
   * known. The component is then stopped: a timeout event often only reports (Node's
   * `ClientRequest` `'timeout'` leaves the request to be destroyed).
   */
  readonly timeout?: { readonly event: string; readonly ms?: number };
  /** Which way the bytes move. Default `'download'`. */
  readonly direction?: TransferDirection;
  /** The URL and method, for error messages. */
  readonly url?: string;
  readonly method?: string;
}

/**
 * A Node-style event-emitting component (a download helper, an uploader) as a transfer. The
 * component is made per subscription by `create` (cold, G1); its progress event becomes
 * progress events (G4), its end event `done`, its error event a `TransferError`; unsubscribing
 * calls `stop` (G6). Works with any `on`/`off`, `addListener`/`removeListener` or
 * `addEventListener`/`removeEventListener` pair: no Node import.
 *
 * A byte count below a known total at the end is an `IntegrityError` (G5). After the end or an
 * unsubscribe, a late `errorEvent` from the component is swallowed rather than crashing the
 * process (Node throws `'error'` events nobody listens to).
 *
 * @example
 * ```ts
 * import { EventEmitter } from 'node:events';
 * import { fromEmitter } from 'rxtransfer';
 * const job = fromEmitter(() => new EventEmitter(), {
 *   start: (c) => setTimeout(() => c.emit('end', 'ok'), 0),
 *   end: { event: 'end', result: (value: string) => value },
 * });
 * job.subscribe((e) => console.log(e.type));
 * ```
 */
export function fromEmitter<C extends EventSourceLike, R>(create: () => C, options: FromEmitterOptions<C, R>): Transfer<R> {
  return new Observable<TransferEvent<R>>((subscriber) => {
    const context: TransferErrorContext = { url: options.url, method: options.method };
    const direction = options.direction ?? 'download';
    const errorEvent = options.errorEvent ?? 'error';
    const progress = new ForeignProgress();
    const removers: (() => void)[] = [];
    let component: C | undefined;
    let ended = false;
    // What the component emits inside `create` or `start`, hence inside subscribe(), is held and
    // told once subscribe() has returned, in order, before anything it emits later (G7); a stop
    // decided meanwhile waits for `start` to return, so the component has started what it stops.
    const held = new HeldNotifications();
    let starting = false;
    let stopOnReturn = false;
    const tell = (notify: () => void): void => held.tell(notify);
    const end = (): void => {
      ended = true;
      for (const remove of removers.splice(0)) remove();
      try {
        if (component) listen(component, errorEvent, swallow); // see the TSDoc: late errors must not crash
      } catch {
        // A component without listener methods: it was refused below, and emits nothing.
      }
    };
    const fail = (error: unknown): void => {
      if (ended) return;
      end();
      const failure = toTransferError(error, context);
      tell(() => subscriber.error(failure));
    };
    const on = (name: string, handler: (...args: any[]) => void): void => {
      removers.push(listen(component as C, name, handler));
    };
    try {
      component = create();
      if (options.progress) {
        const { event, read } = options.progress;
        on(event, (...args) => {
          if (ended) return;
          try {
            const next = progress.update(direction, read(...args));
            if (next) tell(() => subscriber.next(next));
          } catch (error) {
            // The adapter failed, not the component, which is still running: stopped as an
            // unsubscribe would stop it, so that it does not go on after the Observable has ended.
            fail(error);
            stop();
          }
        });
      }
      on(options.end.event, (...args) => {
        if (ended) return;
        let result: R;
        try {
          result = options.end.result(...args);
        } catch (error) {
          return fail(error);
        }
        const check = progress.finish(direction, false);
        if (check.kind === 'short') return fail(new IntegrityError('truncated', `ended after ${check.loaded} of ${check.total} bytes`, context));
        end();
        tell(() => {
          subscriber.next({ type: 'done', result });
          subscriber.complete();
        });
      });
      on(errorEvent, (error: unknown) => fail(error));
      for (const name of options.stopEvents ?? []) on(name, () => fail(new CancelledError(context, `the component stopped (${name})`)));
      if (options.timeout) {
        const { event, ms } = options.timeout;
        on(event, () => {
          if (ended) return;
          fail(new TimeoutError('idle', ms ?? 0, context));
          stop();
        });
      }
      starting = true;
      let started: unknown;
      try {
        started = options.start(component);
      } finally {
        starting = false;
        // Also when start then threw: what it had emitted progress for is stopped.
        if (stopOnReturn) stop();
      }
      settle(started, fail);
    } catch (error) {
      // `create`, the component's listener methods or `start` threw: the caller's mistake (a bad
      // URL or folder handed to the component), not the network's, so never retried; told after
      // subscribe() returns, as every end is (G7, G8), as fromXhr does.
      if (!ended) {
        const message = (error as { message?: unknown } | undefined)?.message;
        const refused = new TransferError('invalid', `fromEmitter: the component could not be started: ${typeof message === 'string' ? message : String(error)}`, { ...context, cause: error });
        end();
        tell(() => subscriber.error(refused));
      }
    }
    held.release();
    function stop(): void {
      if (starting) {
        stopOnReturn = true;
        return;
      }
      try {
        if (options.stop && component) settle(options.stop(component), reportUnhandledError);
      } catch (error) {
        reportUnhandledError(error);
      }
    }
    return () => {
      if (ended || !component) return;
      end();
      stop();
    };
  });
}

function swallow(): void {
  // Intentionally empty: the subscriber has its end already.
}

function settle(value: unknown, onRejected: (error: unknown) => void): void {
  if (typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function') {
    (value as PromiseLike<unknown>).then(undefined, onRejected);
  }
}
