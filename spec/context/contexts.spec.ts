import fc from 'fast-check';
import { Observable, VirtualTimeScheduler, asapScheduler, interval, take } from 'rxjs';
import {
  AsyncOperationManager,
  SynchronizationContext,
  animationFrameContext,
  contextScheduler,
  immediateContext,
  macrotaskContext,
  microtaskContext,
  observeOnContext,
  schedulerContext,
  setContextStore,
  stackContextStore,
  toEap,
  zoneContext,
  type ZoneLike,
} from '../eap/eap-index.js';
import { asyncLocalContextStore } from '../../lib/node/context-node.js';
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { download } from 'rxtransfer';
import { FakeTransport } from 'rxtransfer/testing';
import { collectUnhandled, settleTasks } from '../helpers/eap-fakes.js';

const asyncContexts = {
  microtask: () => microtaskContext(),
  macrotask: () => macrotaskContext(),
  freeThreaded: () => new SynchronizationContext(),
  animationFrame: () => animationFrameContext(),
  zone: () => zoneContext({ run: <T>(fn: () => T): T => fn() }),
  scheduler: () => schedulerContext(asapScheduler),
};

describe('synchronization contexts', () => {
  it.each(Object.entries(asyncContexts))('C1 post on %s runs later, in FIFO order, with the context as current', async (_, make) => {
    const ctx = make();
    const log: string[] = [];
    ctx.post(() => {
      log.push(`a:${SynchronizationContext.current === ctx}`);
      ctx.post(() => log.push('c'));
    });
    ctx.post(() => log.push('b'));
    expect(log).toEqual([]); // asynchronous
    await settleTasks(10);
    expect(log).toEqual(['a:true', 'b', 'c']);
    expect(ctx.send(() => 42)).toBe(42); // send is synchronous
    expect(ctx.send(() => SynchronizationContext.current)).toBe(ctx);
  });

  it('C1 post keeps FIFO order for any sequence of posts, nested or not (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(asyncContexts), 'immediate'), fc.array(fc.nat({ max: 3 }), { maxLength: 30 }), async (kind, nesting) => {
        const ctx = kind === 'immediate' ? immediateContext() : asyncContexts[kind as keyof typeof asyncContexts]();
        const log: number[] = [];
        let next = 0;
        const expected: number[] = [];
        nesting.forEach((depth) => {
          const id = next++;
          expected.push(id);
          ctx.post(() => {
            log.push(id);
            for (let k = 0; k < depth; k++) {
              const child = next++;
              expected.push(child);
              ctx.post(() => log.push(child));
            }
          });
        });
        await settleTasks(8);
        // ids are handed out in posting order, so FIFO means the log is exactly ascending
        expect(log).toEqual([...expected].sort((a, b) => a - b));
      }),
      { numRuns: 500 },
    );
  });

  it('C1 immediate context runs synchronously yet trampolined, so order holds', () => {
    const ctx = immediateContext();
    const log: number[] = [];
    ctx.post(() => {
      log.push(1);
      ctx.post(() => log.push(3));
      log.push(2);
    });
    expect(log).toEqual([1, 2, 3]);
  });

  it('C2 current is set by run, nests, falls back to the free-threaded default', () => {
    const a = microtaskContext();
    const b = macrotaskContext();
    expect(SynchronizationContext.current).toBe(SynchronizationContext.freeThreaded);
    SynchronizationContext.run(a, () => {
      expect(SynchronizationContext.current).toBe(a);
      SynchronizationContext.run(b, () => expect(SynchronizationContext.current).toBe(b));
      expect(SynchronizationContext.current).toBe(a);
    });
    expect(() => SynchronizationContext.run(a, () => { throw new Error('x'); })).toThrow('x');
    expect(SynchronizationContext.current).toBe(SynchronizationContext.freeThreaded);
  });

  it('C2 the free-threaded default posts to the macrotask queue', async () => {
    const order: string[] = [];
    SynchronizationContext.current.post(() => order.push('posted'));
    queueMicrotask(() => order.push('microtask'));
    await settleTasks(2);
    expect(order).toEqual(['microtask', 'posted']);
  });

  it('C2 with the Node store, current flows across awaits and timers', async () => {
    const previous = setContextStore(asyncLocalContextStore());
    try {
      const ctx = microtaskContext();
      const seen = await SynchronizationContext.run(ctx, async () => {
        await Promise.resolve();
        const afterAwait = SynchronizationContext.current;
        const inTimer = await new Promise<SynchronizationContext>((resolve) => setTimeout(() => resolve(SynchronizationContext.current), 1));
        return [afterAwait, inTimer];
      });
      expect(seen).toEqual([ctx, ctx]);
      expect(SynchronizationContext.current).toBe(SynchronizationContext.freeThreaded);
      // and an operation started after an await captures it
      const op = await SynchronizationContext.run(ctx, async () => {
        await new Promise((r) => setTimeout(r, 1));
        return AsyncOperationManager.createOperation('x');
      });
      expect(op.synchronizationContext).toBe(ctx);
      op.operationCompleted();
    } finally {
      setContextStore(previous);
    }
  });

  it('C2 with the plain stack store, current does not survive an await (browser behaviour)', async () => {
    const previous = setContextStore(stackContextStore());
    try {
      const ctx = microtaskContext();
      const after = await SynchronizationContext.run(ctx, async () => {
        await Promise.resolve();
        return SynchronizationContext.current;
      });
      expect(after).toBe(SynchronizationContext.freeThreaded);
    } finally {
      setContextStore(previous);
    }
  });

  // (Not the zone context's: a zone sets the context its batch runs in, see the C3 transfer test.)
  it.each([...Object.entries(asyncContexts).filter(([name]) => name !== 'zone'), ['immediate', () => immediateContext()] as const])(
    'C2 with the Node store, a callback posted to %s runs in the asynchronous context of its poster, not of the first post of its batch',
    async (_, make) => {
      const previous = setContextStore(asyncLocalContextStore());
      try {
        const ctx = make();
        const request = new AsyncLocalStorage<string>(); // an app's own: a request's logger, a trace
        const seen: string[] = [];
        const note = () => seen.push(`${request.getStore() ?? 'none'}:${SynchronizationContext.current === ctx}`);
        request.run('A', () =>
          ctx.post(() => {
            note();
            request.run('C', () => ctx.post(note)); // posted while the batch runs (the immediate context's trampoline)
          }),
        );
        request.run('B', () => ctx.post(note));
        await settleTasks(10);
        expect([...seen].sort()).toEqual(['A:true', 'B:true', 'C:true']); // (the immediate context ran C before B was posted)
      } finally {
        setContextStore(previous);
      }
    },
  );

  it('C2 with the Node store, every post lets go of its asynchronous resource: once run, and at once when the context refuses it', async () => {
    const previous = setContextStore(asyncLocalContextStore());
    const live = new Set<number>();
    const hook = createHook({
      init: (id, type) => void (type === 'rxtransfer.post' && live.add(id)),
      destroy: (id) => void live.delete(id),
    }).enable();
    try {
      let refuse = false;
      class Refusing extends SynchronizationContext {
        protected override dispatch(task: () => void): void {
          if (refuse) throw new Error('post refused');
          queueMicrotask(task);
        }
      }
      const ctx = new Refusing();
      let ran = 0;
      ctx.post(() => ran++);
      await settleTasks(5);
      expect(ran).toBe(1);
      expect(live.size).toBe(0);
      refuse = true;
      for (let i = 0; i < 3; i++) expect(() => ctx.post(() => ran++)).toThrow('post refused');
      expect(ran).toBe(1);
      await settleTasks(5); // destroy hooks are called after the current task
      expect(live.size).toBe(0);
    } finally {
      hook.disable();
      setContextStore(previous);
    }
  });

  it('C3 animation frame context detects requestAnimationFrame at call time and batches per frame', async () => {
    const frames: ((t: number) => void)[] = [];
    const g = globalThis as { requestAnimationFrame?: (cb: (t: number) => void) => number };
    const ctx = animationFrameContext(); // made before the global exists
    g.requestAnimationFrame = (cb) => frames.push(cb);
    try {
      const log: number[] = [];
      ctx.post(() => log.push(1));
      ctx.post(() => log.push(2));
      expect(frames).toHaveLength(1); // one frame for the batch
      await settleTasks(2);
      expect(log).toEqual([]);
      frames.shift()?.(16);
      expect(log).toEqual([1, 2]);
    } finally {
      delete g.requestAnimationFrame;
    }
    const fallback: number[] = [];
    ctx.post(() => fallback.push(1)); // no rAF: the macrotask queue stands in
    await settleTasks(2);
    expect(fallback).toEqual([1]);
  });

  it('C3 zone context keeps high-rate work outside the zone and enters it only to deliver', async () => {
    let depth = 0;
    let entries = 0;
    const zone: ZoneLike = {
      run: <T>(fn: () => T): T => {
        entries += 1;
        depth += 1;
        try {
          return fn();
        } finally {
          depth -= 1;
        }
      },
      runOutsideAngular: <T>(fn: () => T): T => {
        const saved = depth;
        depth = 0;
        try {
          return fn();
        } finally {
          depth = saved;
        }
      },
    };
    const ctx = zoneContext(zone);
    const workDepths: number[] = [];
    const deliveries: [number, number][] = [];
    const source = new Observable<number>((s) => {
      workDepths.push(depth);
      for (let i = 0; i < 100; i++) s.next(i);
      s.complete();
    });
    zone.run(() => source.pipe(observeOnContext(ctx)).subscribe((v) => deliveries.push([v, depth])));
    entries = 0;
    await settleTasks(2);
    expect(workDepths).toEqual([0]); // the source ran outside the zone
    expect(deliveries).toHaveLength(100);
    expect(deliveries.every(([, d]) => d === 1)).toBe(true); // delivered inside
    expect(entries).toBe(1); // one zone entry for the whole batch
    expect(ctx.send(() => depth)).toBe(1);
  });

  it('G2 an animation-frame context whose frames stop (a hidden tab) still delivers: from a timer, or at once when the page says it is hidden', async () => {
    const never = () => undefined;
    const ctx = animationFrameContext({ requestAnimationFrame: never, maxFrameWaitMs: 30 });
    const delivered = new Promise<number>((resolve) => {
      const posted = Date.now();
      ctx.post(() => resolve(Date.now() - posted));
    });
    let guard: NodeJS.Timeout | undefined;
    const waited = await Promise.race([delivered, new Promise<number>((resolve) => (guard = setTimeout(() => resolve(-1), 2_000)))]);
    clearTimeout(guard);
    expect(waited).toBeGreaterThanOrEqual(20);
    expect(waited).toBeLessThan(2_000);
    const g = globalThis as { document?: unknown };
    const had = 'document' in g;
    const saved = g.document;
    g.document = { visibilityState: 'hidden' };
    try {
      const hidden = animationFrameContext({ requestAnimationFrame: never, maxFrameWaitMs: 60_000 });
      const ran: string[] = [];
      hidden.post(() => ran.push('a'));
      hidden.post(() => ran.push('b'));
      await settleTasks(2);
      expect(ran).toEqual(['a', 'b']);
    } finally {
      if (had) g.document = saved;
      else delete g.document;
    }
    // A frame that does come runs the batch once; its timer finds it done.
    let frame: (() => void) | undefined;
    const visible = animationFrameContext({ requestAnimationFrame: (cb) => (frame = () => cb(0)), maxFrameWaitMs: 20 });
    const runs: number[] = [];
    visible.post(() => runs.push(1));
    frame!();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(runs).toEqual([1]);
  });

  it("C3 a transfer given a zone's contextScheduler as `scheduler` does its own work outside the zone and delivers inside", async () => {
    // A zone as zone.js keeps one: across every async continuation (here, AsyncLocalStorage).
    const where = new AsyncLocalStorage<string>();
    const zone: ZoneLike = { run: (fn) => where.run('inside', fn), runOutsideAngular: (fn) => where.run('outside', fn) };
    const requestedIn: Array<string | undefined> = [];
    const fake = new FakeTransport({ onRequest: () => requestedIn.push(where.getStore()) });
    const deliveredIn: Array<string | undefined> = [];
    const done = new Promise<void>((resolve, reject) => {
      zone.run(() =>
        download('https://a.test/x', { transport: fake, scheduler: contextScheduler(zoneContext(zone)), progressInterval: 0 }).subscribe({
          next: () => deliveredIn.push(where.getStore()),
          error: reject,
          complete: resolve,
        }),
      );
    });
    for (let i = 0; i < 50 && fake.requests.length === 0; i++) await settleTasks(1);
    const req = fake.requests[0]!;
    req.respond({ headers: { 'content-length': '6' } });
    await settleTasks(2);
    req.chunk('abc');
    await settleTasks(2);
    req.chunk('def').end();
    await done;
    expect(requestedIn).toEqual(['outside']);
    expect(deliveredIn.length).toBeGreaterThan(1);
    expect(deliveredIn.every((w) => w === 'inside')).toBe(true);
  });

  it('C4 contextScheduler honours delays, cancellation and rescheduling; now() is the timer clock', () => {
    const timer = new VirtualTimeScheduler();
    const ctx = immediateContext();
    const scheduler = contextScheduler(ctx, { timer });
    const log: string[] = [];
    scheduler.schedule(() => log.push(`late@${scheduler.now()}`), 50);
    const cancelled = scheduler.schedule(() => log.push('cancelled'), 20);
    scheduler.schedule(() => log.push(`now@${scheduler.now()}:${SynchronizationContext.current === ctx}`));
    cancelled.unsubscribe();
    interval(10, scheduler).pipe(take(3)).subscribe((i) => log.push(`tick${i}@${scheduler.now()}`));
    timer.flush();
    expect(log).toEqual(['now@0:true', 'tick0@10', 'tick1@20', 'tick2@30', 'late@50']);
  });

  it('C4 periodic work keeps its period on a context that delivers late (no drift by the delivery delay)', () => {
    const timer = new VirtualTimeScheduler();
    // Every post runs 16 ms later, as an animation frame would.
    const frames = animationFrameContext({ requestAnimationFrame: (cb: (t: number) => void) => void timer.schedule(() => cb(timer.now()), 16) });
    const scheduler = contextScheduler(frames, { timer });
    const ticks: number[] = [];
    interval(50, scheduler).pipe(take(6)).subscribe(() => ticks.push(scheduler.now()));
    timer.flush();
    expect(ticks).toEqual([66, 116, 166, 216, 266, 316]);
  });

  it('C4 a delay longer than a platform timer keeps (2^31 ms) does not run at once', async () => {
    const scheduler = contextScheduler(immediateContext());
    const ran: number[] = [];
    const sub = scheduler.schedule(() => ran.push(1), 30 * 24 * 3600 * 1000);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ran).toEqual([]);
    sub.unsubscribe();
  });

  it('C4 schedulerContext(contextScheduler(c)) behaves as c', async () => {
    const c = microtaskContext();
    expect(schedulerContext(contextScheduler(c))).toBe(c);
    const viaScheduler = schedulerContext(asapScheduler);
    const log: string[] = [];
    viaScheduler.post(() => log.push(`1:${SynchronizationContext.current === viaScheduler}`));
    viaScheduler.post(() => log.push('2'));
    await settleTasks(2);
    expect(log).toEqual(['1:true', '2']);
  });

  it('C5 operationStarted/operationCompleted are balanced for every EAP operation end', async () => {
    const ctx = microtaskContext();
    const component = toEap({
      ok: () => new Observable<never>((s) => { s.next({ type: 'done', result: 1 } as never); s.complete(); }),
      bad: () => new Observable<never>((s) => s.error(new Error('x'))),
      hang: () => new Observable<never>(() => undefined),
    });
    SynchronizationContext.run(ctx, () => {
      component.okAsync(1);
      component.badAsync(2);
      component.hangAsync(3);
      // ok and bad ended at once: their Completed is posted, and the operations are over (C5)
      expect(ctx.outstandingOperations).toBe(1);
      component.cancelAsync(3);
    });
    await settleTasks(2);
    expect(ctx.outstandingOperations).toBe(0);
  });

  it('C6 a throwing callback is reported and does not stop later deliveries', async () => {
    await collectUnhandled(async (unhandled) => {
      for (const make of [...Object.values(asyncContexts), () => immediateContext()]) {
        const ctx = make();
        const log: number[] = [];
        ctx.post(() => log.push(1));
        ctx.post(() => { throw new Error('boom'); });
        ctx.post(() => log.push(3));
        await settleTasks(3);
        expect(log).toEqual([1, 3]);
      }
      expect(unhandled).toHaveLength(Object.keys(asyncContexts).length + 1);
      expect(unhandled.every((e) => (e as Error).message === 'boom')).toBe(true);
    });
  });
});

describe('two copies of the package in one process (its ESM and CommonJS builds, two versions)', () => {
  it('C2 E11 share one SynchronizationContext.current: an operation started through one copy inside run() of the other captures that context, across awaits too', async () => {
    type Api = typeof import('../../lib/index.node');
    let other!: Api;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      other = require('../../lib/index.node') as Api;
    });
    expect(other.SynchronizationContext).not.toBe(SynchronizationContext);
    const ctx = microtaskContext();
    expect(SynchronizationContext.run(ctx, () => other.SynchronizationContext.current)).toBe(ctx);
    expect(other.SynchronizationContext.run(ctx, () => SynchronizationContext.current)).toBe(ctx);
    const later = await SynchronizationContext.run(ctx, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return other.SynchronizationContext.current;
    });
    expect(later).toBe(ctx);
    const op = SynchronizationContext.run(ctx, () => other.AsyncOperationManager.createOperation('two-copies'));
    expect(op.synchronizationContext).toBe(ctx);
    const where = await new Promise<SynchronizationContext>((resolve) => op.postOperationCompleted(() => resolve(SynchronizationContext.current)));
    expect(where).toBe(ctx);
  });
});
