/* eslint-disable @typescript-eslint/no-explicit-any -- foreign components' args are untyped */
import { Observable } from 'rxjs';
import { reportUnhandledError } from '../context/report-error.js';
import { SynchronizationContext } from '../context/synchronization-context.js';
import { CancelledError } from '../core/errors/cancelled-error.js';
import { IntegrityError } from '../core/errors/integrity-error.js';
import { TransferError } from '../core/errors/transfer-error.js';
import type { Transfer, TransferDirection, TransferEvent, TransferProgress } from '../core/events.js';
import { listen, type EventSourceLike } from './event-target-like.js';
import { ForeignProgress, type ProgressReading } from './foreign-progress.js';
import { HeldNotifications } from './held-notifications.js';
import { toTransferError } from './to-transfer-error.js';
import type { EapComponent, EapMode, TransferFactories, TransferResultOf } from './to-eap-types.js';

/**
 * Any component following the EAP pattern: `<name>Async`, its events, and `cancelAsync(userState)`
 * where it supports cancellation (the pattern asks for it only where possible: without one,
 * unsubscribing lets the operation run on, unheard).
 */
export interface EapComponentLike extends EventSourceLike {
  cancelAsync?(userState?: unknown): unknown;
}

/** Options of {@link fromEap}. */
export interface FromEapOptions {
  /** The context `<name>Async` is called in, hence the one the component raises events on. Default: the current one. */
  readonly context?: SynchronizationContext;
  /** The direction of progress that has no byte counts. Default `'download'`. */
  readonly direction?: TransferDirection;
  /**
   * Reads byte counts from foreign progress args (return `undefined` to fall back to the
   * percentage). One that throws ends the transfer with a `TransferError` of code `'invalid'`
   * and cancels the operation, as unsubscribing would.
   */
  readonly progress?: (args: any) => (ProgressReading & { readonly direction?: TransferDirection }) | undefined;
  /**
   * Reads the result from the Completed args of a success, for components whose args carry it
   * in properties of their own (out-style parameters, such as `{ data, headers }`) rather than
   * in `result`. Default: `args.result`. Called only after a success; one that throws ends the
   * transfer with a `TransferError` of code `'invalid'`.
   */
  readonly result?: (args: any) => unknown;
  /** The progress events to listen to. Default `<name>ProgressChanged` and `progressChanged` (the same reading raised on both counts once). */
  readonly progressEvents?: readonly string[];
  /** How many arguments `<name>Async` takes before the userState. Default: its `length` minus one. */
  readonly arity?: number;
  /**
   * `false` for a single-invocation component whose `<name>Async` takes no userState (the
   * pattern's simplest form: its events carry none, `cancelAsync()` takes none). Each
   * subscription then calls `<name>Async(...args)`, takes the events without a userState as its
   * own, and calls `cancelAsync()` when unsubscribed; a second subscription while one runs gets
   * the component's refusal (it is busy). Default `true`: a userState of its own per subscription.
   */
  readonly userState?: boolean;
}

/**
 * Turns an EAP component's operation back into transfers: each call of the returned function
 * gives a cold `Transfer` (G1); each subscription calls `<name>Async(...args, userState)` with a
 * userState of its own, and unsubscribing calls `cancelAsync(userState)` (E12).
 *
 * Progress: args carrying a transfer's `progress` (components made by `toEap`) are passed on
 * unchanged; a `progress` option can read byte counts from other args; otherwise the
 * percentage is reported on a 0..100 scale (`total: 100`, `loaded` = percent), flushed to 100
 * before `done`. Completed maps to `done`, to `CancelledError` when cancelled, or to the error
 * (a `TransferError` as is, anything else wrapped, with `cause`).
 *
 * @example
 * ```ts
 * import { Observable } from 'rxjs';
 * import { fromEap, toEap, type Transfer } from 'rxtransfer';
 * const echo = (text: string): Transfer<string> =>
 *   new Observable((s) => { s.next({ type: 'done', result: text }); s.complete(); });
 * const component = toEap({ echo });
 * fromEap(component, 'echo')('hi').subscribe((e) => console.log(e.type));
 * ```
 * @see docs/eap.md
 */
