import fc from 'fast-check';
import { EventEmitter } from 'node:events';
import { fromEap, isCancelledError, isIntegrityError, isTransferError, ProgressChangedEventArgs, type TransferProgress } from './eap-index.js';
import { grammarViolations, type Notification } from 'rxtransfer/testing';
import { settleTasks } from '../helpers/eap-fakes.js';

/**
 * E12 for a foreign component (not one made by toEap): whatever it raises — byte counts that go
 * back, past their total or are not numbers, upload readings after download ones, percents out
 * of range, events of other operations, events after its Completed, some of it inside
 * `<name>Async` — the transfer fromEap makes keeps the grammar (G2–G5, G7), ends as the
 * component's Completed says, and lets go of the operation (cancelAsync) when unsubscribed.
 */
type Step =
  | { readonly k: 'bytes'; readonly direction: 'upload' | 'download'; readonly loaded: number; readonly total: number | undefined; readonly mine: boolean }
  | { readonly k: 'percent'; readonly pct: number; readonly mine: boolean }
  | { readonly k: 'completed'; readonly how: 'ok' | 'error' | 'cancelled'; readonly mine: boolean };

const countArb = fc.oneof({ weight: 9, arbitrary: fc.nat({ max: 60 }) }, { weight: 1, arbitrary: fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY) });
const mineArb = fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('bytes' as const), direction: fc.constantFrom<'upload' | 'download'>('upload', 'upload', 'download'), loaded: countArb, total: fc.option(countArb, { freq: 3, nil: undefined }), mine: mineArb }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('percent' as const), pct: fc.oneof(fc.nat({ max: 100 }), fc.constantFrom(-5, 150, 42.7, Number.NaN)), mine: mineArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('completed' as const), how: fc.constantFrom<'ok' | 'error' | 'cancelled'>('ok', 'ok', 'error', 'cancelled'), mine: mineArb }) },
);

