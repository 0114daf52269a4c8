import fc from 'fast-check';
import { download, upload, isTransferError, NetworkError, TransferError, HttpStatusError, type TransferEvent, type TransferProgress } from 'rxtransfer';
import { assertTransferGrammar, grammarViolations, type Notification } from 'rxtransfer/testing';
import { Observable, Subject } from 'rxjs';
import { enforceGrammar } from '../../lib/internal/core/grammar.js';
import type { Transport, TransportRequest, TransportResponse } from '../../lib/internal/core/transport.js';
import { deliveryArb, IDLE_MS } from '../helpers/arbitraries.js';
import { advance, drive, makeDelivery, record } from '../helpers/trace-driver.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';

/**
 * A transport that breaks every rule it can: progress hooks called before, during and after the
 * exchange with absurd numbers, a head answered twice, rejections with things that are not
 * errors, chunks after the end, a body that throws strings. Whatever it does, the one grammar
 * enforcer must keep the trace well formed (G2, G3, G4, G8) and leave no timer behind.
 */
type Chaos =
  | { readonly do: 'upload' | 'download'; readonly n: number }
  | { readonly do: 'connect' }
  | { readonly do: 'resolve'; readonly status: number; readonly length: number | undefined }
  | { readonly do: 'reject' | 'throw'; readonly what: number }
  | { readonly do: 'chunk'; readonly size: number }
  | { readonly do: 'end' }
  | { readonly do: 'tick'; readonly ms: number };

const numberArb = fc.oneof(fc.nat({ max: 100 }), fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY, 1e12));
const chaosArb: fc.Arbitrary<Chaos> = fc.oneof(
  fc.record({ do: fc.constantFrom<'upload' | 'download'>('upload', 'download'), n: numberArb }),
  fc.constant({ do: 'connect' as const }),
  fc.record({ do: fc.constant('resolve' as const), status: fc.constantFrom(200, 200, 206, 301, 404, 503), length: fc.option(fc.nat({ max: 40 }), { nil: undefined }) }),
  fc.record({ do: fc.constantFrom<'reject' | 'throw'>('reject', 'throw'), what: fc.nat({ max: 6 }) }),
  fc.record({ do: fc.constant('chunk' as const), size: fc.nat({ max: 20 }) }),
  fc.constant({ do: 'end' as const }),
  fc.record({ do: fc.constant('tick' as const), ms: fc.constantFrom(0, 10, 200, IDLE_MS + 1) }),
);

function thing(what: number): unknown {
  return [new NetworkError('reset', 'ECONNRESET'), new Error('plain'), 'a string', undefined, null, { weird: true }, new HttpStatusError(500, {}, '')][what];
}

/** One exchange driven by the chaos script; it honours abort (the Transport contract) and nothing else. */
class ChaosExchange {
  private queue: Uint8Array[] = [];
  private ended = false;
  private failure: { value: unknown } | undefined;
  private wake: (() => void) | undefined;
  private settle!: { resolve(r: TransportResponse): void; reject(e: unknown): void };
  readonly response: Promise<TransportResponse>;

  constructor(readonly request: TransportRequest) {
    this.response = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.response.catch(() => undefined);
    const onAbort = () => {
      this.settle.reject(new TransferError('network', 'aborted'));
      this.failure ??= { value: new TransferError('network', 'aborted') };
      this.poke();
    };
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener('abort', onAbort, { once: true });
  }

