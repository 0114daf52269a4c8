import type { Observable } from 'rxjs';
import type { TransferEvent, TransferProgress } from '../../lib/index.js';
import { assertTransferGrammar, recordTransfer, type Notification } from '../../lib/testing/index.js';

/** What one subscription to a transfer delivered, checked against the grammar. */
export interface Run<R> {
  readonly trace: Notification<R>[];
  readonly progress: TransferProgress[];
  readonly result: R | undefined;
  readonly error: unknown;
}

/** Splits a trace into its progress events, its result and its error. */
export function summarize<R>(trace: Notification<R>[]): Run<R> {
  const progress: TransferProgress[] = [];
  let result: R | undefined;
  let error: unknown;
  for (const n of trace) {
    if (n.kind === 'error') error = n.error;
    if (n.kind === 'next' && n.value.type === 'progress') progress.push(n.value);
    if (n.kind === 'next' && n.value.type === 'done') result = n.value.result;
  }
  return { trace, progress, result, error };
}

/**
 * Subscribes, waits for the terminal notification (at most `limitMs`, then fails the test),
 * and asserts the grammar of the whole trace (G2–G5, G10) with the shared checker.
 */
export async function runTransfer<R>(transfer: Observable<TransferEvent<R>>, limitMs = 20_000): Promise<Run<R>> {
  const recording = recordTransfer(transfer);
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), limitMs)));
  const outcome = await Promise.race([recording.ended, bound]);
  clearTimeout(timer);
  if (outcome === 'hung') {
    recording.unsubscribe();
    throw new Error(`transfer did not end within ${limitMs} ms (G2); trace: ${JSON.stringify(recording.trace.slice(-3))}`);
  }
  // Anything delivered after the end would land in the trace too (G3): look once more later.
  await new Promise((r) => setTimeout(r, 10));
  assertTransferGrammar(recording.trace);
  return summarize(recording.trace);
}

/** Resolves with `value`, or with `fallback` after `ms`: bounds a wait without a flaky assert. */
export function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
  ]);
}

/** Resolves after `ms`. */
export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 10 ms until it is true or `ms` passed; returns its last value. */
export async function eventually(check: () => boolean, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await delay(10);
  }
  return check();
}
