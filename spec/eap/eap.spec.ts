import { Observable, Subscription, firstValueFrom, fromEvent, lastValueFrom, take, toArray } from 'rxjs';
import {
  AsyncCompletedEventArgs,
  AsyncOperationManager,
  ProgressChangedEventArgs,
  SynchronizationContext,
  TimeoutError,
  fromEap,
  TransferError,
  immediateContext,
  isInvalidOperationError,
  isTimeoutError,
  isTransferError,
  microtaskContext,
  schedulerContext,
  toEap,
  zoneContext,
  type SchedulerLike,
  type Transfer,
  type TransferProgress,
} from './eap-index.js';
import { collectUnhandled, countOperations, settleTasks } from '../helpers/eap-fakes.js';

const progress = (loaded: number, total = 10): TransferProgress => ({
  type: 'progress', direction: 'download', loaded, delta: loaded, total, percent: Math.floor((loaded * 100) / total), attempt: 1,
});
/** A transfer whose steps the test releases by hand. */
function manual<R>() {
  let sub: { next(v: unknown): void; error(e: unknown): void; complete(): void } | undefined;
  let unsubscribed = 0;
  const transfer: Transfer<R> = new Observable((s) => {
    sub = s as never;
    return () => void (unsubscribed += 1);
  });
  return {
    transfer,
    progress: (n: number) => sub?.next(progress(n)),
    done: (result: R) => { sub?.next({ type: 'done', result }); sub?.complete(); },
    fail: (e: unknown) => sub?.error(e),
    get unsubscribed() { return unsubscribed; },
  };
}

describe('EAP types', () => {
  it('E3 reading result throws the error on failure and InvalidOperationError on cancel', () => {
    const failure = new TransferError('network', 'down');
    const failed = AsyncCompletedEventArgs.failure<number>(failure, 'u');
    expect(() => failed.result).toThrow(failure);
    expect(() => failed.raiseExceptionIfNecessary()).toThrow(failure);
    const cancelled = AsyncCompletedEventArgs.cancellation<number>('u');
    let thrown: unknown;
    try { void cancelled.result; } catch (e) { thrown = e; }
    expect(isInvalidOperationError(thrown)).toBe(true);
    expect((thrown as Error).message).toMatch(/cancelled/);
    expect((thrown as Error).name).toBe('InvalidOperationError');
    expect(AsyncCompletedEventArgs.success(7, 'u').result).toBe(7);
  });

  it('E8 progressPercentage is always an integer percentage, 0 when unknown', () => {
    for (const [input, out] of [[42.9, 42], [-3, 0], [250, 100], [Number.NaN, 0], [Infinity, 0], [100, 100]] as const) {
      expect(new ProgressChangedEventArgs(input, null).progressPercentage).toBe(out);
    }
  });

  it('E11 an AsyncOperation posts through the captured context and refuses posts after completion', async () => {
    const ctx = microtaskContext();
    const op = SynchronizationContext.run(ctx, () => AsyncOperationManager.createOperation('u'));
    expect(op.synchronizationContext).toBe(ctx);
    expect(op.userSuppliedState).toBe('u');
    const seen: SynchronizationContext[] = [];
    op.post(() => seen.push(SynchronizationContext.current));
    op.postOperationCompleted(() => seen.push(SynchronizationContext.current));
    expect(() => op.post(() => undefined)).toThrow(/already completed/);
    expect(() => op.operationCompleted()).toThrow(/already completed/);
    await settleTasks(1);
    expect(seen).toEqual([ctx, ctx]);
    expect(ctx.outstandingOperations).toBe(0);
  });
});

