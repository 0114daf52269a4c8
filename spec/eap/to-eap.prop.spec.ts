import fc from 'fast-check';
import { Subject } from 'rxjs';
import {
  SynchronizationContext,
  TransferError,
  immediateContext,
  macrotaskContext,
  microtaskContext,
  isInvalidOperationError,
  isTimeoutError,
  toEap,
  type AsyncCompletedEventArgs,
  type SchedulerLike,
  type TransferEvent,
  type TransferProgressChangedEventArgs,
} from './eap-index.js';
import { collectUnhandled, fcTimer, makeContext, scriptedTransfer, settleTasks, Sequence, TornDownContext, type ContextKind, type Script, type SourceEvent } from '../helpers/eap-fakes.js';

type Cancel = 'none' | 'before' | 'mid' | 'after' | 'twice';
type Failure = 'transfer' | 'plain' | 'string' | 'throw';
interface OpSpec {
  readonly name: 'download' | 'upload';
  readonly state: number;
  readonly script: Script;
  readonly failure: Failure;
  readonly context: ContextKind;
  readonly cancel: Cancel;
}

const scriptArb: fc.Arbitrary<Script> = fc.record({
  chunks: fc.array(fc.nat({ max: 50 }), { maxLength: 4 }),
  totalKnown: fc.boolean(),
  end: fc.constantFrom('done', 'error', 'never'),
  sync: fc.boolean(),
  // A factory of the caller's own may send any percent: E8 still holds for what is raised.
  percent: fc.option(fc.constantFrom(150, 100.5, -5, 42.7, Number.NaN, Number.POSITIVE_INFINITY), { freq: 4, nil: undefined }),
});
/**
 * The userStates operations take: values that are equal to each other loosely, or by their text,
 * but not by identity (E6 compares with Object.is), and NaN, which is itself under Object.is.
 */
const STATES: readonly unknown[] = ['s0', 1, '1', { toString: () => 'same text' }, { toString: () => 'same text' }, Number.NaN];
const opArb: fc.Arbitrary<OpSpec> = fc.record({
  name: fc.constantFrom('download', 'upload'),
  state: fc.nat({ max: STATES.length - 1 }), // a small pool: reuse is frequent
  script: scriptArb,
  failure: fc.constantFrom('transfer', 'plain', 'string', 'throw'),
  // Now and then a context torn down while in use: it refuses every post from its n-th on, after
  // it took progress posts that it still delivers (Completed is then raised without it, E9).
  context: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<ContextKind>('immediate', 'microtask', 'macrotask', 'fc') },
    { weight: 1, arbitrary: fc.nat({ max: 4 }).map((n): ContextKind => ({ tornDownAfter: n })) },
  ),
  cancel: fc.constantFrom('none', 'before', 'mid', 'after', 'twice'),
});

interface Delivery {
  readonly seq: number;
  readonly op: number;
  readonly kind: 'progress' | 'completed';
  readonly event: string;
  readonly context: SynchronizationContext;
  readonly args: TransferProgressChangedEventArgs | AsyncCompletedEventArgs<unknown>;
  readonly isBusy: boolean | undefined;
}