describe('fromEap over a foreign component (property)', () => {
  it('E12 G2 G3 G4 G5 G7 whatever the component raises, the transfer keeps the grammar and ends as its Completed says (property, 1000 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { maxLength: 12 }),
        fc.nat({ max: 3 }),
        fc.boolean(),
        fc.option(fc.nat({ max: 12 }), { freq: 3, nil: undefined }),
        async (steps, inside, bytes, unsubscribeAt) => {
          const other = Symbol('another operation');
          const cancels: unknown[] = [];
          let state: unknown;
          const component = new EventEmitter();
          const raise = (step: Step): void => {
            const userState = step.mine ? state : other;
            if (step.k === 'completed') {
              const error = step.how === 'error' ? Object.assign(new Error('reset'), { code: 'ECONNRESET' }) : null;
              component.emit('workCompleted', { error, cancelled: step.how === 'cancelled', userState, result: 'the result' });
            } else if (step.k === 'percent') {
              // A percent-only component; with a reader of byte counts the component says them all.
              if (!bytes) component.emit('workProgressChanged', new ProgressChangedEventArgs(step.pct, userState));
            } else component.emit('workProgressChanged', Object.assign(new ProgressChangedEventArgs(0, userState), { reading: { direction: step.direction, loaded: step.loaded, total: step.total } }));
          };
          Object.assign(component, {
            workAsync(userState: unknown) {
              state = userState;
              for (const step of steps.slice(0, inside)) raise(step); // inside workAsync, hence inside subscribe()
            },
            cancelAsync: (userState: unknown) => void cancels.push(userState),
          });
          // Bytes: a reader of the component's own args; else its progressPercentage (a 0..100 scale).
          const work$ = fromEap<string, []>(component, 'work', { progress: bytes ? (e: { reading?: { direction: 'upload' | 'download'; loaded: number; total?: number } }) => e.reading : undefined });
          const trace: Notification<string>[] = [];
          const subscription = work$().subscribe({
            next: (value) => void trace.push({ kind: 'next', value }),
            error: (error: unknown) => void trace.push({ kind: 'error', error }),
            complete: () => void trace.push({ kind: 'complete' }),
          });
          expect(trace).toEqual([]); // G7: nothing inside subscribe(), also what workAsync raised
          await settleTasks(2);
          let unsubscribed = false;
          for (const [i, step] of steps.entries()) {
            if (i === unsubscribeAt && i >= inside) {
              subscription.unsubscribe();
              unsubscribed = true;
            }
            if (i >= inside) raise(step);
            await settleTasks(1);
          }
          await settleTasks(2);

          // The end the component decided: its first Completed of this operation, unless unsubscribed before it.
          const decisive = steps.findIndex((s, i) => s.k === 'completed' && s.mine && !(unsubscribed && i >= unsubscribeAt! && i >= inside));
          const ended = decisive >= 0;
          expect(grammarViolations(trace, { ended })).toEqual([]);
          const last = trace[trace.length - 1];
          const progress = trace.flatMap((n) => (n.kind === 'next' && n.value.type === 'progress' ? [n.value] : []));
          const end = ended ? (steps[decisive] as Extract<Step, { k: 'completed' }>) : undefined;
          // The readings that count, up to the end (an upload one after a download one does not), and the
          // largest total each direction was given.
          const until = ended ? decisive : unsubscribed ? unsubscribeAt! : steps.length;
          const readings: { direction: 'upload' | 'download'; loaded: number; step: Step }[] = [];
          const maxTotal = { upload: -1, download: -1 };
          let downloading = false;
          for (const step of steps.slice(0, until)) {
            if (!step.mine || step.k === 'completed' || (step.k === 'percent' && bytes)) continue;
            const direction = step.k === 'bytes' && bytes ? step.direction : 'download';
            if (direction === 'upload' && downloading) continue;
            if (direction === 'download') downloading = true;
            if (step.k === 'bytes' && bytes && step.total !== undefined && Number.isFinite(step.total) && step.total >= 0) maxTotal[direction] = Math.max(maxTotal[direction], step.total);
            readings.push({ direction, loaded: step.k === 'bytes' ? (bytes ? step.loaded : 0) : Math.min(100, Math.floor(step.pct)), step });
          }
          if (end?.how === 'cancelled') expect(last?.kind === 'error' && isCancelledError(last.error)).toBe(true);
          else if (end?.how === 'error') expect(last?.kind === 'error' && isTransferError(last.error) && last.error.code).toBe('network');
          else if (end?.how === 'ok') {
            // Done with the result, or a short body (a reading of bytes left below its total) told as such (G5).
            // Short: a direction shown ended below the largest total it was given (a byte count is trusted, not made up).
            const lastOf = (d: 'upload' | 'download'): TransferProgress | undefined => progress.filter((p) => p.direction === d).pop();
            const short = (['upload', 'download'] as const).some((d) => { const p = lastOf(d); return p !== undefined && maxTotal[d] > p.loaded; });
            if (short) expect(last?.kind === 'error' && isIntegrityError(last.error) && last.error.reason).toBe('truncated');
            else expect(trace.slice(-2)).toEqual([{ kind: 'next', value: { type: 'done', result: 'the result' } }, { kind: 'complete' }]);
          } else expect(last === undefined || last.kind === 'next').toBe(true);
          // Unsubscribed before the end: the operation is cancelled, once, by its own userState; else never.
          const cancelledFirst = unsubscribed && !(decisive >= 0 && decisive < unsubscribeAt!);
          expect(cancels).toEqual(cancelledFirst ? [state] : []);
          // No reading of this operation is lost before the end (an upload reading after a download one
          // apart): each is shown, or one at least as far along in its direction, or the whole.
          for (const { direction, loaded, step } of readings) {
            if (!(Number.isFinite(loaded) && loaded >= 0)) continue;
            const shown = progress.filter((p) => p.direction === direction);
            expect({ reading: step, shown: shown.some((p) => p.loaded >= loaded || (p.total !== undefined && p.loaded === p.total)) }).toEqual({ reading: step, shown: true });
          }
          subscription.unsubscribe();
          expect(component.listenerCount('workCompleted') + component.listenerCount('workProgressChanged')).toBe(0);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