describe('toEap', () => {
  it('E1 Completed is raised exactly once on success, error, cancel and timeout', async () => {
    const ok = manual<string>();
    const bad = manual<string>();
    const hung = manual<string>();
    const slow = manual<string>();
    const all = [ok, bad, hung, slow];
    const component = toEap({ get: (i: number) => all[i].transfer }, { timeout: 20 });
    const completed: AsyncCompletedEventArgs<string>[] = [];
    component.on('getCompleted', (e) => completed.push(e));
    all.forEach((_, i) => component.getAsync(i, i));
    ok.done('yes');
    bad.fail(new TransferError('http', 'nope'));
    component.cancelAsync(2);
    component.cancelAsync(2);
    await new Promise((r) => setTimeout(r, 40));
    ok.done('again');
    await settleTasks(2);
    expect(completed.map((e) => e.userState)).toEqual([0, 1, 2, 3]);
    expect(completed[0].result).toBe('yes');
    expect(completed[1].error?.message).toBe('nope');
    expect(completed[2].cancelled).toBe(true);
    expect(isTimeoutError(completed[3].error)).toBe(true);
  });

  it('E2 e.result is typed by the operation result without a cast (see eap-types.check.ts) and holds it', async () => {
    const component = toEap({ size: (text: string): Transfer<{ length: number }> => new Observable((s) => { s.next({ type: 'done', result: { length: text.length } }); s.complete(); }) });
    const e = await new Promise<AsyncCompletedEventArgs<{ length: number }>>((resolve) => {
      component.on('sizeCompleted', resolve);
      component.sizeAsync('four', 'u');
    });
    const length: number = e.result.length;
    expect(length).toBe(4);
  });

  it('E4 every failure lands in error: factory throws, bad return, non-Error values, empty completion', async () => {
    await collectUnhandled(async (unhandled) => {
      const component = toEap({
        throws: () => { throw new TypeError('bad argument'); },
        notObservable: () => 42 as never,
        rejectsString: () => new Observable<never>((s) => s.error('plain text')),
        empty: () => new Observable<never>((s) => s.complete()),
        weird: () => new Observable<never>((s) => s.next({ type: 'strange' } as never)),
      });
      const errors: Record<string, Error | null> = {};
      for (const name of ['throws', 'notObservable', 'rejectsString', 'empty', 'weird'] as const) {
        component.on(`${name}Completed`, (e) => void (errors[name] = e.error));
        expect(() => component[`${name}Async`](name)).not.toThrow();
      }
      await settleTasks(2);
      expect(errors.throws).toBeInstanceOf(TypeError);
      expect(errors.notObservable?.message).toMatch(/did not return an Observable/);
      expect(isTransferError(errors.rejectsString)).toBe(true);
      expect((errors.rejectsString as Error & { cause: unknown }).cause).toBe('plain text');
      expect(errors.empty?.message).toMatch(/without a result/);
      expect(errors.weird?.message).toMatch(/unknown event/);
      expect(unhandled).toEqual([]);
    });
  });

  it('E5 a timeout raises Completed with a TimeoutError and frees the transfer', async () => {
    const hung = manual<string>();
    const component = toEap({ get: () => hung.transfer }, { timeout: 10 });
    const e = await new Promise<AsyncCompletedEventArgs<string>>((resolve) => {
      component.on('getCompleted', resolve);
      component.getAsync('t');
    });
    expect(e.error).toBeInstanceOf(TimeoutError);
    expect((e.error as TimeoutError).phase).toBe('total');
    expect((e.error as TimeoutError).ms).toBe(10);
    expect(hung.unsubscribed).toBe(1);
    expect(() => toEap({ get: () => hung.transfer }, { timeout: -1 })).toThrow(TypeError);
  });

  it('an arity that is not a whole number of arguments is refused when the adapter is made (toEap and fromEap)', () => {
    const get = (url: string): Transfer<string> => new Observable((s) => s.next({ type: 'done', result: url }));
    for (const arity of [-1, 1.5, Number.NaN, Infinity, '1' as unknown as number]) {
      expect(() => toEap({ get }, { arity: { get: arity } })).toThrow(/arity of get must be a whole number/);
      expect(() => fromEap(toEap({ get }), 'get', { arity })).toThrow(/arity must be a whole number/);
    }
    expect(() => fromEap(toEap({ get }, { arity: { get: 1 } }), 'get', { arity: 1 })).not.toThrow();
  });

  it('E5 a timeout longer than a platform timer keeps (2^31 ms, 24.8 days) does not fire at once', async () => {
    const hung = manual<string>();
    const thirtyDays = 30 * 24 * 3600 * 1000;
    const component = toEap({ get: () => hung.transfer }, { timeout: thirtyDays });
    const completed: unknown[] = [];
    component.on('getCompleted', (e) => completed.push(e.error));
    const warnings: unknown[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      component.getAsync('t');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(completed).toEqual([]);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
      component.cancelAsync('t');
      await settleTasks(2);
      expect(completed).toHaveLength(1);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('E6 a pending userState that cannot be turned into text is still refused with InvalidOperationError', () => {
    const hung = manual<string>();
    const component = toEap({ get: () => hung.transfer });
    const token = Object.create(null) as object;
    component.getAsync(token);
    let refusal: unknown;
    try { component.getAsync(token); } catch (e) { refusal = e; }
    expect(isInvalidOperationError(refusal)).toBe(true);
    expect((refusal as Error).message).toMatch(/\(object\) belongs to an operation still pending/);
    component.cancelAsync(token);
  });

  it('E6 Completed and ProgressChanged carry the userState; a pending userState cannot be reused', async () => {
    const a = manual<string>();
    const b = manual<string>();
    const component = toEap({ get: (i: number) => [a, b][i].transfer });
    const log: unknown[] = [];
    component.on('getProgressChanged', (e) => log.push(['p', e.userState, e.progressPercentage]));
    component.on('getCompleted', (e) => log.push(['c', e.userState]));
    const key = { job: 1 };
    component.getAsync(0, key);
    let refusal: unknown;
    try { component.getAsync(1, key); } catch (e) { refusal = e; }
    expect(isInvalidOperationError(refusal)).toBe(true);
    expect((refusal as Error).message).toMatch(/still pending/);
    component.getAsync(1, 'other');
    a.progress(5);
    b.done('b');
    a.done('a');
    await settleTasks(2);
    expect(log).toEqual([['p', key, 50], ['c', 'other'], ['c', key]]);
    expect(() => component.getAsync(0, key)).not.toThrow(); // free again after its Completed
    // without a userState, concurrent calls are allowed
    expect(() => { component.getAsync(1); component.getAsync(1); }).not.toThrow();
  });

  it('E6 E7 E10 a null userState means none, as fromEap takes it: null calls run side by side, events carry null, cancelAsync(null) is cancelAsync()', async () => {
    const runs = [manual<string>(), manual<string>(), manual<string>(), manual<string>()];
    let next = 0;
    const multi = toEap({ get: () => runs[next++].transfer });
    const log: unknown[] = [];
    multi.on('getCompleted', (e) => log.push([e.userState, e.cancelled]));
    multi.getAsync(null);
    expect(() => multi.getAsync(null)).not.toThrow(); // E6: none is not a pending userState
    multi.getAsync();
    multi.getAsync('kept');
    multi.cancelAsync(null); // the three started without a userState
    await settleTasks(1);
    expect(log).toEqual([[null, true], [null, true], [undefined, true]]);
    expect(runs.map((r) => r.unsubscribed)).toEqual([1, 1, 1, 0]);
    runs[3].done('k');
    await settleTasks(1);
    expect(log[3]).toEqual(['kept', false]);

    const t = manual<string>();
    const single = toEap({ get: () => t.transfer }, { mode: 'single' });
    const ends: boolean[] = [];
    single.on('getCompleted', (e) => ends.push(e.cancelled));
    single.getAsync();
    single.cancelAsync(null); // single mode: the one in progress, as cancelAsync()
    await settleTasks(1);
    expect(ends).toEqual([true]);
    expect(single.isBusy).toBe(false);
    expect(t.unsubscribed).toBe(1);
  });

  it('E1 E4 E7 C5 a throw on the way to starting the transfer (the context, the timeout scheduler) is the operation\'s error, and the component stays usable', async () => {
    const never = (): Transfer<string> => new Observable<never>(() => undefined);
    let refusals = 1;
    const zone = { run: <T>(fn: () => T): T => fn(), runOutsideAngular: <T>(fn: () => T): T => { if (refusals-- > 0) throw new Error('zone gone'); return fn(); } };
    const noTimers: SchedulerLike = { now: () => 0, schedule: () => { throw new Error('no timers'); } };
    for (const [context, options, message] of [
      [zoneContext(zone), {}, 'zone gone'],
      [microtaskContext(), { timeout: 10, scheduler: noTimers }, 'no timers'],
    ] as const) {
      const counted = countOperations(context);
      const component = toEap({ op: never }, { mode: 'single', ...options });
      const completed: Array<string | undefined> = [];
      component.on('opCompleted', (e) => void completed.push(e.error?.message));
      expect(() => SynchronizationContext.run(counted, () => component.opAsync())).not.toThrow();
      await settleTasks(3);
      expect({ completed, isBusy: component.isBusy, counts: { ...counted.counts } }).toEqual({ completed: [message], isBusy: false, counts: { started: 1, completed: 1 } });
    }
  });

  it('E1 E9 C5 C6 a context whose post throws still gets Completed, once, with nothing after it, and the refusal is reported', async () => {
    await collectUnhandled(async (errors) => {
      // A user's context whose post refuses every call.
      class Refusing extends SynchronizationContext {
        override post(): void {
          throw new Error('post refused');
        }
      }
      const t = manual<string>();
      const refusing = countOperations(new Refusing());
      const single = toEap({ get: () => t.transfer }, { mode: 'single' });
      const seen: Array<[string, boolean, boolean]> = [];
      single.on('getCompleted', (e) => seen.push([e.result, single.isBusy, SynchronizationContext.current === refusing]));
      SynchronizationContext.run(refusing, () => single.getAsync());
      t.progress(5); // its post throws too: dropped, reported
      t.done('x');
      expect(seen).toEqual([['x', false, true]]);
      expect(single.isBusy).toBe(false);
      expect({ ...refusing.counts }).toEqual({ started: 1, completed: 1 });
      expect(errors.map((e) => (e as Error).message)).toEqual(['post refused', 'post refused']);
      // A context whose scheduler takes the progress posts, then throws while scheduling: the
      // Completed raised in its place is the last event; the progress queued before it is not raised after it.
      errors.length = 0;
      let accept = 2;
      const actions: Array<() => void> = [];
      const flaky: SchedulerLike = {
        now: () => 0,
        schedule: (work: () => void) => {
          if (accept-- <= 0) throw new Error('scheduler full');
          actions.push(work);
          return new Subscription();
        },
      } as unknown as SchedulerLike;
      const u = manual<string>();
      const multi = toEap({ get: () => u.transfer });
      const log: string[] = [];
      multi.on('progressChanged', (e) => log.push(`p${e.progressPercentage}`));
      multi.on('getCompleted', (e) => log.push(`done ${e.result}`));
      SynchronizationContext.run(schedulerContext(flaky), () => multi.getAsync('s'));
      u.progress(2);
      u.progress(4);
      u.done('y');
      for (const action of actions.splice(0)) action();
      expect(log).toEqual(['done y']);
      expect(errors.map((e) => (e as Error).message)).toEqual(['scheduler full']);
      expect(() => multi.getAsync('s')).not.toThrow(); // its userState is free again
    });
  });

  it('E7 a call while busy throws InvalidOperationError; isBusy spans call to Completed', async () => {
    const t = manual<string>();
    const component = toEap({ get: () => t.transfer, put: () => t.transfer }, { mode: 'single' });
    expect(component.isBusy).toBe(false);
    component.getAsync();
    expect(component.isBusy).toBe(true);
    expect(() => component.getAsync()).toThrow(/one operation at a time/);
    expect(() => component.putAsync()).toThrow(/one operation at a time/);
    const busyAtCompleted: boolean[] = [];
    component.on('getCompleted', () => busyAtCompleted.push(component.isBusy));
    t.done('x');
    expect(component.isBusy).toBe(true); // Completed not raised yet
    await settleTasks(1);
    expect(busyAtCompleted).toEqual([false]);
    expect(component.isBusy).toBe(false);
    expect('isBusy' in toEap({ get: () => t.transfer })).toBe(false);
  });

  it('E9 no ProgressChanged after Completed, even for progress emitted after the cancel', async () => {
    const t = manual<string>();
    const component = toEap({ get: () => t.transfer });
    const log: string[] = [];
    component.on('progressChanged', (e) => log.push(`p${e.progressPercentage}`));
    component.on('getCompleted', (e) => log.push(e.cancelled ? 'cancelled' : 'done'));
    component.getAsync('u');
    t.progress(2);
    component.cancelAsync('u');
    t.progress(4);
    t.done('late');
    await settleTasks(2);
    expect(log).toEqual(['p20', 'cancelled']);
  });

  it('E10 cancelAsync never throws, for unknown, finished or repeated userStates, and cancelled is true', async () => {
    await collectUnhandled(async () => {
      const t = manual<string>();
      const component = toEap({ get: () => t.transfer });
      const events: AsyncCompletedEventArgs<string>[] = [];
      component.on('getCompleted', (e) => events.push(e));
      expect(() => component.cancelAsync('nobody')).not.toThrow();
      expect(() => component.cancelAsync()).not.toThrow();
      component.getAsync('u');
      component.cancelAsync('u');
      component.cancelAsync('u');
      await settleTasks(1);
      expect(() => component.cancelAsync('u')).not.toThrow();
      expect(events).toHaveLength(1);
      expect(events[0].cancelled).toBe(true);
      expect(t.unsubscribed).toBe(1);
      // even a transfer whose teardown throws
      const rude = toEap({ get: () => new Observable<never>(() => () => { throw new Error('teardown'); }) });
      rude.getAsync('r');
      expect(() => rude.cancelAsync('r')).not.toThrow();
      expect(() => rude.cancelAllAsync()).not.toThrow();
    });
  });

  it('E11 events are raised through the context captured at the call, in order', async () => {
    const ui = microtaskContext();
    const t = manual<string>();
    const component = toEap({ get: () => t.transfer });
    const log: string[] = [];
    component.on('progressChanged', (e) => log.push(`${e.progressPercentage}:${SynchronizationContext.current === ui}`));
    component.on('getCompleted', () => log.push(`done:${SynchronizationContext.current === ui}`));
    SynchronizationContext.run(ui, () => component.getAsync('u'));
    t.progress(1);
    t.progress(5);
    t.progress(10);
    t.done('x'); // outside any context: still raised on ui
    expect(log).toEqual([]);
    await settleTasks(1);
    expect(log).toEqual(['10:true', '50:true', '100:true', 'done:true']);
  });

  it('E11 RxJS fromEvent works on a component; one component exposes several operations sharing cancelAsync', async () => {
    const d = manual<string>();
    const u = manual<number>();
    const component = toEap({ download: () => d.transfer, upload: () => u.transfer });
    const downloads = firstValueFrom(fromEvent<AsyncCompletedEventArgs<string>>(component, 'downloadCompleted'));
    const uploads = lastValueFrom(fromEvent<AsyncCompletedEventArgs<number>>(component, 'uploadCompleted').pipe(take(1), toArray()));
    SynchronizationContext.run(immediateContext(), () => {
      component.downloadAsync('d');
      component.uploadAsync('u');
    });
    d.done('file');
    component.cancelAsync('u');
    expect((await downloads).result).toBe('file');
    expect((await uploads)[0].cancelled).toBe(true);
    expect(component.listenerCount('downloadCompleted')).toBe(0); // fromEvent removed its handler
  });
});
