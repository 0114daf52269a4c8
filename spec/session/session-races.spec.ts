/**
 * Session races found by a review of the S2/S4/S6 fixes: a drain that waited on a failed add(),
 * an end still being written when invalidate() came, cancels while idle, progress of a task
 * resumed onto another version, two add()s of one id, ack()+forget() during an end, and a pump
 * (any add()) while suspend() or cancel() stops a task. A gated store holds writes to make each
 * interleaving happen on purpose.
 */
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { TransferSession } from '../helpers/session-api';
import { bytes, startSessionServer, type SessionServer } from '../helpers/session-server';
import { memorySessionStore } from '../../lib/internal/session/memory-store';
import { sessionDirectory } from '../../lib/internal/node/session-file-store';
import type { SessionStore, TaskChange } from '../../lib/internal/session/session-store';
import type { TransferSession as Session } from '../../lib/internal/session/transfer-session';

const KiB = 1024;
const MiB = 1024 * KiB;
let server: SessionServer;
let dir: string;
let n = 0;
const opened: Session[] = [];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = await startSessionServer();
  dir = await mkdtemp(join(tmpdir(), 'rxt-review-'));
});
afterEach(async () => {
  // Each close is given 2 s at most; the timer goes once it has closed, so none is left at exit.
  await Promise.all(
    opened.splice(0).map((s) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const limit = new Promise<void>((r) => (timer = setTimeout(r, 2000)));
      return Promise.race([s.close().catch(() => undefined), limit]).finally(() => clearTimeout(timer));
    }),
  );
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function name(): { id: string; path: string; to: string } {
  n++;
  return { id: `rv${n}`, path: `/rv${n}`, to: join(dir, `out-${n}.bin`) };
}

async function openSession(options: Parameters<typeof TransferSession.open>[0]): Promise<Session> {
  const s = await TransferSession.open({ directory: join(dir, 'sessions'), retry: { count: 0 }, ...options });
  opened.push(s);
  return s;
}

/** Ordered writes; while `hold`, each new write waits for release(ok) / release(fail). close() waits for pending writes. */
function gatedStore(inner = memorySessionStore()) {
  const held: Array<(ok: boolean) => void> = [];
  const store = {
    name: 'gated',
    hold: false,
    writes: [] as TaskChange[][],
    heldCount: () => held.length,
    release(ok = true) {
      for (const r of held.splice(0)) r(ok);
    },
    async open(id: string) {
      const h = await inner.open(id);
      let chain: Promise<void> = Promise.resolve();
      return {
        tasks: h.tasks,
        write(changes: readonly TaskChange[]) {
          store.writes.push([...changes]);
          const gate = store.hold ? new Promise<boolean>((r) => held.push(r)) : Promise.resolve(true);
          const p = chain.then(() => gate).then((ok) => {
            if (!ok) throw new Error('EIO: the write failed');
            return h.write(changes);
          });
          chain = p.catch(() => undefined);
          return p;
        },
        close: async () => {
          await chain;
          await h.close();
        },
      };
    },
  };
  return store satisfies SessionStore;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !check(); t += 5) await sleep(5);
  if (!check()) throw new Error('condition not reached');
}