  apply(c: Chaos): void {
    switch (c.do) {
      case 'upload':
        return this.request.onUploadProgress(c.n);
      case 'download':
        return this.request.onDownloadProgress(c.n);
      case 'connect':
        return this.request.onConnect();
      case 'resolve': {
        const headers: Record<string, string> = c.status === 301 ? { location: '/next' } : {};
        if (c.length !== undefined) headers['content-length'] = String(c.length);
        this.settle.resolve({ status: c.status, statusText: '', headers, url: this.request.url, decoded: false, body: this.body() });
        return;
      }
      case 'reject':
        return this.settle.reject(thing(c.what));
      case 'throw':
        this.failure = { value: thing(c.what) };
        return this.poke();
      case 'chunk':
        this.queue.push(new Uint8Array(c.size).fill(9)); // even after the end
        return this.poke();
      case 'end':
        this.ended = true;
        return this.poke();
      case 'tick':
        return;
    }
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async *body(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 1000; i++) {
      if (this.failure) throw this.failure.value;
      if (this.queue.length > 0) yield this.queue.shift()!;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

class ChaosTransport implements Transport {
  readonly name = 'chaos';
  readonly followsRedirects = false;
  readonly streamsBodies = true;
  readonly exchanges: ChaosExchange[] = [];
  send(request: TransportRequest): Promise<TransportResponse> {
    const exchange = new ChaosExchange(request);
    this.exchanges.push(exchange);
    return exchange.response;
  }
}

describe('the grammar enforcer against a misbehaving transport (property)', () => {
  it('G3 nothing after the end, one end, only TransferErrors, whatever the transport does (property, 500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(chaosArb, { maxLength: 10 }), { minLength: 1, maxLength: 4 }),
        fc.array(chaosArb, { maxLength: 6 }),
        fc.boolean(),
        fc.nat({ max: 2 }),
        fc.oneof(fc.constant(0), fc.constant(100), fc.constant(1e9)),
        deliveryArb,
        async (scripts, late, isUpload, retry, progressInterval, kind) => {
          const timer = new VirtualTimer();
          const transport = new ChaosTransport();
          const delivery = makeDelivery(kind, timer);
          const options = { transport, timer, scheduler: delivery, retry, progressInterval, timeout: { idle: IDLE_MS }, maxRedirects: 1, responseType: 'uint8array' as const };
          const transfer: Observable<TransferEvent<unknown>> = isUpload ? upload('https://a.test/u', new Uint8Array(30), options) : download('https://a.test/d', options);
          const recorder = record(transfer, delivery);
          for (let i = 0; i < scripts.length && !recorder.ended(); i++) {
            await drive(timer, () => transport.exchanges.length > i || recorder.ended(), `exchange ${i}`);
            const exchange = transport.exchanges[i];
            if (!exchange) break;
            for (const c of scripts[i]!) {
              exchange.apply(c);
              await advance(timer, c.do === 'tick' ? c.ms : 0);
            }
          }
          await drive(timer, () => recorder.ended(), 'the end');
          // The transport keeps talking after the end: nothing may come of it.
          const endedAt = recorder.trace.length;
          for (const exchange of transport.exchanges) for (const c of late) exchange.apply(c);
          await advance(timer, 1e7);
          await advance(timer, 1e7);
          assertTransferGrammar(recorder.trace);
          expect(recorder.trace).toHaveLength(endedAt);
          expect(recorder.problems).toEqual([]);
          expect(timer.pending).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

/**
 * The enforcer on its own, fed what no transfer run emits today: the chaos above reaches it only
 * through the progress reporter, which already keeps its events in order, so a guard of the
 * enforcer that stopped working would go unseen there. Here the source says anything: progress
 * that goes back (loaded or percent), past its total, upload after download, any delta; then an
 * end of any kind, and more after it, synchronously inside subscribe() or later.
 */
type Raw =
  | { readonly k: 'progress'; readonly direction: 'upload' | 'download'; readonly loaded: number; readonly delta: number; readonly total: number | undefined; readonly percent: number; readonly attempt: number }
  | { readonly k: 'done' }
  | { readonly k: 'error'; readonly what: number }
  | { readonly k: 'complete' };

const rawArb: fc.Arbitrary<Raw> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('progress' as const),
      direction: fc.constantFrom<'upload' | 'download'>('upload', 'download'),
      loaded: fc.nat({ max: 40 }),
      delta: fc.integer({ min: -5, max: 45 }),
      total: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
      percent: fc.nat({ max: 100 }),
      attempt: fc.nat({ max: 1 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'done' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('error' as const), what: fc.nat({ max: 6 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'complete' as const }) },
);

describe('the grammar enforcer on its own (property)', () => {
  it('G2 G3 G4 G8 whatever its source says, the output is well formed, drops a progress event only when it would break G4, and ends at the first end (property, 1000 runs)', () => {
    fc.assert(
      fc.property(fc.array(rawArb, { maxLength: 14 }), fc.boolean(), (raws, sync) => {
        // Attempts never go back (the enforcer does not renumber them); percent is given only with a total.
        let attempt = 1;
        const events: Array<TransferProgress | { type: 'done'; result: object } | { error: unknown } | 'complete'> = raws.map((r) => {
          if (r.k === 'done') return { type: 'done' as const, result: {} };
          if (r.k === 'error') return { error: thing(r.what) };
          if (r.k === 'complete') return 'complete';
          attempt += r.attempt;
          return { type: 'progress' as const, direction: r.direction, loaded: r.loaded, delta: r.delta, attempt, ...(r.total !== undefined ? { total: r.total, percent: r.percent } : {}) };
        });
        const say = (to: { next(e: TransferEvent<object>): void; error(e: unknown): void; complete(): void }) => {
          for (const e of events) {
            if (e === 'complete') to.complete();
            else if ('error' in e) to.error(e.error);
            else to.next(e);
          }
        };
        const subject = new Subject<TransferEvent<object>>();
        // A synchronous source keeps calling its subscriber after the end: only the enforcer's own guards stop it.
        const source = sync ? new Observable<TransferEvent<object>>((subscriber) => say({ next: (e) => subscriber.next(e), error: (e) => subscriber.error(e), complete: () => subscriber.complete() })) : subject;
        const trace: Notification<object>[] = [];
        source.pipe(enforceGrammar<object>({ url: 'https://a.test/g', method: 'GET' })).subscribe({
          next: (value) => void trace.push({ kind: 'next', value }),
          error: (error: unknown) => void trace.push({ kind: 'error', error }),
          complete: () => void trace.push({ kind: 'complete' }),
        });
        if (!sync) say({ next: (e) => subject.next(e), error: (e) => subject.error(e), complete: () => subject.complete() });

        const end = events.findIndex((e) => typeof e === 'string' || !('type' in e) || e.type === 'done');
        // G5 (done only when complete) is the run's to keep, not the enforcer's: it passes a done on.
        expect(grammarViolations(trace, { ended: end >= 0 }).filter((v) => !v.startsWith('G5'))).toEqual([]);
        // Replay the source against the output: each progress event before the end is either
        // forwarded as it is (its delta counted from the last one shown), or dropped because
        // showing it would break G4 (an upload event after a download one is dropped in any case).
        const shown: Notification<object>[] = [];
        let sawDownload = false;
        const upTo = end >= 0 ? end : events.length;
        for (const e of events.slice(0, upTo)) {
          const p = e as TransferProgress;
          const before = [...shown].reverse().find((n) => n.kind === 'next' && n.value.type === 'progress' && n.value.direction === p.direction);
          const prev = before?.kind === 'next' ? (before.value as TransferProgress) : undefined;
          const fixed = { ...p, delta: prev ? p.loaded - prev.loaded : p.delta >= 0 && p.delta <= p.loaded ? p.delta : 0 };
          const next = trace[shown.length];
          const forwarded = next?.kind === 'next' && next.value.type === 'progress' && JSON.stringify(next.value) === JSON.stringify(fixed);
          const breaks = grammarViolations([...shown, { kind: 'next', value: fixed }], { ended: false }).length > 0 || (p.direction === 'upload' && sawDownload);
          expect({ event: fixed, forwarded }).toEqual({ event: fixed, forwarded: !breaks });
          if (p.direction === 'download') sawDownload = true;
          if (forwarded) shown.push(next);
        }
        // Then the end, the first one the source gave, and nothing else.
        const rest = trace.slice(shown.length);
        const first = events[end];
        if (end < 0) expect(rest).toEqual([]);
        else if (first === 'complete') {
          expect(rest).toHaveLength(1);
          expect(rest[0]!.kind === 'error' && isTransferError(rest[0]!.error) && rest[0]!.error.code).toBe('network');
        } else if (first && 'error' in first) {
          expect(rest).toHaveLength(1);
          const error = rest[0]!.kind === 'error' ? rest[0]!.error : undefined;
          expect(isTransferError(error)).toBe(true);
          if (isTransferError(first.error)) expect(error).toBe(first.error);
        } else {
          expect(rest).toEqual([{ kind: 'next', value: first }, { kind: 'complete' }]);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