export function fromEap<F extends TransferFactories, M extends EapMode, K extends keyof F & string>(
  component: EapComponent<F, M>,
  name: K,
  options?: FromEapOptions,
): (...args: Parameters<F[K]>) => Transfer<TransferResultOf<F[K]>>;
export function fromEap<R = unknown, A extends unknown[] = unknown[]>(
  component: EapComponentLike,
  name: string,
  options?: FromEapOptions,
): (...args: A) => Transfer<R>;
export function fromEap(component: EapComponentLike, name: string, options: FromEapOptions = {}): (...args: unknown[]) => Transfer<unknown> {
  if (options.arity !== undefined && !(Number.isInteger(options.arity) && options.arity >= 0)) throw new TypeError(`fromEap: arity must be a whole number of arguments, not ${String(options.arity)}`);
  return (...args: unknown[]) =>
    new Observable<TransferEvent<unknown>>((subscriber) => {
      const withState = options.userState !== false;
      const userState = withState ? Symbol(`fromEap:${name}`) : undefined;
      const progress = new ForeignProgress();
      // 'transfer': the readings are a transfer's own progress events (a component made by
      // toEap), whose success vouches for its bytes; 'bytes': counts read from foreign args.
      const scale = { upload: 'none', download: 'none' } as Record<TransferDirection, 'none' | 'transfer' | 'bytes' | 'percent'>;
      const attempt = { upload: 1, download: 1 } as Record<TransferDirection, number>;
      const removers: (() => void)[] = [];
      let ended = false;
      let lastArgs: unknown;
      let lastDirect: unknown;
      // While `<name>Async` runs, a cancel waits for it to return: a component that raises an
      // event before it has taken the userState in (or started its work) would not know it yet.
      let calling = false;
      let cancelOnReturn = false;
      // What the component raises inside `<name>Async`, hence inside subscribe(), is held and
      // told once subscribe() has returned, in order, before anything raised later (G7).
      const held = new HeldNotifications();
      const tell = (notify: () => void): void => held.tell(notify);
      const out = {
        next: (event: TransferEvent<unknown>): void => tell(() => subscriber.next(event)),
        error: (error: unknown): void => tell(() => subscriber.error(error)),
        complete: (): void => tell(() => subscriber.complete()),
      };
      const end = (): void => {
        ended = true;
        for (const remove of removers.splice(0)) remove();
      };
      const cancel = (): void => {
        if (calling) {
          cancelOnReturn = true;
          return;
        }
        try {
          if (typeof component.cancelAsync !== 'function') return; // nothing to call: it runs on, unheard
          if (withState) component.cancelAsync(userState);
          else component.cancelAsync();
        } catch (error) {
          reportUnhandledError(error); // a component that breaks E10 cannot stop us letting go
        }
      };

      // Without a userState of ours, the events that carry none are ours (null is how .NET says none).
      const ours = (e: any): boolean => (withState ? e?.userState === userState : e?.userState === undefined || e?.userState === null);
      const onProgress = (e: any): void => {
        if (ended || !ours(e)) return;
        const direct = e?.progress as TransferProgress | undefined;
        if (direct && direct.type === 'progress' && typeof direct.loaded === 'number') {
          // The same args raised again under another name (toEap raises <name>ProgressChanged,
          // then progressChanged) count once. Other args go through ForeignProgress, which drops
          // what adds nothing, so a component that reuses one args object loses no reading.
          if (e === lastArgs && direct === lastDirect) return;
          lastArgs = e;
          lastDirect = direct;
          scale[direct.direction] = 'transfer';
          if (typeof direct.attempt === 'number') attempt[direct.direction] = direct.attempt;
          out.next(direct);
          progress.update(direct.direction, { loaded: direct.loaded, total: direct.total });
          return;
        }
        let reading: ReturnType<NonNullable<FromEapOptions['progress']>>;
        try {
          reading = options.progress?.(e);
        } catch (error) {
          // Our reader failed, not the component, which is still running: it ends the transfer
          // and stops the operation, as an unsubscribe would (never thrown into the component).
          end();
          cancel();
          out.error(new TransferError('invalid', `${name}: the progress option threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
          return;
        }
        const direction = reading?.direction ?? options.direction ?? 'download';
        if (scale[direction] === 'none') scale[direction] = reading ? 'bytes' : 'percent';
        const event = progress.update(direction, reading ?? { loaded: Number(e?.progressPercentage) || 0, total: 100 });
        if (event) out.next(event);
      };

      const onCompleted = (e: any): void => {
        if (ended || !ours(e)) return;
        end();
        if (e?.cancelled) return out.error(new CancelledError({}, `${name} was cancelled by the component`));
        if (e?.error) return out.error(toTransferError(e.error));
        let result: unknown;
        try {
          result = options.result ? options.result(e) : typeof e === 'object' && e !== null && 'result' in e ? e.result : undefined;
        } catch (error) {
          // A result option that throws is the caller's mistake (G8); a result getter that throws, the component's failure.
          if (!options.result) return out.error(toTransferError(error));
          return out.error(new TransferError('invalid', `${name}: the result option threw: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
        }
        for (const direction of ['upload', 'download'] as const) {
          // A transfer's success is complete (G5): a last reading short of its total was lost on
          // the way (a context that refused the post, or one Completed overtook, E9), not bytes;
          // it is made up at 100% rather than told as an IntegrityError (E12).
          const check = progress.finish(direction, scale[direction] === 'percent' || scale[direction] === 'transfer');
          if (check.kind === 'short') {
            return out.error(new IntegrityError('truncated', `${name} completed after ${check.loaded} of ${check.total} bytes`));
          }
          if (check.flush) out.next(scale[direction] === 'transfer' ? { ...check.flush, attempt: attempt[direction] } : check.flush);
        }
        out.next({ type: 'done', result });
        out.complete();
      };

      try {
        const method = (component as unknown as Record<string, unknown>)[`${name}Async`];
        if (typeof method !== 'function') throw new TypeError(`the component has no ${name}Async method`);
        removers.push(listen(component, `${name}Completed`, onCompleted));
        for (const event of options.progressEvents ?? [`${name}ProgressChanged`, 'progressChanged']) {
          removers.push(listen(component, event, onProgress));
        }
        const arity = options.arity ?? Math.max(0, method.length - 1);
        const padded = args.length >= arity ? args : [...args, ...new Array<undefined>(arity - args.length)];
        const call = (): unknown => method.apply(component, withState ? [...padded, userState] : args);
        calling = true;
        try {
          if (options.context) SynchronizationContext.run(options.context, call);
          else call();
        } finally {
          calling = false;
          // Also when the call then threw: the operation it had raised events for is stopped.
          if (cancelOnReturn) cancel();
        }
      } catch (error) {
        // Refused (busy, bad arguments): nothing runs, so nothing is cancelled on unsubscribe;
        // told after subscribe() returns, as every end of a transfer is (G7).
        const refused = new TransferError('invalid', `${name}Async refused the call: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        if (!ended) {
          end();
          out.error(refused);
        }
      }
      // With `options.context` current, as when they were raised inside the call (C2).
      const raisedIn = options.context;
      held.release(raisedIn ? (flush) => SynchronizationContext.run(raisedIn, flush) : undefined);

      return () => {
        if (ended) return;
        end();
        cancel();
      };
    });
}