describe('review of f33a6fe / a63400d', () => {
  it('S6 invalidate() (drain) resolves when the only task is one whose add() write then fails', async () => {
    const store = gatedStore();
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    store.hold = true;
    const added = session.download(server.put(path, { body: bytes(4 * KiB, 1) }), { to, id: 'a' }).then(
      () => 'resolved',
      (e: Error) => `rejected: ${e.message}`,
    );
    await until(() => store.heldCount() === 1);
    let invalidated = false;
    const inv = session.invalidate().then(() => void (invalidated = true));
    await sleep(20);
    store.release(false); // the add()'s write fails
    store.hold = false;
    expect(await added).toMatch(/EIO/);
    await Promise.race([inv, sleep(3000)]);
    const closing = await Promise.race([session.close().then(() => 'closed'), sleep(1000).then(() => 'close() still pending')]);
    expect({ invalidated, closing, task: session.task('a') }).toEqual({ invalidated: true, closing: 'closed', task: undefined });
  });

  it('S6 invalidate() while the last end is being written: completion and finished$ told before invalidated$', async () => {
    const store = gatedStore();
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    const log: string[] = [];
    session.completions$.subscribe({ next: (c) => log.push(`completion ${c.taskId}`), complete: () => log.push('completions complete') });
    session.finished$.subscribe(() => log.push('finished'));
    session.invalidated$.subscribe((i) => log.push(`invalidated ${i.reason}`));
    await session.download(server.put(path, { body: bytes(4 * KiB, 2) }), { to, id: 'd' });
    store.hold = true;
    await until(() => session.task('d')?.state === 'completed');
    expect(store.heldCount()).toBe(1); // the end's write, held
    const inv = session.invalidate();
    await sleep(50);
    store.release(true);
    store.hold = false;
    await Promise.race([inv, sleep(3000)]);
    const reopened = await openSession({ id, store });
    log.push(`stored state after reopen: ${reopened.task('d')?.state}`);
    expect(log).toEqual(['completion d', 'finished', 'invalidated invalidated', 'completions complete', 'stored state after reopen: completed']);
  });

  it('two suspended tasks cancelled at once while nothing runs: no finished$ (no queue ran)', async () => {
    const store = gatedStore();
    const { id } = name();
    const session = await openSession({ id, store, maxConcurrent: 1 });
    let finished = 0;
    session.finished$.subscribe(() => finished++);
    const trace: string[] = [];
    session.events$.subscribe((e) => void (e.type === 'state' && trace.push(`${e.taskId}:${e.state}`)));
    session.finished$.subscribe(() => trace.push('FINISHED'));
    const a = name();
    const b = name();
    await session.download(server.put(a.path, { body: bytes(1 * MiB, 3), etag: '"a"', rate: 64 * KiB }), { to: a.to, id: 'a' });
    await session.download(server.put(b.path, { body: bytes(1 * MiB, 4), etag: '"b"', rate: 64 * KiB }), { to: b.to, id: 'b' });
    await sleep(100); // the open's scheduled pump has run
    await session.suspend('b');
    await session.suspend('a');
    await sleep(200);
    const before = finished; // the suspend of the last running task drained the queue
    store.hold = true;
    const both = Promise.all([session.cancel('a'), session.cancel('b')]);
    await until(() => store.heldCount() === 2);
    store.hold = false;
    store.release(true);
    await both;
    await sleep(100);
    expect({ before, after: finished }).toEqual({ before, after: before });
  });

  it('G4 G10 events$ shows 100% before done for a download resumed onto a new, smaller version', async () => {
    const session = await openSession({ id: name().id, store: memorySessionStore(), progressInterval: 0 });
    const { path, to } = name();
    const big = bytes(2 * MiB, 5);
    const small = bytes(256 * KiB, 6);
    const seen: Array<{ loaded: number; total?: number; percent?: number }> = [];
    let doneSize = -1;
    session.events$.subscribe((e) => {
      if (e.taskId !== 'v') return;
      if (e.type === 'progress' && e.direction === 'download') seen.push({ loaded: e.loaded, total: e.total, percent: e.percent });
      if (e.type === 'done') doneSize = e.result.size;
    });
    await session.download(server.put(path, { body: big, etag: '"v1"', rate: 2 * MiB }), { to, id: 'v' });
    await firstValueFrom(session.events$.pipe(filter((e) => e.type === 'progress' && e.taskId === 'v' && e.loaded >= 1 * MiB), timeout(10_000)));
    await session.suspend('v');
    server.put(path, { body: small, etag: '"v2"' }); // the file changed on the server
    await session.resume('v');
    await firstValueFrom(session.completions$.pipe(filter((c) => c.taskId === 'v'), timeout(10_000)));
    expect(doneSize).toBe(small.length);
    const last = seen.at(-1)!;
    expect(last).toEqual({ loaded: small.length, total: small.length, percent: 100 });
  });

  it('S2 a second add() of the same id racing a first add() that fails makes the task anew: never resolves with an unstored one', async () => {
    const store = gatedStore();
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    store.hold = true;
    const url = server.put(path, { body: bytes(4 * KiB, 7) });
    const first = session.download(url, { to, id: 'dup' }).then(() => 'resolved', (e: Error) => `rejected: ${e.message}`);
    const second = session.download(url, { to, id: 'dup' }).then((t) => `resolved ${t.id} ${t.state}`, (e: Error) => `rejected: ${e.message}`);
    await until(() => store.heldCount() === 1);
    store.hold = false;
    store.release(false);
    const results = [await first, await second];
    expect(results[0]).toMatch(/EIO/);
    expect(results[1]).toMatch(/^resolved dup /);
    // What the second add() resolved with is stored: its own write of the task went through.
    expect(session.task('dup')).toBeDefined();
    expect(store.writes.filter((w) => w.some((c) => c.type === 'put' && c.task.id === 'dup')).length).toBeGreaterThanOrEqual(2);
  });

  it('S4 ack() + forget() while the end is being written: no completion told for the forgotten task', async () => {
    const store = gatedStore();
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    const got: string[] = [];
    session.completions$.subscribe((c) => {
      got.push(c.taskId);
      c.ack().catch((e: Error) => got.push(`ack threw: ${e.message}`));
    });
    await session.download(server.put(path, { body: bytes(4 * KiB, 8) }), { to, id: 'f' });
    store.hold = true;
    await until(() => session.task('f')?.state === 'completed');
    store.hold = false;
    const acked = session.ack('f');
    const forgot = session.forget('f');
    store.release(true);
    await acked;
    await forgot;
    await sleep(100);
    expect({ got, task: session.task('f') }).toEqual({ got: [], task: undefined });
  });

  it('S6 suspend() racing an add() (any pump): the suspended task does not keep running', async () => {
    const { id } = name();
    const session = await openSession({ id, store: memorySessionStore(), maxConcurrent: 2 });
    const states: string[] = [];
    session.events$.subscribe((e) => void (e.type === 'state' && states.push(`${e.taskId}:${e.state}`)));
    const a = name();
    const c = name();
    await session.download(server.put(a.path, { body: bytes(512 * KiB, 9), etag: '"a"', rate: 256 * KiB }), { to: a.to, id: 'a' });
    await sleep(300);
    const [suspended] = await Promise.all([session.suspend('a'), session.download(server.put(c.path, { body: bytes(4 * KiB, 10) }), { to: c.to, id: 'c' })]);
    expect(suspended).toBe(true);
    const atSuspend = server.requests.filter((r) => r.path === a.path).length;
    await sleep(2500);
    expect(server.requests.filter((r) => r.path === a.path)).toHaveLength(atSuspend);
    expect(session.task('a')?.state).toBe('suspended');
    expect(states.filter((s) => s.startsWith('a:'))).toEqual(['a:running', 'a:suspended']);
  });

  it('S4 S6 cancel() racing an add() (any pump): one end only, cancelled, never then completed', async () => {
    const { id } = name();
    const session = await openSession({ id, store: memorySessionStore(), maxConcurrent: 2 });
    const ends: string[] = [];
    session.completions$.subscribe((c) => ends.push(`${c.taskId}:${c.state}`));
    const a = name();
    const c = name();
    await session.download(server.put(a.path, { body: bytes(512 * KiB, 11), etag: '"a"', rate: 256 * KiB }), { to: a.to, id: 'a' });
    await sleep(300);
    const [cancelled] = await Promise.all([session.cancel('a'), session.download(server.put(c.path, { body: bytes(4 * KiB, 12) }), { to: c.to, id: 'c' })]);
    expect(cancelled).toBe(true);
    await sleep(3500);
    expect(ends.filter((e) => e.startsWith('a:'))).toEqual(['a:cancelled']);
    expect(session.task('a')?.state).toBe('cancelled');
  });

  it('G4 resumed onto a new, larger version: events$ shows its progress at once', async () => {
    const session = await openSession({ id: name().id, store: memorySessionStore(), progressInterval: 0 });
    const { path, to } = name();
    const seen: Array<{ loaded: number; total?: number; percent?: number }> = [];
    session.events$.subscribe((e) => {
      if (e.taskId === 'w' && e.type === 'progress' && e.direction === 'download') seen.push({ loaded: e.loaded, total: e.total, percent: e.percent });
    });
    await session.download(server.put(path, { body: bytes(2 * MiB, 13), etag: '"v1"', rate: 2 * MiB }), { to, id: 'w' });
    await firstValueFrom(session.events$.pipe(filter((e) => e.type === 'progress' && e.taskId === 'w' && e.loaded >= 1 * MiB), timeout(10_000)));
    await session.suspend('w');
    const shownAtSuspend = seen.at(-1)!;
    server.put(path, { body: bytes(8 * MiB, 14), etag: '"v2"' });
    await session.resume('w');
    await firstValueFrom(session.completions$.pipe(filter((c) => c.taskId === 'w'), timeout(10_000)));
    const firstAfter = seen.find((s) => s.total === 8 * MiB);
    expect(firstAfter!.loaded).toBeLessThanOrEqual(shownAtSuspend.loaded + 512 * KiB);
  });
});