/** Runs one generated scenario and checks E1–E11 and C5/C6 on its log. */
async function scenario(s: fc.Scheduler, specs: readonly OpSpec[], mode: 'single' | 'multiple', withTimeout: boolean, throwingHandler: boolean): Promise<void> {
  await collectUnhandled(async (unhandled) => {
    const seq = new Sequence();
    const source: SourceEvent[] = [];
    const timeouts: { seq: number; op: number }[] = [];
    const cancels: { seq: number; state: unknown }[] = [];
    const deliveries: Delivery[] = [];
    const errors = specs.map((spec, i) => (spec.failure === 'transfer' ? new TransferError('network', `op${i} failed`) : spec.failure === 'plain' ? new Error(`op${i}`) : `op${i} text`));
    const contexts = specs.map((spec, i) => makeContext(spec.context, s, `op${i}`));
    let starting = -1;
    const timer = fcTimer(s);
    const recordingTimer: SchedulerLike = {
      now: () => timer.now(),
      schedule: ((work: () => void, delay: number, state: unknown) => {
        const op = starting;
        return timer.schedule(function (this: unknown) {
          timeouts.push({ seq: seq.next(), op });
          work.call(this);
        }, delay, state);
      }) as SchedulerLike['schedule'],
    };
    const factory = (op: number) => {
      if (specs[op].failure === 'throw' && specs[op].script.end === 'error') {
        source.push({ seq: seq.next(), op, kind: 'error' });
        throw errors[op];
      }
      return scriptedTransfer(s, specs[op].script, op, source, seq, { op }, errors[op]);
    };
    const component = toEap({ download: factory, upload: factory }, { mode, timeout: withTimeout ? 1000 : undefined, scheduler: recordingTimer });
    const busy = (): boolean | undefined => (mode === 'single' ? (component as unknown as { isBusy: boolean }).isBusy : undefined);
    const stateOf = (i: number): unknown => STATES[specs[i].state];
    const pendingByState = new Map<unknown, number>(); // per the deliveries seen so far (SameValueZero: as Object.is for these states)
    const pendingOps = new Set<number>();
    const started: number[] = [];
    let cancelThrew = false;
    let throwingCalls = 0;

    const record = (kind: Delivery['kind'], event: string) => (args: TransferProgressChangedEventArgs | AsyncCompletedEventArgs<unknown>) => {
      const op = pendingByState.get(args.userState);
      expect(op).toBeDefined(); // E6: every event carries the userState of a pending operation
      deliveries.push({ seq: seq.next(), op: op as number, kind, event, context: SynchronizationContext.current, args, isBusy: busy() });
      if (kind === 'completed') {
        pendingByState.delete(args.userState);
        pendingOps.delete(op as number);
      }
    };
    for (const name of ['download', 'upload'] as const) {
      if (throwingHandler) {
        const boom = (): never => {
          throwingCalls += 1;
          throw new Error('handler failure');
        };
        component.on(`${name}Completed`, boom);
        component.on(`${name}ProgressChanged`, boom);
      }
      component.on(`${name}Completed`, record('completed', `${name}Completed`));
      component.on(`${name}ProgressChanged`, record('progress', `${name}ProgressChanged`));
    }
    const generic: TransferProgressChangedEventArgs[] = [];
    component.on('progressChanged', (e) => generic.push(e));

    const cancel = (state: unknown): void => {
      cancels.push({ seq: seq.next(), state });
      try {
        component.cancelAsync(state);
      } catch {
        cancelThrew = true;
      }
    };
    const start = (i: number): void => {
      const spec = specs[i];
      if (spec.cancel === 'before') cancel(stateOf(i));
      const expectRefusal = mode === 'single' ? pendingOps.size > 0 : pendingByState.has(stateOf(i));
      expect(busy()).toBe(mode === 'single' ? pendingOps.size > 0 : undefined); // E7
      // Registered before the call: with a synchronous context, Completed can be raised inside it.
      const previousOwner = pendingByState.get(stateOf(i));
      if (!expectRefusal) {
        pendingByState.set(stateOf(i), i);
        pendingOps.add(i);
        started.push(i);
      }
      starting = i;
      let refused: unknown;
      try {
        SynchronizationContext.run(contexts[i], () => component[`${spec.name}Async`](i, stateOf(i)));
      } catch (error) {
        refused = error;
      }
      starting = -1;
      // E6/E7: refused exactly when the userState is pending (single: when busy), with InvalidOperationError
      expect(refused === undefined ? 'accepted' : isInvalidOperationError(refused) ? 'refused' : refused).toBe(expectRefusal ? 'refused' : 'accepted');
      if (refused !== undefined) {
        expect(pendingByState.get(stateOf(i))).toBe(previousOwner);
        return;
      }
      if (spec.cancel === 'mid' || spec.cancel === 'twice') void s.schedule(Promise.resolve(), `cancel op${i}`).then(() => cancel(stateOf(i)));
      if (spec.cancel === 'twice') void s.schedule(Promise.resolve(), `cancel op${i} again`).then(() => cancel(stateOf(i)));
    };
    specs.forEach((_, i) => void s.schedule(Promise.resolve(), `start op${i}`).then(() => start(i)));

    const drain = async (): Promise<void> => {
      for (let round = 0; round < 200; round++) {
        await s.waitAll();
        await settleTasks(2);
        if (s.count() === 0) return;
      }
      throw new Error('scenario did not settle');
    };
    await drain();
    // after completion (and for operations designed never to end): cancel now
    for (const i of started) if (specs[i].cancel === 'after' || specs[i].cancel === 'twice' || pendingOps.has(i)) cancel(stateOf(i));
    await drain();

    expect(cancelThrew).toBe(false); // E10
    for (const i of started) {
      const mine = deliveries.filter((d) => d.op === i);
      const completed = mine.filter((d) => d.kind === 'completed');
      expect(completed).toHaveLength(1); // E1
      const done = completed[0];
      expect(done.event).toBe(`${specs[i].name}Completed`);
      expect(mine[mine.length - 1]).toBe(done); // E9: nothing after Completed
      for (const d of mine) {
        expect(d.context).toBe(contexts[i]); // E11: raised through the captured context
        expect(d.args.userState).toBe(stateOf(i)); // E6
      }
      const startSeq = Math.min(...source.filter((e) => e.op === i).map((e) => e.seq), Infinity);
      const terminals = [
        ...source.filter((e) => e.op === i && (e.kind === 'done' || e.kind === 'error')).map((e) => ({ seq: e.seq, kind: e.kind as string })),
        ...timeouts.filter((t) => t.op === i).map((t) => ({ seq: t.seq, kind: 'timeout' })),
        ...cancels.filter((c) => Object.is(c.state, stateOf(i)) && c.seq > startSeq && c.seq < done.seq).map((c) => ({ seq: c.seq, kind: 'cancel' })),
      ].sort((a, b) => a.seq - b.seq);
      const expected = terminals[0]?.kind;
      // The operation's timeout timer went with its Completed: it never fires after it.
      expect(timeouts.filter((t) => t.op === i && t.seq > done.seq)).toEqual([]);
      const args = done.args as AsyncCompletedEventArgs<unknown>;
      if (expected === 'done') {
        expect(args.error).toBeNull();
        expect(args.cancelled).toBe(false);
        expect(args.result).toEqual({ op: i }); // E2
      } else if (expected === 'error') {
        expect(args.cancelled).toBe(false);
        expect(args.error).toBeInstanceOf(Error); // E4
        if (typeof errors[i] === 'string') expect((args.error as Error & { cause?: unknown }).cause).toBe(errors[i]);
        else expect(args.error).toBe(errors[i]);
        expect(() => args.result).toThrow(args.error as Error); // E3
      } else if (expected === 'timeout') {
        expect(isTimeoutError(args.error)).toBe(true); // E5
      } else {
        expect(expected).toBe('cancel');
        expect(args.cancelled).toBe(true); // E10
        expect(args.error).toBeNull();
        let thrown: unknown;
        try {
          void args.result;
        } catch (error) {
          thrown = error;
        }
        expect(isInvalidOperationError(thrown)).toBe(true); // E3
      }
      // E11: progress raised in the order it happened, all of it up to the end, none after
      const endSeq = terminals[0].seq;
      const emitted = source.filter((e) => e.op === i && e.kind === 'progress' && e.seq < endSeq).map((e) => e.progress);
      const raised = mine.filter((d) => d.kind === 'progress').map((d) => (d.args as TransferProgressChangedEventArgs).progress);
      // A torn-down context loses what it refused and what it held when Completed went without it: the raised are the first ones.
      expect(raised).toEqual(contexts[i] instanceof TornDownContext ? emitted.slice(0, raised.length) : emitted);
      raised.forEach((p, k) => expect(p).toBe(emitted[k])); // the transfer's own objects
      for (const d of mine.filter((m) => m.kind === 'progress')) {
        const pct = (d.args as TransferProgressChangedEventArgs).progressPercentage;
        expect(Number.isInteger(pct) && pct >= 0 && pct <= 100).toBe(true); // E8
        const given = (d.args as TransferProgressChangedEventArgs).progress.percent;
        expect(pct).toBe(given === undefined || !Number.isFinite(given) ? 0 : Math.min(100, Math.max(0, Math.floor(given))));
      }
      // G6: ended by cancel or timeout, the transfer was unsubscribed
      if (expected === 'cancel' || expected === 'timeout') {
        if (specs[i].failure !== 'throw' || specs[i].script.end !== 'error') expect(source.some((e) => e.op === i && e.kind === 'unsubscribed')).toBe(true);
      }
      if (mode === 'single') {
        expect(done.isBusy).toBe(false); // E7: false when Completed is raised
        for (const d of mine.filter((m) => m.kind === 'progress')) expect(d.isBusy).toBe(true);
      }
    }
    expect(generic).toHaveLength(deliveries.filter((d) => d.kind === 'progress').length);
    // C5: balanced per context
    specs.forEach((_, i) => {
      const ctx = contexts[i];
      expect(ctx.counts.started).toBe(started.includes(i) ? 1 : 0);
      expect(ctx.counts.completed).toBe(ctx.counts.started);
      expect(ctx.outstandingOperations).toBe(0);
    });
    // C6: every handler failure was reported, none stopped a delivery, and so was every post a context refused
    const refusals = contexts.reduce((sum, c) => sum + (c instanceof TornDownContext ? c.refusals : 0), 0);
    expect(unhandled).toHaveLength(throwingCalls + refusals);
    if (mode === 'single') expect(busy()).toBe(false);
  });
}

