import { Observable, VirtualTimeScheduler, from, observeOn, queueScheduler, take, tap, timer as rxTimer } from 'rxjs';
import { animationFrameContext, contextScheduler, immediateContext, schedulerContext, observeOnContext, toEap, zoneContext, SynchronizationContext, type ZoneLike } from '../eap/eap-index.js';
import { collectUnhandled, settleTasks } from '../helpers/eap-fakes.js';

describe('contexts: edge cases', () => {
  it('C6 E1 E7 a zone whose run throws once does not stop later deliveries nor leave an EAP component busy forever', async () => {
    await collectUnhandled(async (unhandled) => {
      let failures = 1;
      const zone: ZoneLike = {
        run: <T>(fn: () => T): T => {
          if (failures > 0) {
            failures -= 1;
            throw new Error('zone refused');
          }
          return fn();
        },
      };
      const ctx = zoneContext(zone);
      const log: number[] = [];
      ctx.post(() => log.push(1));
      await settleTasks(2);
      ctx.post(() => log.push(2));
      await settleTasks(2);
      expect(log).toEqual([1, 2]); // nothing lost, and the context still delivers
      expect(unhandled.map((e) => (e as Error).message)).toEqual(['zone refused']); // and the zone's error is reported

      // The same through an EAP component in single mode: the next operation must complete.
      failures = 1;
      const component = toEap({ job: () => new Observable<never>((s) => { s.next({ type: 'done', result: 1 } as never); s.complete(); }) }, { mode: 'single' });
      const completed: unknown[] = [];
      component.on('jobCompleted', (e) => completed.push(e.result));
      SynchronizationContext.run(ctx, () => component.jobAsync());
      await settleTasks(2);
      expect(component.isBusy).toBe(false);
      SynchronizationContext.run(ctx, () => component.jobAsync());
      await settleTasks(2);
      expect(completed).toEqual([1, 1]);
      expect(ctx.outstandingOperations).toBe(0);
    });
  });

  it('C6 an error thrown by the zone after it ran the batch (change detection) is reported, not left uncaught', async () => {
    await collectUnhandled(async (unhandled) => {
      const ctx = zoneContext({ run: <T>(fn: () => T): T => { fn(); throw new Error('change detection failed'); } });
      const log: number[] = [];
      ctx.post(() => log.push(1));
      await settleTasks(2);
      ctx.post(() => log.push(2));
      await settleTasks(2);
      expect(log).toEqual([1, 2]);
      expect(unhandled.map((e) => (e as Error).message)).toEqual(['change detection failed', 'change detection failed']);
    });
  });

  it('observeOnContext on a synchronous context stops a synchronous source when the consumer unsubscribes, as observeOn(queueScheduler) does', () => {
    function* naturals(counter: { produced: number }): Generator<number> {
      // Bounded so that the defect shows as a count rather than a hang.
      for (let i = 0; i < 10_000; i++) {
        counter.produced += 1;
        yield i;
      }
    }
    const viaRx = { produced: 0 };
    const rx: number[] = [];
    from(naturals(viaRx)).pipe(observeOn(queueScheduler), take(3)).subscribe((v) => rx.push(v));
    const viaCtx = { produced: 0 };
    const got: number[] = [];
    from(naturals(viaCtx)).pipe(observeOnContext(immediateContext()), take(3)).subscribe((v) => got.push(v));
    expect(got).toEqual(rx);
    expect(viaCtx.produced).toBeLessThanOrEqual(viaRx.produced + 1); // not the whole source
  });

  it('C3 a maxFrameWaitMs past what a platform timer keeps (2^31 - 1 ms, or Infinity) waits for the frame instead of running at once', async () => {
    for (const maxFrameWaitMs of [Infinity, 2 ** 31, 40 * 24 * 3600 * 1000]) {
      let frame: (() => void) | undefined;
      const ctx = animationFrameContext({ requestAnimationFrame: (cb) => (frame = () => cb(0)), maxFrameWaitMs });
      const ran: number[] = [];
      ctx.post(() => ran.push(1));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(ran).toEqual([]); // still waiting for its frame
      frame!();
      expect(ran).toEqual([1]);
    }
  });

  it('C3 a requestAnimationFrame that throws: the post does not fail, the batch runs from the macrotask queue, once, in order', async () => {
    let calls = 0;
    const ctx = animationFrameContext({
      requestAnimationFrame: () => {
        calls++;
        throw new Error('detached document');
      },
      maxFrameWaitMs: 50,
    });
    const ran: number[] = [];
    expect(() => ctx.post(() => ran.push(1))).not.toThrow();
    ctx.post(() => ran.push(2));
    await settleTasks(2);
    expect(ran).toEqual([1, 2]);
    ctx.post(() => ran.push(3));
    await settleTasks(2);
    expect(ran).toEqual([1, 2, 3]);
    expect(calls).toBe(2);
    // The batches' timers found them done: nothing runs twice.
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(ran).toEqual([1, 2, 3]);
  });

  it('G2 C3 a batch waiting for its frame runs as soon as the page becomes hidden (frames stop then), whatever maxFrameWaitMs; the listener goes with it', async () => {
    const g = globalThis as { document?: unknown };
    const had = 'document' in g;
    const saved = g.document;
    const page = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    let listening = 0;
    const add = page.addEventListener.bind(page);
    const remove = page.removeEventListener.bind(page);
    page.addEventListener = (type: string, listener: EventListenerOrEventListenerObject | null) => {
      if (type === 'visibilitychange') listening++;
      add(type, listener);
    };
    page.removeEventListener = (type: string, listener: EventListenerOrEventListenerObject | null) => {
      if (type === 'visibilitychange') listening--;
      remove(type, listener);
    };
    g.document = page;
    try {
      const never = () => undefined;
      const ctx = animationFrameContext({ requestAnimationFrame: never, maxFrameWaitMs: Infinity });
      const ran: string[] = [];
      ctx.post(() => ran.push('done'));
      await settleTasks(2);
      expect(ran).toEqual([]); // visible: waiting for its frame
      page.visibilityState = 'hidden';
      page.dispatchEvent(new Event('visibilitychange'));
      expect(ran).toEqual(['done']);
      expect(listening).toBe(0);
      // A frame that comes first also stops the listening.
      page.visibilityState = 'visible';
      let frame: (() => void) | undefined;
      const framed = animationFrameContext({ requestAnimationFrame: (cb) => (frame = () => cb(0)), maxFrameWaitMs: Infinity });
      framed.post(() => ran.push('framed'));
      expect(listening).toBe(1);
      frame!();
      expect(ran).toEqual(['done', 'framed']);
      expect(listening).toBe(0);
    } finally {
      if (had) g.document = saved;
      else delete g.document;
    }
  });

  it('observeOnContext drops nothing for a synchronous source that completes normally', () => {
    const seen: number[] = [];
    let finished = false;
    from([1, 2, 3]).pipe(tap(() => undefined), observeOnContext(immediateContext())).subscribe({ next: (v) => seen.push(v), complete: () => (finished = true) });
    expect(seen).toEqual([1, 2, 3]);
    expect(finished).toBe(true);
  });

  it('G2 observeOnContext: a context whose post throws ends the stream with that error, as observeOn does for a throwing scheduler, instead of leaving it without an end', async () => {
    await collectUnhandled(async (unhandled) => {
      let accept = 2;
      class Refusing extends SynchronizationContext {
        protected override dispatch(task: () => void): void {
          if (accept-- <= 0) throw new Error('post refused');
          queueMicrotask(task);
        }
      }
      let complete = (): void => undefined;
      const source = new Observable<number>((s) => {
        s.next(1);
        s.next(2);
        complete = () => s.complete(); // later: the terminal post is the one refused
      });
      const log: string[] = [];
      const sub = source.pipe(observeOnContext(new Refusing())).subscribe({
        next: (v) => log.push(`next ${v}`),
        error: (e: Error) => log.push(`error ${e.message}`),
        complete: () => log.push('complete'),
      });
      await settleTasks(1);
      complete();
      expect(log).toEqual(['next 1', 'next 2', 'error post refused']);
      expect(unhandled).toEqual([]);
      sub.unsubscribe();
    });
  });

  it('C4 C6 contextScheduler: a delayed action whose post the context refuses is reported, not thrown out of the timer, and its work still runs (in place, the context current), so the stream ends', async () => {
    await collectUnhandled(async (unhandled) => {
      class Refusing extends SynchronizationContext {
        protected override dispatch(): void {
          throw new Error('context closed');
        }
      }
      const ctx = new Refusing();
      const scheduler = contextScheduler(ctx);
      // An immediate action: the caller of schedule() is told (observeOn ends its stream with it).
      expect(() => scheduler.schedule(() => undefined)).toThrow('context closed');
      expect(unhandled).toEqual([]);
      // A delayed one has no caller left: reported (C6), never an uncaught exception from the timer.
      const log: string[] = [];
      rxTimer(5, scheduler).subscribe({ next: () => log.push(`next, current: ${SynchronizationContext.current === ctx}`), complete: () => log.push('complete') });
      for (let i = 0; i < 100 && log.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(log).toEqual(['next, current: true', 'complete']);
      expect(unhandled.map((e) => (e as Error).message)).toEqual(['context closed']);
    });
  });

  it('C4 C6 contextScheduler: a refused delayed post does not break the timer scheduler\'s flush (RxJS dropped every other action due then)', async () => {
    await collectUnhandled(async (unhandled) => {
      const timer = new VirtualTimeScheduler();
      const refusing = contextScheduler(new (class extends SynchronizationContext {
        protected override dispatch(): void {
          throw new Error('context closed');
        }
      })(), { timer });
      const other = contextScheduler(immediateContext(), { timer });
      const log: string[] = [];
      refusing.schedule(() => log.push('refused, run in place'), 10);
      other.schedule(() => log.push('other'), 10);
      expect(() => timer.flush()).not.toThrow();
      expect(log).toEqual(['refused, run in place', 'other']);
      expect(unhandled).toHaveLength(1);
    });
  });

  it('C1 C6 schedulerContext: a scheduler dropping one of its actions (another action threw in the same flush) does not hold back every later callback', () => {
    const scheduler = new VirtualTimeScheduler();
    const ctx = schedulerContext(scheduler);
    const log: string[] = [];
    ctx.post(() => log.push('a'));
    scheduler.schedule(() => {
      throw new Error('someone else\'s action');
    });
    ctx.post(() => log.push('b'));
    expect(() => scheduler.flush()).toThrow("someone else's action"); // the scheduler drops the actions left in its flush
    ctx.post(() => log.push('c'));
    scheduler.flush();
    expect(log).toEqual(['a', 'b', 'c']); // with one action per callback, 'c' waited for a post that may never come
  });
  it('C1 schedulerContext: a post whose scheduling throws runs nothing later (the caller was told it failed)', () => {
    const scheduler = new VirtualTimeScheduler();
    let refuse = false;
    const picky = {
      now: () => scheduler.now(),
      schedule: (work: () => void) => {
        if (refuse) throw new Error('scheduler full');
        return scheduler.schedule(work);
      },
    } as unknown as VirtualTimeScheduler;
    const ctx = schedulerContext(picky);
    const log: string[] = [];
    refuse = true;
    expect(() => ctx.post(() => log.push('refused'))).toThrow('scheduler full');
    refuse = false;
    ctx.post(() => log.push('b'));
    scheduler.flush();
    expect(log).toEqual(['b']); // the refused callback, run as well, would be a second Completed after the fallback one
  });
});

describe('schedulerContext: posts interleave with the rest of the scheduler\'s work as they were scheduled', () => {
  it('C1 C4 two contexts on one scheduler deliver in the order their callbacks were posted', () => {
    const scheduler = new VirtualTimeScheduler();
    const a = schedulerContext(scheduler);
    const b = schedulerContext(scheduler);
    const log: string[] = [];
    a.post(() => log.push('a1'));
    b.post(() => log.push('b1'));
    a.post(() => log.push('a2'));
    scheduler.flush();
    expect(log).toEqual(['a1', 'b1', 'a2']);
  });

  it('C1 C4 an action scheduled directly between two posts runs between them', () => {
    const scheduler = new VirtualTimeScheduler();
    const ctx = schedulerContext(scheduler);
    const log: string[] = [];
    ctx.post(() => log.push('a'));
    scheduler.schedule(() => void log.push('x'));
    ctx.post(() => log.push('b'));
    scheduler.flush();
    expect(log).toEqual(['a', 'x', 'b']);
  });

  it('C1 a callback that posts again while the context drains runs once, after the ones already waiting', () => {
    const scheduler = new VirtualTimeScheduler();
    const ctx = schedulerContext(scheduler);
    const log: string[] = [];
    ctx.post(() => {
      log.push('a');
      ctx.post(() => log.push('c'));
    });
    ctx.post(() => log.push('b'));
    scheduler.flush();
    expect(log).toEqual(['a', 'b', 'c']);
  });
});
