import type { Transfer } from '../core/events.js';
import type { AsyncCompletedEventArgs } from './async-completed-event-args.js';
import type { TransferProgressChangedEventArgs } from './progress-changed-event-args.js';
import type { EapEventSource } from './eap-event-source.js';

/** A function that makes a transfer, such as `download` or `(file: Blob) => upload(url, file)`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TransferFactory = (...args: any[]) => Transfer<any>;

/** Operations by name: `{ download: (url: string) => download(url) }`. */
export type TransferFactories = Record<string, TransferFactory>;

/** The result type of a transfer factory. */
export type TransferResultOf<F> = F extends (...args: never[]) => Transfer<infer R> ? R : never;

/**
 * `multiple`: any number of operations at once, told apart by userState (E6).
 * `single`: one operation at a time on the whole component, with `isBusy` (E7).
 */
export type EapMode = 'single' | 'multiple';

/**
 * A parameter list with every position present: optional parameters become required ones that
 * accept `undefined`, so the userState after them is never mistaken for one of them.
 * Rest parameters are not supported (the type is `never`).
 */
export type PositionalParameters<P extends readonly unknown[]> = number extends P['length']
  ? never
  : P extends readonly []
    ? []
    : P extends readonly [infer H, ...infer T]
      ? [H, ...PositionalParameters<T>]
      : P extends readonly [(infer H)?, ...infer T]
        ? [H | undefined, ...PositionalParameters<T>]
        : never;

/** The arguments of `<name>Async`: the factory's, then an optional userState (always last). */
export type EapAsyncArguments<F extends TransferFactory> = [...PositionalParameters<Parameters<F>>, userState?: unknown];

/** Event name to args: `<name>Completed`, `<name>ProgressChanged` and `progressChanged`. */
export type EapEventMap<F extends TransferFactories> = {
  [K in keyof F & string as `${K}Completed`]: AsyncCompletedEventArgs<TransferResultOf<F[K]>>;
} & {
  [K in keyof F & string as `${K}ProgressChanged`]: TransferProgressChangedEventArgs;
} & { progressChanged: TransferProgressChangedEventArgs };

/** The `<name>Async` methods. */
export type EapMethods<F extends TransferFactories> = {
  readonly [K in keyof F & string as `${K}Async`]: (...args: EapAsyncArguments<F[K]>) => void;
};

/** Members every EAP component made by `toEap` has. */
export interface EapComponentBase {
  /**
   * Cancels pending operations whose userState is `userState` (by `Object.is`); with no
   * userState (no argument, `undefined` or `null`), the ones started without one, `null`
   * included (in single mode: the one in progress).
   * Never throws (E10).
   */
  cancelAsync(userState?: unknown): void;
  /** Cancels every pending operation. Never throws. */
  cancelAllAsync(): void;
}

/**
 * What `toEap` returns: `<name>Async` per operation, the events, `cancelAsync`, and `isBusy`
 * in single mode only (E7).
 */
export type EapComponent<F extends TransferFactories, M extends EapMode = 'multiple'> = EapEventSource<EapEventMap<F>> &
  EapComponentBase &
  EapMethods<F> &
  (M extends 'single' ? { readonly isBusy: boolean } : unknown);
