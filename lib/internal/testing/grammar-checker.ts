import type { Observable } from 'rxjs';
import type { TransferEvent, TransferProgress } from '../core/events.js';
import { isTransferError } from '../core/errors/transfer-error.js';

/** One notification a subscriber received, in order. */
export type Notification<R> =
  | { readonly kind: 'next'; readonly value: TransferEvent<R> }
  | { readonly kind: 'error'; readonly error: unknown }
  | { readonly kind: 'complete' };

/**
 * Lists every way a recorded trace breaks the transfer grammar (G2–G5, G10 as visible in one
 * trace). An empty list means the trace is well formed. `ended: false` accepts a trace without
 * a terminal notification (the subscriber unsubscribed first).
 */
export function grammarViolations<R>(trace: readonly Notification<R>[], options: { ended?: boolean } = {}): string[] {
  const problems: string[] = [];
  const ended = options.ended ?? true;
  const last: Partial<Record<'upload' | 'download', TransferProgress>> = {};
  const topPercent: Partial<Record<'upload' | 'download', number>> = {};
  let sawDownload = false;
  let terminal = -1;
  let attempt = 1;
  trace.forEach((n, i) => {
    if (terminal >= 0) {
      const afterDone = trace[terminal]!.kind === 'next' && i === terminal + 1 && n.kind === 'complete';
      if (!afterDone) problems.push(`G3 notification ${i} (${n.kind}) after the end at ${terminal}`);
      return;
    }
    if (n.kind === 'complete') {
      problems.push(`G2 complete at ${i} without done`);
      terminal = i;
      return;
    }
    if (n.kind === 'error') {
      if (!isTransferError(n.error)) problems.push(`G8 error at ${i} is not a TransferError`);
      terminal = i;
      return;
    }
    const e = n.value;
    if (e.type === 'done') {
      terminal = i;
      if (trace[i + 1]?.kind !== 'complete') problems.push(`G2 done at ${i} not immediately followed by complete`);
      const final = last.download ?? last.upload;
      if (final && final.total !== undefined && (final.loaded !== final.total || final.percent !== 100)) {
        problems.push(`G5 last progress before done is ${final.loaded}/${final.total} (${final.percent}%), not complete`);
      }
      return;
    }
    if (e.type !== 'progress') {
      problems.push(`event ${i} has unknown type`);
      return;
    }
    if (e.direction === 'upload' && sawDownload) problems.push(`G4 upload progress at ${i} after download progress`);
    if (e.direction === 'download') sawDownload = true;
    if (!(e.attempt >= attempt)) problems.push(`G4 attempt went back at ${i}`);
    attempt = e.attempt;
    const prev = last[e.direction];
    if (prev && e.loaded < prev.loaded) problems.push(`G4 ${e.direction} loaded went back at ${i}: ${prev.loaded} -> ${e.loaded}`);
    // Compared with the highest percent shown so far: an event without one (total unknown) is no step back, and cannot hide one.
    if (e.percent !== undefined && e.percent < (topPercent[e.direction] ?? 0)) problems.push(`G4 ${e.direction} percent went back at ${i}`);
    if (e.percent !== undefined) topPercent[e.direction] = Math.max(topPercent[e.direction] ?? 0, e.percent);
    if (prev && e.delta !== e.loaded - prev.loaded) problems.push(`G4 delta at ${i} is ${e.delta}, not ${e.loaded - prev.loaded}`);
    if (!prev && !(e.delta >= 0 && e.delta <= e.loaded)) problems.push(`G4 first delta at ${i} out of range`);
    if (e.total !== undefined && e.loaded > e.total) problems.push(`G4 loaded ${e.loaded} > total ${e.total} at ${i}`);
    if ((e.total !== undefined) !== (e.percent !== undefined)) problems.push(`G4 percent present without total (or missing with it) at ${i}`);
    if (e.percent !== undefined && !(Number.isInteger(e.percent) && e.percent >= 0 && e.percent <= 100)) problems.push(`G4 percent ${e.percent} at ${i}`);
    if (e.bytesPerSecond !== undefined && !(Number.isFinite(e.bytesPerSecond) && e.bytesPerSecond >= 0)) problems.push(`bytesPerSecond ${e.bytesPerSecond} at ${i} is not a rate`);
    if (!(Number.isInteger(e.attempt) && e.attempt >= 1)) problems.push(`attempt ${e.attempt} at ${i} is not a whole number >= 1`);
    last[e.direction] = e;
  });
  if (ended && terminal < 0) problems.push('G2 no terminal notification');
  return problems;
}

/**
 * Throws with every violation listed when the trace breaks the grammar.
 *
 * @example
 * ```ts
 * import { download } from 'rxtransfer';
 * import { FakeTransport, assertTransferGrammar, recordTransfer } from 'rxtransfer/testing';
 * const fake = new FakeTransport({ onRequest: (r) => r.flush('hello') });
 * assertTransferGrammar(await recordTransfer(download('https://example.com/a', { transport: fake })).ended);
 * ```
 */
export function assertTransferGrammar<R>(trace: readonly Notification<R>[], options: { ended?: boolean } = {}): void {
  const problems = grammarViolations(trace, options);
  if (problems.length > 0) throw new Error(`transfer grammar violated:\n  ${problems.join('\n  ')}`);
}

/**
 * Subscribes and records every notification; `ended` resolves with the trace at the terminal one.
 *
 * @example
 * ```ts
 * import { download } from 'rxtransfer';
 * import { FakeTransport, recordTransfer } from 'rxtransfer/testing';
 * const fake = new FakeTransport();
 * const recording = recordTransfer(download('https://example.com/a', { transport: fake }));
 * (await fake.next()).respond({ status: 503 }).end();
 * console.log((await recording.ended).at(-1)); // { kind: 'error', error: HttpStatusError }
 * ```
 */
export function recordTransfer<R>(transfer: Observable<TransferEvent<R>>): { trace: Notification<R>[]; ended: Promise<Notification<R>[]>; unsubscribe(): void } {
  const trace: Notification<R>[] = [];
  let finish!: (t: Notification<R>[]) => void;
  const ended = new Promise<Notification<R>[]>((resolve) => (finish = resolve));
  const subscription = transfer.subscribe({
    next: (value) => void trace.push({ kind: 'next', value }),
    error: (error) => {
      trace.push({ kind: 'error', error });
      finish(trace);
    },
    complete: () => {
      trace.push({ kind: 'complete' });
      finish(trace);
    },
  });
  return { trace, ended, unsubscribe: () => subscription.unsubscribe() };
}
