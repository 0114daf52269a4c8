import { asyncScheduler, isObservable, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { reportUnhandledError } from '../context/report-error.js';
import { SynchronizationContext } from '../context/synchronization-context.js';
import { TimeoutError } from '../core/errors/timeout-error.js';
import { TransferError } from '../core/errors/transfer-error.js';
import { scheduleAfter } from '../core/schedule-after.js';
import type { TransferEvent, TransferProgress } from '../core/events.js';
import { AsyncCompletedEventArgs } from './async-completed-event-args.js';
import { AsyncOperationManager, type AsyncOperation } from './async-operation.js';
import { EapEventSource } from './eap-event-source.js';
import { InvalidOperationError } from './invalid-operation-error.js';
import { TransferProgressChangedEventArgs } from './progress-changed-event-args.js';
import { toError } from './to-transfer-error.js';
import type { EapComponent, EapEventMap, EapMode, TransferFactories, TransferFactory } from './to-eap-types.js';

/** Options of {@link toEap}. */
export interface ToEapOptions<F extends TransferFactories, M extends EapMode> {
  /** `'multiple'` (default): concurrent operations told apart by userState. `'single'`: one at a time, with `isBusy`. */
  readonly mode?: M;
  /** Milliseconds an operation may take before it completes with a `TimeoutError` (E5). */
  readonly timeout?: number;
  /** Measures `timeout`. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /**
   * How many arguments each factory takes, when its `length` does not say (default parameter
   * values, destructuring with defaults). `<name>Async` reads its userState after them.
   */
  readonly arity?: { readonly [K in keyof F]?: number };
}

type Outcome = { readonly kind: 'done'; readonly result: unknown } | { readonly kind: 'error'; readonly error: Error } | { readonly kind: 'cancelled' };

interface PendingOperation {
  readonly name: string;
  readonly userState: unknown;
  readonly operation: AsyncOperation;
  settled: boolean;
  /** Its Completed was raised: a ProgressChanged still waiting in the context is dropped (E9). */
  raised: boolean;
  subscription: Subscription | undefined;
  timer: Subscription | undefined;
}

/**
 * Turns transfer factories into a classic EAP component (§2 of the contract): for each
 * `name`, a `<name>Async(...args, userState?)` method and `<name>Completed` /
 * `<name>ProgressChanged` events, plus `progressChanged`, `cancelAsync(userState?)` shared by
 * all operations, and `isBusy` in single mode. Events are raised through the
 * {@link SynchronizationContext} in force when `<name>Async` was called (E11).
 *
 * @example
 * ```ts
 * import { Observable } from 'rxjs';
 * import { toEap, type Transfer } from 'rxtransfer';
 * const fetchText = (text: string): Transfer<string> =>
 *   new Observable((s) => {
 *     s.next({ type: 'progress', direction: 'download', loaded: text.length, delta: text.length, total: text.length, percent: 100, attempt: 1 });
 *     s.next({ type: 'done', result: text });
 *     s.complete();
 *   });
 * const client = toEap({ fetchText });
 * client.on('fetchTextCompleted', (e) => {
 *   if (!e.error && !e.cancelled) console.log(e.result.toUpperCase()); // e.result is a string
 * });
 * client.fetchTextAsync('hello', 'job-1');
 * ```
 * @see docs/eap.md
 */
export function toEap<F extends TransferFactories, M extends EapMode = 'multiple'>(
  factories: F,
  options: ToEapOptions<F, M> = {},
): EapComponent<F, M> {
  return new TransferEapComponent(factories, options) as unknown as EapComponent<F, M>;
}

class TransferEapComponent extends EapEventSource<EapEventMap<TransferFactories>> {
  readonly #single: boolean;
  readonly #timeout: number | undefined;
  readonly #scheduler: SchedulerLike;
  readonly #pending: PendingOperation[] = [];
  #busy = false;

  constructor(factories: TransferFactories, options: ToEapOptions<TransferFactories, EapMode>) {
    super();
    this.#single = options.mode === 'single';
    if (options.mode !== undefined && options.mode !== 'single' && options.mode !== 'multiple') {
      throw new TypeError(`toEap: mode must be 'single' or 'multiple', not ${String(options.mode)}`);
    }
    const timeout = options.timeout;
    if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout))) {
      throw new TypeError(`toEap: timeout must be a positive number of milliseconds, not ${String(timeout)}`);
    }
    this.#timeout = timeout;
    this.#scheduler = options.scheduler ?? asyncScheduler;
    for (const [name, factory] of Object.entries(factories)) {
      const arity = options.arity?.[name];
      if (arity !== undefined && !(Number.isInteger(arity) && arity >= 0)) throw new TypeError(`toEap: arity of ${name} must be a whole number of arguments, not ${String(arity)}`);
      this.#define(name, factory, arity ?? factory.length);
    }
    if (this.#single) Object.defineProperty(this, 'isBusy', { get: () => this.#busy, enumerable: true });
  }

  cancelAsync(...args: [userState?: unknown]): void {
    try {
      const userState = args[0];
      for (const record of [...this.#pending]) {
        // No userState (undefined, or null as .NET says none): the one in progress in single
        // mode, else the ones started without a userState.
        const matches = isNone(userState) ? this.#single || isNone(record.userState) : Object.is(record.userState, userState);
        if (matches) this.#settle(record, { kind: 'cancelled' });
      }
    } catch (error) {
      reportUnhandledError(error); // E10: cancelAsync never throws
    }
  }

  cancelAllAsync(): void {
    try {
      for (const record of [...this.#pending]) this.#settle(record, { kind: 'cancelled' });
    } catch (error) {
      reportUnhandledError(error);
    }
  }

  #define(name: string, factory: TransferFactory, arity: number): void {
    const methodName = `${name}Async`;
    if (typeof factory !== 'function') throw new TypeError(`toEap: "${name}" must be a function returning a transfer`);
    if (methodName in this || `${name}Completed` === 'progressChanged') throw new TypeError(`toEap: an operation cannot be named "${name}"`);
    const method = (...args: unknown[]): void => {
      const hasState = args.length > arity;
      this.#start(name, factory, hasState ? args.slice(0, -1) : args, hasState ? args[args.length - 1] : undefined);
    };
    Object.defineProperty(method, 'name', { value: methodName });
    Object.defineProperty(method, 'length', { value: arity + 1 }); // the factory's arguments, then the userState
    Object.defineProperty(this, methodName, { value: method, enumerable: true });
  }

  #start(name: string, factory: TransferFactory, args: unknown[], userState: unknown): void {
    if (this.#single && this.#busy) {
      throw new InvalidOperationError(`${name}Async: this component runs one operation at a time and one is in progress (see isBusy).`);
    }
    if (!this.#single && !isNone(userState) && this.#pending.some((p) => Object.is(p.userState, userState))) {
      throw new InvalidOperationError(`${name}Async: the userState ${describe(userState)} belongs to an operation still pending; each one needs its own.`);
    }
    const operation = AsyncOperationManager.createOperation(userState);
    const record: PendingOperation = { name, userState, operation, settled: false, raised: false, subscription: undefined, timer: undefined };
    this.#pending.push(record);
    if (this.#single) this.#busy = true;
    try {
      operation.synchronizationContext.runOutside(() => this.#run(record, factory, args));
    } catch (error) {
      // The context could not run it (a zone that throws): registered already, so it ends (E1, E4, C5).
      this.#settle(record, { kind: 'error', error: toError(error) });
    }
  }

  #run(record: PendingOperation, factory: TransferFactory, args: unknown[]): void {
    const ms = this.#timeout;
    try {
      if (ms !== undefined) {
        // Through scheduleAfter: a timeout past 2^31 - 1 ms (24.8 days) waits, rather than firing at once.
        record.timer = scheduleAfter(this.#scheduler, () => this.#settle(record, { kind: 'error', error: new TimeoutError('total', ms) }), ms);
      }
      const transfer: unknown = factory(...args);
      if (!isObservable(transfer)) throw new TypeError(`${record.name}: the factory did not return an Observable`);
      const subscription = (transfer as Observable<TransferEvent<unknown>>).subscribe({
        next: (event) => this.#onEvent(record, event),
        error: (error: unknown) => this.#settle(record, { kind: 'error', error: toError(error) }),
        complete: () => this.#settle(record, { kind: 'error', error: new TransferError('invalid', `${record.name}: the transfer completed without a result`) }),
      });
      if (record.settled) subscription.unsubscribe();
      else record.subscription = subscription;
    } catch (error) {
      this.#settle(record, { kind: 'error', error: toError(error) }); // E4
    }
  }

  #onEvent(record: PendingOperation, event: TransferEvent<unknown>): void {
    if (record.settled) return;
    if (event?.type === 'progress') this.#postProgress(record, event);
    else if (event?.type === 'done') this.#settle(record, { kind: 'done', result: event.result });
    else this.#settle(record, { kind: 'error', error: new TransferError('invalid', `${record.name}: the transfer emitted an unknown event`) });
  }

  #postProgress(record: PendingOperation, progress: TransferProgress): void {
    const args = new TransferProgressChangedEventArgs(progress, record.userState);
    try {
      record.operation.post(() => {
        if (record.raised) return; // its Completed was raised without the context (see #settle): E9
        this.raise(`${record.name}ProgressChanged`, args);
        this.raise('progressChanged', args);
      });
    } catch (error) {
      reportUnhandledError(error); // the context refused the post: this reading is lost, the operation goes on
    }
  }

  #settle(record: PendingOperation, outcome: Outcome): void {
    if (record.settled) return;
    record.settled = true;
    const args =
      outcome.kind === 'done'
        ? AsyncCompletedEventArgs.success(outcome.result, record.userState)
        : outcome.kind === 'error'
          ? AsyncCompletedEventArgs.failure(outcome.error, record.userState)
          : AsyncCompletedEventArgs.cancellation(record.userState);
    try {
      record.timer?.unsubscribe();
      record.subscription?.unsubscribe(); // frees the request (G6) before anyone is told
    } catch (error) {
      reportUnhandledError(error);
    }
    const finish = (): void => {
      const index = this.#pending.indexOf(record);
      if (index >= 0) this.#pending.splice(index, 1);
      if (this.#single) this.#busy = false;
    };
    const complete = (): void => {
      if (record.raised) return; // a context that took the post and then threw: once only (E1)
      record.raised = true;
      finish();
      this.raise(`${record.name}Completed`, args);
    };
    try {
      record.operation.postOperationCompleted(complete);
    } catch (error) {
      // The context refused the post (its post, or the scheduler under it, threw). Completed is
      // still raised, here and now, with the context as current (E1, E7), and the refusal is
      // reported (C6); progress it still holds is then dropped (E9).
      reportUnhandledError(error);
      SynchronizationContext.run(record.operation.synchronizationContext, complete);
    }
  }
}

/**
 * No userState: `undefined`, or `null`, which is how .NET says none (and what `fromEap` takes as
 * none). Such calls run side by side; events carry the value given.
 */
function isNone(userState: unknown): boolean {
  return userState === undefined || userState === null;
}

/** A userState for a message: its text when it has one that can be read, else its type. */
function describe(userState: unknown): string {
  try {
    return String(userState).slice(0, 100);
  } catch {
    return `(${typeof userState})`;
  }
}