describe('a store write that fails while the session goes on', () => {
  /** Runs `action` with the store's next write failing (EIO); says how the action settled. */
  async function withFailedWrite(store: ReturnType<typeof gatedStore>, action: () => Promise<unknown>): Promise<string> {
    store.hold = true;
    const settled = action().then(() => 'resolved', (e: Error) => `rejected: ${e.message}`);
    await until(() => store.heldCount() === 1);
    store.hold = false;
    store.release(false);
    return settled;
  }

  it('S4 ack() whose write failed writes again when called again: the completion is not delivered after a reopen', async () => {
    const inner = memorySessionStore();
    const store = gatedStore(inner);
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    await session.download(server.put(path, { body: bytes(4 * KiB, 15) }), { to, id: 'k' });
    await firstValueFrom(session.completions$.pipe(filter((c) => c.taskId === 'k'), timeout(10_000)));
    expect(await withFailedWrite(store, () => session.ack('k'))).toMatch(/EIO/);
    // Not acknowledged: a new subscriber still gets it, and the app acknowledges it again.
    const pending: string[] = [];
    session.completions$.subscribe((c) => pending.push(c.taskId)).unsubscribe();
    expect(pending).toEqual(['k']);
    await session.ack('k');
    await session.close();
    expect(inner.snapshot(id).map((t) => [t.id, t.acked])).toEqual([['k', true]]);
  });

  it('forget() whose write failed keeps the task (it is still stored), and a second forget() removes it', async () => {
    const inner = memorySessionStore();
    const store = gatedStore(inner);
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    await session.download(server.put(path, { body: bytes(4 * KiB, 16) }), { to, id: 'g' });
    await firstValueFrom(session.completions$.pipe(filter((c) => c.taskId === 'g'), timeout(10_000)));
    await session.ack('g');
    expect(await withFailedWrite(store, () => session.forget('g'))).toMatch(/EIO/);
    expect(session.task('g')).toMatchObject({ state: 'completed', acked: true });
    expect(await session.forget('g')).toBe(true);
    await session.close();
    expect(inner.snapshot(id)).toEqual([]);
  });

  it('S6 resume() whose write failed leaves the task suspended: a second resume() queues it', async () => {
    const inner = memorySessionStore();
    const store = gatedStore(inner);
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    await session.download(server.put(path, { body: bytes(512 * KiB, 17), etag: '"r"', rate: 256 * KiB }), { to, id: 'r' });
    await sleep(100);
    await session.suspend('r');
    expect(await withFailedWrite(store, () => session.resume('r'))).toMatch(/EIO/);
    expect(session.task('r')?.state).toBe('suspended');
    expect(await session.resume('r')).toBe(true);
    await firstValueFrom(session.completions$.pipe(filter((c) => c.taskId === 'r'), timeout(10_000)));
  });

  it('S2 cancel() whose write failed rejects with the store\'s error (it never says the task was cancelled), and the session ends store-failed', async () => {
    const inner = memorySessionStore();
    const store = gatedStore(inner);
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    const why = firstValueFrom(session.invalidated$);
    await session.download(server.put(path, { body: bytes(512 * KiB, 19), etag: '"c"', rate: 256 * KiB }), { to, id: 'c' });
    await until(() => session.task('c')?.state === 'running');
    expect(await withFailedWrite(store, () => session.cancel('c'))).toMatch(/^rejected: .*EIO/);
    expect(await why).toMatchObject({ reason: 'store-failed' });
    expect(inner.snapshot(id).map((t) => [t.id, t.state])).not.toContainEqual(['c', 'cancelled']);
  });
});

