import { config, NEVER, Observable, of, throwError, type Observer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { enforceGrammar, toTransferError } from '../../lib/internal/core/grammar.js';
import { TransferError, NetworkError, isTransferError, type TransferEvent, type TransferProgress } from 'rxtransfer';
import { assertTransferGrammar, grammarViolations, recordTransfer, type Notification } from 'rxtransfer/testing';

type E = TransferEvent<string>;
const p = (direction: 'upload' | 'download', loaded: number, total?: number, delta = 0): TransferProgress => ({
  type: 'progress',
  direction,
  loaded,
  delta,
  attempt: 1,
  ...(total !== undefined ? { total, percent: Math.floor((loaded * 100) / (total || 1)) } : {}),
});
const done: E = { type: 'done', result: 'r' };

/**
 * A source that bypasses RxJS' own Subscriber guards: it calls the observer exactly as a buggy
 * layer below could (after an error, twice, after complete), and records whether it was torn down.
 */
function rawSource(script: (o: Observer<E>) => void): { source: Observable<E>; tornDown: () => boolean } {
  let torn = false;
  const raw = { subscribe: (o: Observer<E>) => (script(o), { unsubscribe: () => (torn = true) }) };
  const source = { ...raw, pipe: <T>(op: (s: Observable<E>) => T) => op(raw as unknown as Observable<E>) } as unknown as Observable<E>;
  return { source, tornDown: () => torn };
}

function run(source: Observable<E>): Notification<string>[] {
  const rec = recordTransfer(source.pipe(enforceGrammar<string>({ url: 'https://a.test/x', method: 'GET' })));
  return rec.trace;
}

describe('enforceGrammar', () => {
  it('passes a well-formed transfer through untouched (marbles)', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const values = { a: p('upload', 0, 2), b: p('upload', 2, 2, 2), c: p('download', 0), d: done };
      expectObservable(cold<E>('a-b-c--(d|)', values).pipe(enforceGrammar())).toBe('a-b-c--(d|)', values);
    });
  });

  it('never: emits nothing, and unsubscribing tears the source down', () => {
    const { source, tornDown } = rawSource(() => undefined);
    const rec = recordTransfer(source.pipe(enforceGrammar()));
    rec.unsubscribe();
    expect(rec.trace).toEqual([]);
    expect(tornDown()).toBe(true);
  });

  it('empty: a source that completes without done ends in an error, never in silence (G2)', () => {
    const trace = run(of());
    expect(trace).toHaveLength(1);
    assertTransferGrammar(trace);
    expect((trace[0] as { error: TransferError }).error.message).toMatch(/ended without a result/);
  });

  it('one: done alone becomes done + complete', () => {
    expect(run(of(done))).toEqual([{ kind: 'next', value: done }, { kind: 'complete' }]);
  });

  it('many: progress then done', () => {
    const trace = run(of(p('download', 0, 3), p('download', 1, 3, 1), p('download', 3, 3, 2), done));
    assertTransferGrammar(trace);
    expect(trace).toHaveLength(5);
  });

  it('done without complete is completed by the enforcer, and the source is torn down', () => {
    const { source, tornDown } = rawSource((o) => o.next(done));
    const trace = run(source);
    expect(trace).toEqual([{ kind: 'next', value: done }, { kind: 'complete' }]);
    expect(tornDown()).toBe(true);
  });

  it('drops progress and a second done after done (G3)', () => {
    const { source } = rawSource((o) => {
      o.next(p('download', 2, 2, 2));
      o.next(done);
      o.next(p('download', 3, 3, 1));
      o.next(done);
      o.error(new Error('late'));
      o.complete();
    });
    const trace = run(source);
    assertTransferGrammar(trace);
    expect(trace.map((n) => n.kind)).toEqual(['next', 'next', 'complete']);
  });

  it('keeps only the first of two errors', () => {
    const first = new NetworkError('first', 'ECONNRESET');
    const { source } = rawSource((o) => {
      o.error(first);
      o.error(new NetworkError('second', undefined));
      o.next(done);
    });
    expect(run(source)).toEqual([{ kind: 'error', error: first }]);
  });

  it('complete after error, and error after complete, are ignored', () => {
    const a = run(rawSource((o) => (o.error(new TransferError('http', 'x')), o.complete())).source);
    expect(a.map((n) => n.kind)).toEqual(['error']);
    const b = run(rawSource((o) => (o.complete(), o.error(new Error('late')))).source);
    expect(b.map((n) => n.kind)).toEqual(['error']);
    assertTransferGrammar(b);
  });

  it.each([['a string'], [new Error('plain')], [undefined], [null], [{ odd: true }], [42]])('wraps the non-TransferError %p into a TransferError (G8)', (thrown) => {
    const trace = run(throwError(() => thrown));
    assertTransferGrammar(trace);
    const error = (trace[0] as { error: TransferError }).error;
    expect(isTransferError(error)).toBe(true);
    expect(error.code).toBe('network');
    expect(error.url).toBe('https://a.test/x');
    if (thrown instanceof Error) expect(error.cause).toBe(thrown);
  });

  it('keeps TransferErrors as they are', () => {
    const e = new TransferError('integrity', 'bad');
    expect(toTransferError(e)).toBe(e);
  });

  it('drops progress that goes back, upload after download, loaded over total; delta stays consistent (G4)', () => {
    const { source } = rawSource((o) => {
      o.next(p('upload', 5, 10, 5));
      o.next(p('upload', 3, 10)); // back
      o.next(p('download', 4, 10, 4));
      o.next(p('upload', 10, 10, 5)); // upload after download
      o.next(p('download', 12, 10, 8)); // over total
      o.next({ ...p('download', 6), delta: 99 }); // total unknown now: no percent is no step back; delta fixed
      o.next({ ...p('download', 5, 10), delta: 0 }); // loaded back: dropped
      o.next({ ...p('download', 9, 30), delta: 3 }); // percent 30 < 40 shown before: dropped
      o.next({ ...p('download', 8, 10), delta: 1 }); // wrong delta: fixed from the last event seen
      o.next({ ...p('download', 10, 10), delta: 2 });
      o.next(done);
    });
    const trace = run(source);
    assertTransferGrammar(trace);
    const progress = trace.flatMap((n) => (n.kind === 'next' && n.value.type === 'progress' ? [[n.value.direction, n.value.loaded, n.value.delta]] : []));
    expect(progress).toEqual([['upload', 5, 5], ['download', 4, 4], ['download', 6, 2], ['download', 8, 2], ['download', 10, 2]]);
  });

  it('never-ending: progress forever until unsubscribe, then the source is torn down', () => {
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<E>('a-b-c-d-e-f-g-h', { a: p('download', 1), b: p('download', 2, undefined, 1), c: p('download', 3, undefined, 1), d: p('download', 4, undefined, 1), e: p('download', 5, undefined, 1), f: p('download', 6, undefined, 1), g: p('download', 7, undefined, 1), h: p('download', 8, undefined, 1) });
      expectObservable(source.pipe(enforceGrammar()), '^----!').toBe('a-b-c', { a: p('download', 1), b: p('download', 2, undefined, 1), c: p('download', 3, undefined, 1) });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
  });

  it('early unsubscribe: nothing is delivered after it', () => {
    const seen: unknown[] = [];
    let emit!: Observer<E>;
    const source = new Observable<E>((o) => void (emit = o));
    const sub = source.pipe(enforceGrammar()).subscribe({ next: (v) => seen.push(v), error: (e) => seen.push(e), complete: () => seen.push('complete') });
    emit.next(p('download', 0));
    sub.unsubscribe();
    emit.next(done);
    emit.complete();
    expect(seen).toHaveLength(1);
  });

  it('a subscriber callback that throws is reported, and does not produce a second end', () => {
    const reported: unknown[] = [];
    const previous = config.onUnhandledError;
    config.onUnhandledError = (e) => reported.push(e);
    try {
      const kinds: string[] = [];
      of(p('download', 0), done)
        .pipe(enforceGrammar())
        .subscribe({
          next: (v) => {
            kinds.push(v.type);
            throw new Error('handler bug');
          },
          error: () => kinds.push('error'),
          complete: () => kinds.push('complete'),
        });
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          expect(kinds).toEqual(['progress', 'done', 'complete']);
          expect(reported).toHaveLength(2);
          resolve();
        }, 5),
      );
    } finally {
      setTimeout(() => (config.onUnhandledError = previous), 10);
    }
  });

  it('a source that throws inside subscribe becomes one TransferError', () => {
    const trace = run(new Observable<E>(() => {
      throw new Error('boom');
    }));
    assertTransferGrammar(trace);
    expect((trace[0] as { error: Error }).error.message).toMatch(/boom/);
  });

  it('emits nothing for NEVER and stays open', () => {
    const rec = recordTransfer(NEVER.pipe(enforceGrammar()));
    expect(rec.trace).toEqual([]);
    rec.unsubscribe();
  });
});

describe('the shared checker (grammarViolations) on percent', () => {
  const n = (e: TransferProgress): Notification<string> => ({ kind: 'next', value: e });
  const end: Notification<string>[] = [{ kind: 'next', value: done }, { kind: 'complete' }];

  it('accepts a total that becomes unknown (no percent is no step back)', () => {
    expect(grammarViolations([n(p('download', 2, 7, 0)), n(p('download', 2, undefined, 0)), ...end])).toEqual([]);
  });

  it('still sees a percent that went back across an event without one', () => {
    const trace = [n(p('download', 5, 10, 0)), n(p('download', 6, undefined, 1)), n(p('download', 7, 30, 1)), ...end];
    expect(grammarViolations(trace).join()).toMatch(/percent went back/);
  });
});