describe('toEap under random interleavings (property)', () => {
  it('E1 E3 E4 E5 E6 E9 E10 E11 C5 C6 hold for random concurrent operations, failures, timeouts, cancels and contexts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(opArb, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.boolean(), (s, specs, withTimeout, throwing) =>
        scenario(s, specs, 'multiple', withTimeout, throwing),
      ),
      { numRuns: 500 },
    );
  });

  it('E7 single-invocation mode: refused while busy, isBusy exactly between call and Completed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(opArb, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.boolean(), (s, specs, withTimeout, throwing) =>
        scenario(s, specs, 'single', withTimeout, throwing),
      ),
      { numRuns: 500 },
    );
  });
});

describe('toEap: cancelling the operations started without a userState (property)', () => {
  it('E1 E10 cancelAsync() and cancelAllAsync() cancel every operation still running, once each, whatever their contexts; those already done stay done (property, 300 runs)', async () => {
    const contextOf = { immediate: immediateContext, microtask: microtaskContext, macrotask: macrotaskContext } as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ context: fc.constantFrom<keyof typeof contextOf>('immediate', 'microtask', 'macrotask'), end: fc.constantFrom('running', 'done', 'done-unraised') }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom('cancelAsync', 'cancelAllAsync'),
        async (ops, how) => {
          const subjects = ops.map(() => new Subject<TransferEvent<number>>());
          let started = 0;
          const component = toEap({ get: () => subjects[started++]! });
          const completed: AsyncCompletedEventArgs<unknown>[] = [];
          component.on('getCompleted', (e) => completed.push(e));
          // Calls without a userState run side by side (E6); each on its own context.
          ops.forEach((op) => SynchronizationContext.run(contextOf[op.context](), () => component.getAsync()));
          ops.forEach((op, i) => op.end === 'done' && subjects[i]!.next({ type: 'done', result: i }));
          await settleTasks(2); // their Completed raised
          // Done, its Completed not yet raised (posted to its context): the cancel comes too late for it.
          ops.forEach((op, i) => op.end === 'done-unraised' && subjects[i]!.next({ type: 'done', result: i }));
          if (how === 'cancelAsync') component.cancelAsync();
          else component.cancelAllAsync();
          await settleTasks(2);
          expect(completed).toHaveLength(ops.length); // E1: once each, none lost
          const results = completed.filter((e) => !e.cancelled).map((e) => e.result as number).sort();
          expect(results).toEqual(ops.flatMap((op, i) => (op.end === 'running' ? [] : [i])));
          expect(completed.filter((e) => e.cancelled)).toHaveLength(ops.filter((op) => op.end === 'running').length);
          for (const subject of subjects) expect(subject.observed).toBe(false); // G6: every transfer let go
        },
      ),
      { numRuns: 300 },
    );
  });
});