describe('two writes of one task that both fail', () => {
  /** Makes `first` then `second`, each held at the store, then fails both writes; their outcomes. */
  async function bothFail(store: ReturnType<typeof gatedStore>, first: () => Promise<unknown>, second: () => Promise<unknown>): Promise<string[]> {
    const outcome = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error) => `rejected: ${e.message}`);
    store.hold = true;
    const a = outcome(first());
    await until(() => store.heldCount() === 1);
    const b = outcome(second());
    await until(() => store.heldCount() === 2);
    store.hold = false;
    store.release(false);
    return Promise.all([a, b]);
  }

  it('S6 resume() then suspend(), both unwritten: the task is what the store holds (suspended) and does not run', async () => {
    const inner = memorySessionStore();
    const store = gatedStore(inner);
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    await session.download(server.put(path, { body: bytes(512 * KiB, 20), etag: '"t"', rate: 256 * KiB }), { to, id: 't' });
    await until(() => session.task('t')?.state === 'running');
    await session.suspend('t');
    const requests = server.requests.length;
    expect(await bothFail(store, () => session.resume('t'), () => session.suspend('t'))).toEqual([expect.stringMatching(/EIO/), expect.stringMatching(/EIO/)]);
    // The last durable state, not the one the first failed write (resume's) would have made.
    expect(inner.snapshot(id).map((t) => [t.id, t.state])).toEqual([['t', 'suspended']]);
    expect(session.task('t')?.state).toBe('suspended');
    await sleep(200);
    expect(server.requests.length).toBe(requests); // not started again
    expect(session.task('t')?.state).toBe('suspended');
  });

  it('S4 ack() then forget(), both unwritten: the completion is still unacknowledged, as stored, and delivered', async () => {
    const inner = memorySessionStore();
    const store = gatedStore(inner);
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    await session.download(server.put(path, { body: bytes(4 * KiB, 21) }), { to, id: 'f' });
    await firstValueFrom(session.completions$.pipe(filter((c) => c.taskId === 'f'), timeout(10_000)));
    expect(await bothFail(store, () => session.ack('f'), () => session.forget('f'))).toEqual([expect.stringMatching(/EIO/), expect.stringMatching(/EIO/)]);
    expect(inner.snapshot(id).map((t) => [t.id, t.acked])).toEqual([['f', false]]);
    expect(session.task('f')).toMatchObject({ state: 'completed', acked: false });
    const pending: string[] = [];
    session.completions$.subscribe((c) => pending.push(c.taskId)).unsubscribe();
    expect(pending).toEqual(['f']);
  });
});

describe('close() while invalidate() lets the tasks finish', () => {
  it('S6 stops the running transfers at once (as close() does), the tasks stay queued for the next open, and the drain ends', async () => {
    const inner = memorySessionStore();
    const { id, path, to } = name();
    const session = await openSession({ id, store: inner });
    // About 8 s at this rate: a close() that waited for it would not end in time.
    let loaded = 0;
    session.events$.subscribe((e) => e.type === 'progress' && (loaded = e.loaded));
    await session.download(server.put(path, { body: bytes(2 * MiB, 22), etag: '"d"', rate: 256 * KiB }), { to, id: 'd' });
    await until(() => loaded > 0);
    const why = firstValueFrom(session.invalidated$);
    const drained = session.invalidate();
    await session.close();
    expect(loaded).toBeLessThan(2 * MiB); // stopped, not waited for to the end
    await drained;
    expect(await why).toMatchObject({ reason: 'invalidated', cancelledTasks: false });
    expect(inner.snapshot(id).map((t) => [t.id, t.state])).toEqual([['d', 'queued']]);
    expect((await stat(`${to}.partial`)).size).toBeGreaterThan(0); // kept for the next open
  });
});

describe('a session whose lock was taken over', () => {
  it('S8 ends as store-failed at the first journal write that finds out (a progress checkpoint), not at the end of its transfers: nothing published, nothing written into the new owner\'s files', async () => {
    const { id, path, to } = name();
    const directory = join(dir, 'sessions');
    const session = await openSession({ id, directory, checkpointInterval: 100 });
    const why = firstValueFrom(session.invalidated$.pipe(timeout(10_000)));
    await session.download(server.put(path, { body: bytes(1 * MiB, 23), etag: '"t"', rate: 128 * KiB }), { to, id: 't' });
    await until(() => (session.task('t')?.bytes ?? 0) > 0);
    // Another process takes the session over (this one was paused past its lease).
    const sdir = sessionDirectory(directory, id);
    const theirs = JSON.stringify({ pid: 1, host: 'elsewhere.example', token: 'new-owner' });
    await writeFile(join(sdir, 'lock.theirs'), theirs);
    await rename(join(sdir, 'lock.theirs'), join(sdir, 'lock'));
    const started = Date.now();
    expect(await why).toMatchObject({ reason: 'store-failed', error: { code: 'ELOCKLOST' } });
    expect(Date.now() - started).toBeLessThan(3_000);
    // The download stopped: not published; its partial file kept for the new owner to resume.
    await expect(stat(to)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(to + '.partial')).size).toBeGreaterThan(0);
    // No end of the task journalled (a checkpoint that passed its check just before the takeover
    // may have landed): the new owner runs it.
    const journal = await readFile(join(sdir, 'journal.log'), 'utf8');
    expect(journal.trim().split('\n').filter((line) => !line.includes('"state":"queued"'))).toEqual([]);
    expect(await readFile(join(sdir, 'lock'), 'utf8')).toBe(theirs);
  });
});

describe('a suspend whose write failed', () => {
  it('S6 suspend() whose write failed leaves the task queued, and it runs again (it was neither suspended nor left stopped)', async () => {
    const inner = memorySessionStore();
    const store = gatedStore(inner);
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    await session.download(server.put(path, { body: bytes(256 * KiB, 18), etag: '"s"', rate: 512 * KiB }), { to, id: 's' });
    await until(() => session.task('s')?.state === 'running');
    store.hold = true;
    const settled = session.suspend('s').then(() => 'resolved', (e: Error) => `rejected: ${e.message}`);
    await until(() => store.heldCount() === 1);
    store.hold = false;
    store.release(false);
    expect(await settled).toMatch(/EIO/);
    // What the store holds (queued): so the task runs on, to its end, with nothing else happening.
    const completion = await firstValueFrom(session.completions$.pipe(filter((c) => c.taskId === 's'), timeout(10_000)));
    expect(completion.state).toBe('completed');
  });
});
