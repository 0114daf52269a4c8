import { mkdir, mkdtemp, readFile, rename, rm, stat, utimes, writeFile, appendFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, take, toArray, timeout } from 'rxjs';
import { TransferSession } from '../helpers/session-api';
import { bytes, sha256, startSessionServer, type SessionServer } from '../helpers/session-server';
import { killAllSessionChildren, startSessionChild } from '../helpers/session-process';
import { memorySessionStore } from '../../lib/internal/session/memory-store';
import { isSessionLockedError, SessionLockedError } from '../../lib/internal/session/session-locked-error';
import { SessionInvalidatedError } from '../../lib/internal/session/session-invalidated-error';
import type { SessionStore, TaskChange } from '../../lib/internal/session/session-store';
import type { TransferSession as Session } from '../../lib/internal/session/transfer-session';
import type { SessionEvent, TaskCompletion } from '../../lib/internal/session/session-task';
import { fileSessionStore, sessionDirectory } from '../../lib/internal/node/session-file-store';
import { encodeChange } from '../../lib/internal/session/journal-codec';

const KiB = 1024;
const MiB = 1024 * KiB;
let server: SessionServer;
let other: SessionServer;
let dir: string;
let n = 0;
const open: Session[] = [];

beforeAll(async () => {
  server = await startSessionServer();
  other = await startSessionServer();
  dir = await mkdtemp(join(tmpdir(), 'rxtransfer-session-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
});
afterAll(async () => {
  await killAllSessionChildren();
  await server.close();
  await other.close();
  await rm(dir, { recursive: true, force: true });
});

function name(): { id: string; path: string; to: string } {
  n++;
  return { id: `s${n}`, path: `/r${n}`, to: join(dir, `out-${n}.bin`) };
}

async function openSession(options: Parameters<typeof TransferSession.open>[0]): Promise<Session> {
  const s = await TransferSession.open({ directory: join(dir, 'sessions'), retry: { count: 3, baseDelay: 5 }, ...options });
  open.push(s);
  return s;
}

function nextCompletions(session: Session, count: number, ms = 20_000): Promise<TaskCompletion[]> {
  return firstValueFrom(session.completions$.pipe(take(count), toArray(), timeout(ms)));
}

/** A store that counts and can hold back writes. */
function countingStore(inner: SessionStore): SessionStore & { writes: TaskChange[][]; hold: boolean; release(): void } {
  const held: Array<() => void> = [];
  const store = {
    name: 'counting',
    writes: [] as TaskChange[][],
    hold: false,
    release: () => held.splice(0).forEach((r) => r()),
    async open(id: string) {
      const h = await inner.open(id);
      return {
        tasks: h.tasks,
        write: async (changes: readonly TaskChange[]) => {
          store.writes.push([...changes]);
          if (store.hold) await new Promise<void>((r) => held.push(r));
          return h.write(changes);
        },
        close: () => h.close(),
      };
    },
  };
  return store;
}

describe('TransferSession', () => {
  it('S1 reopening a session by id, in this process, reconnects to its tasks and finishes them', async () => {
    const { id, path, to } = name();
    const body = bytes(2 * MiB, 21);
    const url = server.put(path, { body, etag: '"s1"', rate: 2 * MiB });
    const first = await openSession({ id });
    const task = await first.download(url, { to, id: 'the-task' });
    await firstValueFrom(first.events$.pipe(filter((e) => e.type === 'progress' && e.loaded > 200 * KiB), timeout(10_000)));
    await first.close();
    server.resources.get(path)!.rate = undefined;
    const second = await openSession({ id });
    expect(second.tasks().map((t) => t.id)).toEqual([task.id]);
    const [c] = await nextCompletions(second, 1);
    expect(c).toMatchObject({ taskId: 'the-task', state: 'completed', result: { size: body.length } });
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S1 S2 a task added by a process killed with -9 right after download() resolved is there, once, in a new process', async () => {
    const { id, path, to } = name();
    const body = bytes(3 * MiB, 22);
    const url = server.put(path, { body, etag: '"s2"', rate: 1 * MiB });
    const directory = join(dir, 'sessions');
    const child = startSessionChild({ mode: 'add', id, directory, tasks: [{ id: 'k1', url, to }, { id: 'k2', url: url + '?2', to: to + '2' }] });
    await child.waitFor('added', 15_000);
    await child.kill9();
    server.resources.get(path)!.rate = undefined;
    const session = await openSession({ id });
    expect(session.tasks().map((t) => t.id)).toEqual(['k1', 'k2']);
    // Adding again by id does not duplicate.
    await session.download(url, { to, id: 'k1' });
    expect(session.tasks()).toHaveLength(2);
    const done = await nextCompletions(session, 2);
    expect(done.map((c) => c.state)).toEqual(['completed', 'completed']);
    expect(sha256(await readFile(to))).toBe(sha256(body));
    expect(sha256(await readFile(to + '2'))).toBe(sha256(body));
  });

  it('S2 download() resolves only once the task is persisted', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(10 * KiB, 23) });
    const memory = memorySessionStore();
    const store = countingStore(memory);
    const session = await openSession({ id, store });
    store.hold = true;
    let resolved = false;
    const added = session.download(url, { to, id: 'p' }).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(false);
    expect(memory.snapshot(id)).toHaveLength(0);
    store.hold = false;
    store.release();
    await added;
    expect(memory.snapshot(id).map((t) => t.id)).toEqual(['p']);
  });

  it('S3 a session download interrupted by close resumes with Range + If-Range after reopening', async () => {
    const { id, path, to } = name();
    const body = bytes(4 * MiB, 24);
    const url = server.put(path, { body, etag: '"s3"', rate: 2 * MiB });
    const first = await openSession({ id });
    await first.download(url, { to, id: 't' });
    await firstValueFrom(first.events$.pipe(filter((e) => e.type === 'progress' && e.loaded > 512 * KiB), timeout(10_000)));
    await first.close();
    await new Promise((r) => setTimeout(r, 50));
    server.resources.get(path)!.rate = undefined;
    const second = await openSession({ id });
    const progress: SessionEvent[] = [];
    second.events$.subscribe((e) => e.type === 'progress' && progress.push(e));
    await nextCompletions(second, 1);
    const last = server.requests.filter((r) => r.path === path).at(-1)!;
    expect(last.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(last).toMatchObject({ ifRange: '"s3"', status: 206 });
    expect(progress[0]).toMatchObject({ type: 'progress' });
    expect((progress[0] as { loaded: number }).loaded).toBeGreaterThan(0);
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S4 completions that happened while nobody listened are delivered on reconnect until acknowledged', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(50 * KiB, 25) });
    const store = memorySessionStore();
    const first = await openSession({ id, store });
    await first.download(url, { to, id: 'c' });
    await firstValueFrom(first.finished$.pipe(timeout(10_000)));
    await first.close();
    const second = await openSession({ id, store });
    const [c] = await nextCompletions(second, 1);
    expect(c).toMatchObject({ taskId: 'c', state: 'completed' });
    // Not acknowledged: delivered again to a new subscriber and after reopening.
    expect((await nextCompletions(second, 1))[0]!.taskId).toBe('c');
    await second.close();
    const third = await openSession({ id, store });
    const [again] = await nextCompletions(third, 1);
    await again!.ack();
    await third.close();
    const fourth = await openSession({ id, store });
    const seen: TaskCompletion[] = [];
    fourth.completions$.subscribe((x) => seen.push(x));
    await new Promise((r) => setTimeout(r, 30));
    expect(seen).toEqual([]);
    expect(fourth.task('c')).toMatchObject({ state: 'completed', acked: true });
    expect(await fourth.forget('c')).toBe(true);
    await fourth.close();
    const fifth = await openSession({ id, store });
    expect(fifth.tasks()).toEqual([]);
  });

  it('S5 at most maxConcurrent tasks run, at most maxPerHost per host, queued by priority then age', async () => {
    const { id } = name();
    const slow = (p: string, srv: SessionServer) => srv.put(p, { body: bytes(256 * KiB, 26), rate: 1 * MiB });
    const session = await openSession({ id, store: memorySessionStore(), maxConcurrent: 3, maxPerHost: 2 });
    const running = new Set<string>();
    const host = new Map<string, string>();
    let maxAll = 0;
    const maxPerHost = new Map<string, number>();
    const started: string[] = [];
    session.events$.subscribe((e) => {
      if (e.type !== 'state') return;
      if (e.state === 'running') {
        running.add(e.taskId);
        started.push(e.taskId);
      } else running.delete(e.taskId);
      maxAll = Math.max(maxAll, running.size);
      const counts = new Map<string, number>();
      for (const t of running) counts.set(host.get(t)!, (counts.get(host.get(t)!) ?? 0) + 1);
      for (const [h, c] of counts) maxPerHost.set(h, Math.max(maxPerHost.get(h) ?? 0, c));
    });
    const adds: Array<[string, SessionServer, number]> = [
      ['a1', server, 0], ['a2', server, 0], ['a3', server, 0], ['a4', server, 9], ['b1', other, 0], ['b2', other, 0], ['b3', other, 5],
    ];
    for (const [tid, srv] of adds) host.set(tid, new URL(srv.url).host);
    for (const [tid, srv, priority] of adds) await session.download(slow(`/lim-${tid}`, srv), { to: join(dir, `lim-${tid}`), id: tid, priority });
    await nextCompletions(session, adds.length, 30_000);
    expect(maxAll).toBeLessThanOrEqual(3);
    for (const c of maxPerHost.values()) expect(c).toBeLessThanOrEqual(2);
    // a1, a2 start at once (host limit), b1 fills the third slot; then priority decides.
    expect(started.slice(0, 3)).toEqual(['a1', 'a2', 'b1']);
    expect(started.indexOf('a4')).toBeLessThan(started.indexOf('a3'));
    expect(started.indexOf('b3')).toBeLessThan(started.indexOf('b2'));
  });

  it('S6 tasks are suspended, resumed and cancelled; invalidate({ cancelTasks }) ends the session and says why', async () => {
    const { id, path, to } = name();
    const body = bytes(3 * MiB, 27);
    const url = server.put(path, { body, etag: '"s6"', rate: 2 * MiB });
    const session = await openSession({ id, store: memorySessionStore() });
    const states: string[] = [];
    session.events$.subscribe((e) => e.type === 'state' && e.taskId === 'x' && states.push(e.state));
    await session.download(url, { to, id: 'x' });
    await firstValueFrom(session.events$.pipe(filter((e) => e.type === 'progress' && e.taskId === 'x'), timeout(10_000)));
    expect(await session.suspend('x')).toBe(true);
    expect(session.task('x')!.state).toBe('suspended');
    await new Promise((r) => setTimeout(r, 50));
    expect(await session.resume('x')).toBe(true);
    await session.download(server.put(path + 'y', { body: bytes(3 * MiB, 28), rate: MiB }), { to: to + 'y', id: 'y' });
    expect(await session.cancel('y')).toBe(true);
    expect(await session.cancel('y')).toBe(false);
    const done = await nextCompletions(session, 2);
    expect(done.map((c) => [c.taskId, c.state]).sort()).toEqual([['x', 'completed'], ['y', 'cancelled']]);
    expect(states).toEqual(['running', 'suspended', 'queued', 'running', 'completed']);
    expect(sha256(await readFile(to))).toBe(sha256(body));
    await expect(stat(to + 'y.partial')).rejects.toThrow();

    await session.download(server.put(path + 'z', { body: bytes(3 * MiB, 29), rate: MiB }), { to: to + 'z', id: 'z' });
    const why = firstValueFrom(session.invalidated$);
    await session.invalidate({ cancelTasks: true });
    expect(await why).toEqual({ reason: 'invalidated', cancelledTasks: true });
    expect(session.task('z')!.state).toBe('cancelled');
    await expect(session.download(url, { to: to + 'w' })).rejects.toThrow(/invalidated or closed/);
  });

  it('S6 invalidate() without cancelling lets the tasks finish first', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(512 * KiB, 30), rate: 2 * MiB });
    const session = await openSession({ id, store: memorySessionStore() });
    await session.download(url, { to, id: 'f' });
    const why = firstValueFrom(session.invalidated$);
    await session.invalidate();
    expect(await why).toEqual({ reason: 'invalidated', cancelledTasks: false });
    expect(session.task('f')!.state).toBe('completed');
  });

  it('S7 three tasks challenged at once share one token refresh and are all replayed with it', async () => {
    const { id, path, to } = name();
    let calls = 0;
    const urls = [1, 2, 3].map((i) => server.put(`${path}-${i}`, { body: bytes(100 * KiB, 30 + i), authorization: 'Bearer fresh' }));
    const session = await openSession({
      id,
      store: memorySessionStore(),
      maxPerHost: 3,
      onChallenge: async (challenge) => {
        calls++;
        expect(challenge.status).toBe(401);
        await new Promise((r) => setTimeout(r, 100));
        return { type: 'token', token: 'fresh' };
      },
    });
    for (const [i, url] of urls.entries()) await session.download(url, { to: `${to}-${i}`, id: `auth-${i}` });
    const done = await nextCompletions(session, 3);
    expect(done.every((c) => c.state === 'completed')).toBe(true);
    expect(calls).toBe(1);
    for (const [i] of urls.entries()) {
      const seen = server.requests.filter((r) => r.path === `${path}-${i + 1}`);
      expect(seen.map((r) => r.status)).toEqual([401, 200]);
      expect(seen[1]!.authorization).toBe('Bearer fresh');
    }
    // Credentials live in memory only.
    expect(JSON.stringify(session.tasks())).not.toContain('fresh');
  });

  it('S7 G11 credentials answer the origin that asked: another origin never gets them, and its own 401 asks again', async () => {
    const { id, path, to } = name();
    const challenges: Array<{ url: string; previousAnswers: number }> = [];
    const a = server.put(path, { body: bytes(10 * KiB, 37), authorization: 'Bearer for-a' });
    const open = other.put(path, { body: bytes(10 * KiB, 38) });
    const b = other.put(path + '-b', { body: bytes(10 * KiB, 39), authorization: 'Bearer for-b' });
    const session = await openSession({
      id,
      store: memorySessionStore(),
      onChallenge: (challenge) => {
        challenges.push({ url: challenge.url, previousAnswers: challenge.previousAnswers });
        return { type: 'token', token: challenge.url === a ? 'for-a' : 'for-b' };
      },
    });
    await session.download(a, { to: to + 'a', id: 'a' });
    const [first] = await nextCompletions(session, 1);
    expect(first).toMatchObject({ taskId: 'a', state: 'completed' });
    // Acknowledged, or the next subscriber of completions$ is handed it again (S4), and would not wait for b.
    await first!.ack();
    await session.download(open, { to: to + 'o', id: 'o' });
    await session.download(b, { to: to + 'b', id: 'b', headers: { authorization: 'Bearer stale' } });
    expect((await nextCompletions(session, 2)).map((c) => [c.taskId, c.state]).sort()).toEqual([['b', 'completed'], ['o', 'completed']]);
    expect(other.requests.filter((r) => r.path === path).map((r) => r.authorization)).toEqual([undefined]);
    // B's own challenge was asked (not replayed with A's token), and its answer replaced the task's header, not added a second one.
    expect(challenges).toEqual([{ url: a, previousAnswers: 0 }, { url: b, previousAnswers: 0 }]);
    expect(other.requests.filter((r) => r.path === path + '-b').map((r) => [r.status, r.authorization])).toEqual([[401, 'Bearer stale'], [200, 'Bearer for-b']]);
  });

  it('G11 a task\'s own sensitiveHeaders are stored with it and dropped by a redirect that leaves its origin (download and upload); refused when not header names', async () => {
    const { id, to } = name();
    const seen: Array<{ at: string; method: string; key: string | undefined; other: string | undefined }> = [];
    const target = createServer((req, res) => {
      seen.push({ at: 'b', method: req.method!, key: req.headers['x-api-key'] as string | undefined, other: req.headers['x-trace'] as string | undefined });
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '4' }).end('done'));
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const b = `http://127.0.0.1:${(target.address() as AddressInfo).port}/file`;
    const origin = createServer((req, res) => {
      seen.push({ at: 'a', method: req.method!, key: req.headers['x-api-key'] as string | undefined, other: req.headers['x-trace'] as string | undefined });
      req.resume();
      req.on('end', () => res.writeHead(307, { location: b, 'content-length': '0' }).end());
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const a = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/start`;
    try {
      const source = join(dir, `source-${id}.bin`);
      await writeFile(source, 'body');
      const directory = join(dir, `sessions-${id}`);
      const headers = { 'X-Api-Key': 'k-secret', 'X-Trace': 't1' };
      const session = await openSession({ id, directory });
      await expect(session.download(a, { to, headers, sensitiveHeaders: ['X Api Key'] })).rejects.toThrow(/sensitiveHeaders must be an array of header names/);
      await expect(session.download(a, { to, headers, sensitiveHeaders: 'X-Api-Key' as unknown as string[] })).rejects.toThrow(TypeError);
      await session.download(a, { to, id: 'd', headers, sensitiveHeaders: ['X-API-KEY', 'x-api-key'] });
      await session.upload(a, source, { id: 'u', method: 'PUT', headers, sensitiveHeaders: ['x-api-key'] });
      const ended = await nextCompletions(session, 2);
      expect(ended.map((c) => [c.taskId, c.state]).sort()).toEqual([['d', 'completed'], ['u', 'completed']]);
      // Sent to the task's origin, not to the other one; a header not named sensitive goes on (as download()'s).
      expect(seen.filter((r) => r.at === 'a').map((r) => r.key)).toEqual(['k-secret', 'k-secret']);
      expect(seen.filter((r) => r.at === 'b').map((r) => [r.method, r.key, r.other]).sort()).toEqual([['GET', undefined, 't1'], ['PUT', undefined, 't1']]);
      expect(session.tasks().find((t) => t.id === 'd')!.sensitiveHeaders).toEqual(['x-api-key']);
      await session.close();
      // Stored: a session opened again (another run, after a restart) still knows them.
      const again = await openSession({ id, directory });
      expect(again.tasks().map((t) => [t.id, t.sensitiveHeaders]).sort()).toEqual([['d', ['x-api-key']], ['u', ['x-api-key']]]);
    } finally {
      await new Promise((resolve) => origin.close(resolve));
      await new Promise((resolve) => target.close(resolve));
    }
  });

  it('S7 a challenge answered with cancel cancels the task; without a handler it fails with the 401', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(10 * KiB, 34), authorization: 'Basic nope' });
    const cancelling = await openSession({ id, store: memorySessionStore(), onChallenge: () => ({ type: 'cancel' }) });
    await cancelling.download(url, { to, id: 'q' });
    expect((await nextCompletions(cancelling, 1))[0]).toMatchObject({ state: 'cancelled' });
    const plain = await openSession({ id: id + 'b', store: memorySessionStore() });
    await plain.download(url, { to, id: 'r' });
    expect((await nextCompletions(plain, 1))[0]).toMatchObject({ state: 'failed', error: { code: 'http', status: 401 } });
  });

  it('S7 an answer that cannot be sent (a token read with its newline) fails the task saying so, and is not kept: the next challenge asks again', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(10 * KiB, 40), authorization: 'Bearer fresh' });
    const answers = ['fresh\n', 'fresh'];
    let calls = 0;
    const session = await openSession({ id, store: memorySessionStore(), onChallenge: () => ({ type: 'token', token: answers[calls++]! }) });
    await session.download(url, { to, id: 'nl' });
    const [bad] = await nextCompletions(session, 1);
    expect(bad).toMatchObject({ taskId: 'nl', state: 'failed', error: { code: 'invalid' } });
    expect(bad!.error!.message).toMatch(/challenge/);
    expect(bad!.error!.message).not.toContain('fresh');
    await bad!.ack();
    await session.download(url, { to, id: 'ok' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'ok', state: 'completed' });
    expect(calls).toBe(2);
  });

  it('S7 a handler that throws (synchronously) fails the challenged task, and the next challenge asks it again', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(10 * KiB, 41), authorization: 'Bearer fresh' });
    let calls = 0;
    const onChallenge = () => {
      if (calls++ === 0) throw new Error('the token service is down');
      return { type: 'token' as const, token: 'fresh' };
    };
    const session = await openSession({ id, store: memorySessionStore(), onChallenge });
    await session.download(url, { to, id: 'down' });
    const [first] = await nextCompletions(session, 1);
    expect(first).toMatchObject({ taskId: 'down', state: 'failed', error: { message: 'the token service is down' } });
    await first!.ack();
    await session.download(url, { to, id: 'up' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'up', state: 'completed' });
    expect(calls).toBe(2);
  });

  it('S7 credentials supplied by the callback are sent as Basic', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(10 * KiB, 35), authorization: 'Basic ' + Buffer.from('u:p').toString('base64') });
    const session = await openSession({ id, store: memorySessionStore(), onChallenge: () => ({ type: 'credentials', username: 'u', password: 'p' }) });
    await session.download(url, { to, id: 'b' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ state: 'completed' });
  });

  it('S8 a second opener in this process gets SessionLockedError, never a shared journal', async () => {
    const { id } = name();
    await openSession({ id });
    const second = TransferSession.open({ id, directory: join(dir, 'sessions') });
    await expect(second).rejects.toBeInstanceOf(SessionLockedError);
    await expect(second).rejects.toMatchObject({ ownerPid: process.pid, sessionId: id });
    await expect(TransferSession.open({ id, store: undefined, directory: join(dir, 'sessions') }).catch((e) => isSessionLockedError(e))).resolves.toBe(true);
  });

  it('S8 a second process gets SessionLockedError; after the owner is killed its stale lock is taken over', async () => {
    const { id, path, to } = name();
    const directory = join(dir, 'sessions');
    const url = server.put(path, { body: bytes(4 * MiB, 36), rate: 512 * KiB });
    const owner = startSessionChild({ mode: 'add', id, directory, tasks: [{ id: 'o', url, to }] });
    await owner.waitFor('added', 15_000);
    const probe = startSessionChild({ mode: 'open-once', id, directory });
    await probe.exited;
    expect(JSON.parse(probe.stdout())).toMatchObject({ error: 'SessionLockedError' });
    await expect(TransferSession.open({ id, directory })).rejects.toMatchObject({ name: 'SessionLockedError', ownerPid: owner.child.pid });
    await owner.kill9();
    // The killed task's download held its partial file's lock too: the resumed task takes it over.
    expect(JSON.parse(await readFile(to + '.partial.lock', 'utf8'))).toMatchObject({ pid: owner.child.pid });
    server.resources.get(path)!.rate = undefined;
    const session = await openSession({ id });
    expect(session.tasks().map((t) => t.id)).toEqual(['o']);
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ state: 'completed' });
    expect(sha256(await readFile(to))).toBe(sha256(bytes(4 * MiB, 36)));
    await expect(stat(to + '.partial.lock')).rejects.toThrow();
  });

  it("S8 a lock naming this process's pid with a token it does not hold is stale (a container restarted with the same pid)", async () => {
    const { id } = name();
    const sdir = sessionDirectory(join(dir, 'sessions'), id);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(sdir, { recursive: true });
    await writeFile(join(sdir, 'lock'), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), token: 'before-the-restart' }));
    const session = await openSession({ id });
    expect(session.tasks()).toEqual([]);
    await expect(TransferSession.open({ id, directory: join(dir, 'sessions') })).rejects.toMatchObject({ name: 'SessionLockedError', ownerPid: process.pid });
  });

  it('S8 a lock left by a dead process is stale and taken over', async () => {
    const { id } = name();
    const directory = join(dir, 'sessions');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const sdir = sessionDirectory(directory, id);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(sdir, { recursive: true });
    await writeFile(join(sdir, 'lock'), JSON.stringify({ pid: Number(dead), host: (await import('node:os')).hostname(), token: 'old' }));
    const session = await openSession({ id });
    expect(session.tasks()).toEqual([]);
  });

  it('a failed download keeps its partial file for a new task to the same `to`; forget() removes it', async () => {
    const { id, path, to } = name();
    const body = bytes(2 * MiB, 40);
    const url = server.put(path, { body, etag: '"f1"', resetAfter: 256 * KiB, resets: 2 });
    const session = await openSession({ id, retry: { count: 1, baseDelay: 5 } });
    await session.download(url, { to, id: 'f' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'f', state: 'failed', error: { code: 'integrity' } });
    const kept = (await stat(to + '.partial')).size;
    expect(kept).toBeGreaterThan(0);
    await stat(to + '.partial.json');
    // Forgetting the failed task gives its partial file up.
    await session.ack('f');
    expect(await session.forget('f')).toBe(true);
    await expect(stat(to + '.partial')).rejects.toThrow();
    await expect(stat(to + '.partial.json')).rejects.toThrow();

    // Again, and this time a new task continues the partial file.
    server.resources.get(path)!.resets = 2;
    await session.download(url, { to, id: 'g' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'g', state: 'failed' });
    const partial = (await stat(to + '.partial')).size;
    await session.ack('g');
    await session.download(url, { to, id: 'h' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'h', state: 'completed' });
    expect(server.requests.filter((r) => r.path === path).at(-1)!.range).toBe(`bytes=${partial}-`);
    expect(sha256(await readFile(to))).toBe(sha256(body));
    // The failed task forgotten after that removes nothing of the finished file.
    expect(await session.forget('g')).toBe(true);
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('a failed download leaves no partial file that nothing could continue: none for a 404, none for bytes without a validator', async () => {
    const session = await openSession({ id: name().id, retry: 0 });
    const missing = name();
    await session.download(server.put(missing.path, { body: Buffer.alloc(0), status: 404 }), { to: missing.to, id: 'missing' });
    const bare = name();
    await session.download(server.put(bare.path, { body: bytes(2 * MiB, 41), resetAfter: 256 * KiB, resets: 1 }), { to: bare.to, id: 'bare' });
    const ends = await nextCompletions(session, 2);
    expect(Object.fromEntries(ends.map((c) => [c.taskId, c.state]))).toEqual({ missing: 'failed', bare: 'failed' });
    for (const to of [missing.to, bare.to]) {
      await expect(stat(to + '.partial')).rejects.toThrow();
      await expect(stat(to + '.partial.json')).rejects.toThrow();
    }
    // Asked for again, the file is whole.
    for (const id of ['missing', 'bare']) await session.ack(id);
    await session.download(server.put(bare.path, { body: bytes(2 * MiB, 41) }), { to: bare.to, id: 'bare-again' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'bare-again', state: 'completed' });
    expect(sha256(await readFile(bare.to))).toBe(sha256(bytes(2 * MiB, 41)));
  });

  /**
   * A task 'old' that failed after writing part of `to` (its partial file kept), in a session
   * opened with `limits`: the start of the tests of tasks sharing one `to`.
   */
  async function afterAFailedTask(seed: number, etag: string, limits: { maxPerHost?: number; maxConcurrent?: number }) {
    const { id, path, to } = name();
    const body = bytes(2 * MiB, seed);
    const url = server.put(path, { body, etag, resetAfter: 256 * KiB, resets: 2 });
    const session = await openSession({ id, retry: { count: 1, baseDelay: 5 }, ...limits });
    await session.download(url, { to, id: 'old' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'old', state: 'failed' });
    await session.ack('old');
    return { path, to, body, url, session };
  }

  it('two tasks never write one `to` at once; forgetting a failed task spares the partial file another task is writing', async () => {
    const { path, to, body, url, session } = await afterAFailedTask(41, '"t1"', { maxPerHost: 4 });
    server.resources.get(path)!.rate = 1 * MiB;
    await session.download(url, { to, id: 'new' });
    await firstValueFrom(session.events$.pipe(filter((e) => e.type === 'progress' && e.taskId === 'new'), timeout(10_000)));
    // A second task to the same `to` while 'new' runs: refused, not interleaved.
    await session.download(server.put(path + 'x', { body: bytes(64 * KiB, 42) }), { to, id: 'twin' });
    const twin = (await nextCompletions(session, 1))[0]!;
    expect(twin).toMatchObject({ taskId: 'twin', state: 'failed', error: { code: 'invalid' } });
    expect(twin.error!.message).toContain('is being downloaded by another transfer in this process');
    await session.ack('twin');
    expect(await session.forget('old')).toBe(true);
    await stat(to + '.partial');
    server.resources.get(path)!.rate = undefined;
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'new', state: 'completed' });
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('forgetting or cancelling a task spares the partial file a suspended or queued task to the same `to` continues', async () => {
    const { path, to, body, url, session } = await afterAFailedTask(43, '"s1"', { maxConcurrent: 1 });
    server.resources.get(path)!.rate = 512 * KiB;
    await session.download(url, { to, id: 'new' });
    await firstValueFrom(session.events$.pipe(filter((e) => e.type === 'progress' && e.taskId === 'new' && e.loaded > 600 * KiB), timeout(10_000)));
    expect(await session.suspend('new')).toBe(true);
    const kept = (await stat(to + '.partial')).size;
    expect(kept).toBeGreaterThan(600 * KiB);
    expect(await session.forget('old')).toBe(true);
    expect((await stat(to + '.partial')).size).toBe(kept);
    // A queued twin cancelled while 'new' is suspended spares the partial file too.
    await session.download(url, { to, id: 'twin', priority: -1 });
    expect(await session.cancel('twin')).toBe(true);
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'twin', state: 'cancelled' });
    await session.ack('twin');
    expect((await stat(to + '.partial')).size).toBe(kept);
    server.resources.get(path)!.rate = undefined;
    expect(await session.resume('new')).toBe(true);
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'new', state: 'completed' });
    expect(server.requests.filter((r) => r.path === path).at(-1)!.range).toBe(`bytes=${kept}-`);
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S9 the file store recovers a journal with a torn or empty tail', async () => {
    const { id, path, to } = name();
    const directory = join(dir, 'torn');
    const url = server.put(path, { body: bytes(10 * KiB, 37) });
    const first = await TransferSession.open({ id, store: fileSessionStore({ directory }) });
    await first.download(url, { to, id: 'kept' });
    await first.suspend('kept');
    await first.close();
    const journal = join(sessionDirectory(directory, id), 'journal.log');
    await appendFile(journal, 'J1 0badf00d {"t":"put","task":{"id":"torn"');
    await appendFile(journal, '\n\0\0\0\0\0\0\0');
    const second = await openSession({ id, store: fileSessionStore({ directory }) });
    expect(second.tasks().map((t) => [t.id, t.state])).toEqual([['kept', 'suspended']]);
    const text = await readFile(journal, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('torn');
  });

  it('S9 the memory store keeps a session across close and reopen on the same store', async () => {
    const { id, path, to } = name();
    const store = memorySessionStore();
    const a = await openSession({ id, store });
    await a.download(server.put(path, { body: bytes(10 * KiB, 38) }), { to, id: 'm' });
    await a.suspend('m');
    await a.close();
    const b = await openSession({ id, store });
    expect(b.task('m')).toMatchObject({ state: 'suspended' });
    await expect(TransferSession.open({ id, store })).rejects.toBeInstanceOf(SessionLockedError);
  });

  it('S10 progress checkpoints are bounded: not one store write per chunk', async () => {
    const { id, path, to } = name();
    const body = bytes(8 * MiB, 39);
    const url = server.put(path, { body, etag: '"s10"', rate: 8 * MiB });
    const store = countingStore(memorySessionStore());
    const session = await openSession({ id, store, progressInterval: 0, checkpointInterval: 250 });
    let progress = 0;
    session.events$.subscribe((e) => e.type === 'progress' && progress++);
    const started = Date.now();
    await session.download(url, { to, id: 'big' });
    await nextCompletions(session, 1);
    const seconds = (Date.now() - started) / 1000;
    expect(progress).toBeGreaterThan(50);
    // add + completion + at most one checkpoint per 250 ms.
    expect(store.writes.length).toBeLessThanOrEqual(2 + Math.ceil(seconds * 4) + 1);
    expect(store.writes.length).toBeLessThan(progress / 10);
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S10 a task that stops (suspended, closed, cancelled, failed) records its last count on the record of its stop, not the last checkpoint\'s', async () => {
    const { id, path, to } = name();
    const body = bytes(16 * MiB, 59);
    const url = server.put(path, { body, etag: '"trail"', rate: 2 * MiB });
    // Cut after 256 KiB, each attempt: the task fails with the bytes it holds.
    const bad = server.put(path + 'bad', { body: bytes(2 * MiB, 60), etag: '"cut"', rate: 2 * MiB, resetAfter: 256 * KiB, resets: 10 });
    const memory = memorySessionStore();
    const stored = (taskId: string) => memory.snapshot(id).find((t) => t.id === taskId);
    // No periodic checkpoint within the test: what is stored is what the stops wrote.
    const options = { id, store: memory, checkpointInterval: 60_000 };
    let session = await openSession(options);
    let last = 0;
    let lastBad = 0;
    const follow = (s: Session) =>
      s.events$.subscribe((e) => {
        if (e.type === 'progress' && e.taskId === 'big') last = e.loaded;
        if (e.type === 'progress' && e.taskId === 'bad') lastBad = e.loaded;
      });
    follow(session);
    /** Waits until the running task showed more than `bytes`. */
    const past = async (bytes: number) => {
      for (let i = 0; i < 400 && last <= bytes; i++) await new Promise((r) => setTimeout(r, 10));
      expect(last).toBeGreaterThan(bytes);
    };
    await session.download(url, { to, id: 'big' });
    await past(256 * KiB);
    expect(await session.suspend('big')).toBe(true);
    expect(stored('big')).toMatchObject({ state: 'suspended', bytes: last, total: body.length });
    const suspendedAt = last;
    expect(await session.resume('big')).toBe(true);
    await past(suspendedAt + 256 * KiB);
    await session.close();
    expect(stored('big')).toMatchObject({ state: 'queued', bytes: last, total: body.length });
    session = await openSession(options);
    follow(session);
    const closedAt = last;
    expect(session.task('big')).toMatchObject({ state: 'queued', bytes: closedAt });
    await past(closedAt + 256 * KiB);
    expect(await session.cancel('big')).toBe(true);
    expect(stored('big')).toMatchObject({ state: 'cancelled', bytes: last, total: body.length });
    // A failed one holds the count it reached.
    await session.download(bad, { to: to + '.bad', id: 'bad' });
    expect((await nextCompletions(session, 2)).find((c) => c.taskId === 'bad')).toMatchObject({ state: 'failed' });
    expect(lastBad).toBeGreaterThan(0);
    expect(stored('bad')).toMatchObject({ state: 'failed', bytes: lastBad, total: 2 * MiB });
  });

  it('503 with Retry-After is retried after the delay, and the task completes', async () => {
    const { id, path, to } = name();
    const body = bytes(20 * KiB, 40);
    const url = server.put(path, { body, unavailable: 1, retryAfter: '1' });
    const session = await openSession({ id, store: memorySessionStore() });
    const started = Date.now();
    await session.download(url, { to, id: 'r' });
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ state: 'completed' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(server.requests.filter((r) => r.path === path).map((r) => r.status)).toEqual([503, 200]);
  });

  it('uploads a file in a session and stores the response', async () => {
    const { id, path, to } = name();
    const body = bytes(300 * KiB, 41);
    await writeFile(to, body);
    const url = server.put(path, { body: Buffer.alloc(0) });
    const session = await openSession({ id, store: memorySessionStore() });
    await session.upload(url, to, { id: 'u', method: 'PUT' });
    const [c] = await nextCompletions(session, 1);
    expect(c).toMatchObject({ state: 'completed', result: { size: body.length } });
    expect(JSON.parse(c!.result!.data as string)).toEqual({ size: body.length, sha256: sha256(body) });
  });

  it('an upload, sent again from zero, shows no progress of a run that stopped (suspended, reopened, or run again)', async () => {
    const { id, path, to } = name();
    const body = bytes(48 * MiB, 45);
    await writeFile(to, body);
    const url = server.put(path, { body: Buffer.alloc(0), rate: 4 * MiB });
    const memory = memorySessionStore();
    const stored = () => memory.snapshot(id).find((t) => t.id === 'u');
    /** Waits for a checkpoint of the running upload, other than `before`. */
    const checkpointed = async (session: Session, before?: number) => {
      const fresh = () => (stored()?.bytes ?? 0) > 0 && stored()!.bytes !== before && session.task('u')?.state === 'running';
      for (let i = 0; i < 200 && !fresh(); i++) await new Promise((r) => setTimeout(r, 25));
      expect(fresh()).toBe(true);
    };
    const session = await openSession({ id, store: memory, checkpointInterval: 0 });
    await session.upload(url, to, { id: 'u', method: 'PUT' });
    await checkpointed(session);
    expect(session.task('u')!.bytes).toBeGreaterThan(0); // running: its run's progress
    expect(await session.suspend('u')).toBe(true);
    expect(session.task('u')).toMatchObject({ state: 'suspended' });
    expect(session.task('u')!.bytes).toBeUndefined();
    const suspendedAt = stored()!.bytes;
    expect(await session.resume('u')).toBe(true);
    // Running again from zero: its stored checkpoint is gone until this run's first.
    for (let i = 0; i < 200 && stored()!.bytes === suspendedAt; i++) await new Promise((r) => setTimeout(r, 5));
    expect(stored()!.bytes === undefined || stored()!.bytes !== suspendedAt).toBe(true);
    await checkpointed(session, suspendedAt);
    await session.close();
    // Closed: stored without the stopped run's count, queued; running again, with the new run's.
    expect(stored()).toMatchObject({ state: 'queued', total: body.length });
    expect(stored()!.bytes).toBeUndefined();
    const memoryWrites: Array<number | undefined> = [];
    const spy: SessionStore = {
      name: 'spy',
      async open(sid) {
        const h = await memory.open(sid);
        const write = (changes: readonly TaskChange[]) => {
          for (const c of changes) if (c.type === 'put' && c.task.id === 'u') memoryWrites.push(c.task.bytes);
          return h.write(changes);
        };
        return { tasks: h.tasks, write, close: () => h.close() };
      },
    };
    const reopened = await openSession({ id, store: spy, checkpointInterval: 60_000 });
    let shown = 0;
    reopened.events$.subscribe((e) => e.type === 'progress' && e.taskId === 'u' && (shown = Math.max(shown, e.loaded)));
    expect(reopened.task('u')).toMatchObject({ state: 'queued', total: body.length });
    expect(reopened.task('u')!.bytes).toBeUndefined();
    // Running, it is stored with this run's first count at once (its checkpoint says the upload
    // runs, to a reader of the store: session list), and no other within the interval.
    for (let i = 0; i < 200 && !(reopened.task('u')?.state === 'running' && memoryWrites.some((b) => b !== undefined)); i++) await new Promise((r) => setTimeout(r, 10));
    expect(reopened.task('u')).toMatchObject({ state: 'running' });
    expect(memoryWrites).toHaveLength(1);
    expect(stored()!.bytes).toBeLessThanOrEqual(shown);
    expect(reopened.task('u')!.bytes).toBe(stored()!.bytes);
  });

  it('an upload whose file cannot be read fails clearly', async () => {
    const { id, path, to } = name();
    const session = await openSession({ id, store: memorySessionStore() });
    await session.upload(server.put(path, { body: Buffer.alloc(0) }), to + '.missing', { id: 'u' });
    const [c] = await nextCompletions(session, 1);
    expect(c).toMatchObject({ state: 'failed', error: { code: 'invalid' } });
    expect(c!.error!.message).toMatch(/cannot read the file to upload/);
  });

  it('an upload whose file changed since it was added (its size, or only its time) fails with SourceChangedError when it runs, and sends nothing', async () => {
    const { id, path, to } = name();
    // A slow download holds the only slot: the uploads stay queued while their files change.
    const blocker = server.put(path + 'blk', { body: bytes(4 * MiB, 48), rate: 256 * KiB });
    const grownUrl = server.put(path + 'grown', { body: Buffer.alloc(0) });
    const touchedUrl = server.put(path + 'touched', { body: Buffer.alloc(0) });
    const sameUrl = server.put(path + 'same', { body: Buffer.alloc(0) });
    await writeFile(to + '.grown', bytes(100 * KiB, 49));
    await writeFile(to + '.touched', bytes(100 * KiB, 50));
    await writeFile(to + '.same', bytes(100 * KiB, 51));
    const session = await openSession({ id, store: memorySessionStore(), maxConcurrent: 1 });
    await session.download(blocker, { to, id: 'blk', priority: 1 });
    const grown = await session.upload(grownUrl, to + '.grown', { id: 'grown', method: 'PUT' });
    await session.upload(touchedUrl, to + '.touched', { id: 'touched', method: 'PUT' });
    await session.upload(sameUrl, to + '.same', { id: 'same', method: 'PUT' });
    expect(grown).toMatchObject({ state: 'queued', sourceSize: 100 * KiB, sourceMtime: (await stat(to + '.grown')).mtimeMs });
    await appendFile(to + '.grown', 'more');
    const later = new Date(Date.now() + 60_000);
    await utimes(to + '.touched', later, later); // the same bytes, but another version of the file
    const completions = nextCompletions(session, 4);
    expect(await session.cancel('blk')).toBe(true);
    const ends = new Map((await completions).map((c) => [c.taskId, c]));
    expect(ends.get('same')).toMatchObject({ state: 'completed', result: { size: 100 * KiB } });
    expect(ends.get('grown')).toMatchObject({ state: 'failed', error: { name: 'SourceChangedError', code: 'invalid' } });
    expect(ends.get('grown')!.error!.message).toMatch(/^the file to upload, .*\.grown, changed since the task was added \(its size is 102404 bytes, 102400 when the task was added\): not sent; add it again/);
    expect(ends.get('touched')).toMatchObject({ state: 'failed', error: { name: 'SourceChangedError', code: 'invalid' } });
    expect(ends.get('touched')!.error!.message).toMatch(/changed since the task was added \(it was modified at .*, after the task was added/);
    expect(server.requests.filter((r) => r.path === path + 'grown' || r.path === path + 'touched')).toEqual([]);
  });

  it('an upload stopped mid-way (suspended, or closed and reopened) whose file changed meanwhile fails when it runs again, not sending the new file from zero', async () => {
    const { id, path, to } = name();
    await writeFile(to, bytes(8 * MiB, 52));
    const url = server.put(path, { body: Buffer.alloc(0), rate: 2 * MiB });
    const memory = memorySessionStore();
    const first = await openSession({ id, store: memory, checkpointInterval: 0 });
    await first.upload(url, to, { id: 'u', method: 'PUT' });
    for (let i = 0; i < 200 && !((memory.snapshot(id)[0]?.bytes ?? 0) > 0); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await first.suspend('u')).toBe(true);
    await first.close();
    // Rewritten in place, the same size: only its time says it is another file.
    await writeFile(to, bytes(8 * MiB, 53));
    const session = await openSession({ id, store: memory });
    expect(await session.resume('u')).toBe(true);
    const [c] = await nextCompletions(session, 1);
    expect(c).toMatchObject({ taskId: 'u', state: 'failed', error: { name: 'SourceChangedError', code: 'invalid' } });
    expect(server.requests.filter((r) => r.path === path).length).toBe(1); // the first run's only
  });

  it('an upload whose file changes between two attempts of one run (a retry after a 503) is not sent again', async () => {
    const { id, to } = name();
    await writeFile(to, bytes(64 * KiB, 56));
    let requests = 0;
    const bodies: number[] = [];
    const http = createServer((req, res) => {
      const n = ++requests;
      let size = 0;
      req.on('data', (c: Buffer) => (size += c.length));
      req.on('end', () => {
        bodies.push(size);
        if (n === 1) {
          // The file is touched while the retry waits.
          const later = new Date(Date.now() + 60_000);
          utimesSync(to, later, later);
          res.writeHead(503, { 'retry-after': '1', 'content-length': '0' }).end();
        } else res.writeHead(200, { 'content-length': '2' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const session = await openSession({ id, store: memorySessionStore() });
      await session.upload(`http://127.0.0.1:${(http.address() as AddressInfo).port}/up`, to, { id: 'u', method: 'PUT' });
      const [c] = await nextCompletions(session, 1);
      expect(c).toMatchObject({ state: 'failed', error: { name: 'SourceChangedError', code: 'invalid' } });
      expect(bodies).toEqual([64 * KiB]);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('an upload stored without its file\'s size and time (by an older version) sends the file as it is when it runs', async () => {
    const { id, path, to } = name();
    const directory = join(dir, 'old-uploads');
    await writeFile(to, bytes(10 * KiB, 54));
    const url = server.put(path, { body: Buffer.alloc(0) });
    const journal = join(sessionDirectory(directory, id), 'journal.log');
    await mkdir(sessionDirectory(directory, id), { recursive: true });
    await writeFile(journal, encodeChange({ type: 'put', task: { id: 'old', kind: 'upload', url, source: to, method: 'PUT', priority: 0, seq: 1, createdAt: Date.now(), state: 'queued', acked: false } }));
    const body = bytes(12 * KiB, 55);
    await writeFile(to, body); // changed after it was added: nothing recorded to tell
    const session = await openSession({ id, store: fileSessionStore({ directory }) });
    const [c] = await nextCompletions(session, 1);
    expect(c).toMatchObject({ taskId: 'old', state: 'completed', result: { size: body.length } });
    expect(JSON.parse(c!.result!.data as string)).toEqual({ size: body.length, sha256: sha256(body) });
  });

  it('finished$ emits when the queue drains', async () => {
    const { id, path, to } = name();
    const session = await openSession({ id, store: memorySessionStore() });
    const finished = firstValueFrom(session.finished$.pipe(timeout(10_000)));
    await session.download(server.put(path, { body: bytes(10 * KiB, 42) }), { to, id: 'a' });
    await session.download(server.put(path + 'b', { body: bytes(10 * KiB, 43) }), { to: to + 'b', id: 'b' });
    await finished;
    expect(session.tasks().every((t) => t.state === 'completed')).toBe(true);
  });

  it('refuses bad arguments clearly', async () => {
    await expect(TransferSession.open({ id: '' })).rejects.toThrow(/id must be/);
    await expect(TransferSession.open({ id: '..' })).rejects.toThrow(/not a valid session identifier/);
    // No control character of U+0000 to U+001F or U+007F (docs/sessions.md, Stores): a TypeError, as for task ids.
    for (const id of ['a\nb', 'a\u0000b', 'a\u001bb', 'a\u007fb']) await expect(TransferSession.open({ id })).rejects.toThrow(TypeError);
    // Half a surrogate pair can be no file name (it failed as "URIError: URI malformed"); shown as \\uXXXX.
    await expect(TransferSession.open({ id: 'a\uD800b\uDC00' })).rejects.toThrow('id "a\\ud800b\\udc00" is not a valid session identifier: it holds half of a surrogate pair');
    // Control characters are shown escaped, as in task ids' messages: never a raw newline or escape.
    await expect(TransferSession.open({ id: 'a\nb\u001b[2J' })).rejects.toThrow('id "a\\u000ab\\u001b[2J" is not a valid session identifier');
    await expect(TransferSession.open({ id: 'x', maxPerHost: 0, store: memorySessionStore() })).rejects.toThrow(/maxPerHost must be a whole number >= 1, got 0/);
    // An interval that would checkpoint on every progress event (S10) is refused.
    for (const bad of [Number.NaN, -1, Infinity, '100' as unknown as number]) {
      await expect(TransferSession.open({ id: 'x', checkpointInterval: bad, store: memorySessionStore() })).rejects.toThrow(/checkpointInterval must be a finite number of ms >= 0/);
      await expect(TransferSession.open({ id: 'x', progressInterval: bad, store: memorySessionStore() })).rejects.toThrow(/progressInterval must be a finite number of ms >= 0/);
    }
    const session = await openSession({ id: name().id, store: memorySessionStore() });
    await expect(session.download('ftp://x/y', { to: 'a' })).rejects.toThrow(/unsupported scheme/);
    await expect(session.download('http://127.0.0.1/y')).rejects.toThrow(/needs `to`/);
    // An empty path is no path, not the current directory (a download beside it, an upload of a directory).
    await expect(session.download('http://127.0.0.1/y', { to: '' })).rejects.toThrow(/needs `to`/);
    await expect(session.upload('http://127.0.0.1/y', '')).rejects.toThrow(/needs the path of the file to send/);
    await expect(session.upload('http://127.0.0.1/y', 42 as never)).rejects.toThrow(/needs the path of the file to send/);
    await expect(session.download('http://127.0.0.1/y', { to: 'a', overwrite: 'no' as never })).rejects.toThrow(/overwrite must be a boolean/);
    await expect(session.download('http://127.0.0.1/y', { to: 'a', integrity: 'bogus' })).rejects.toThrow(/integrity "bogus" is not/);
    await expect(session.download('http://127.0.0.1/y', { to: 'a', integrity: 42 as never })).rejects.toThrow(/integrity must be a string/);
    // A header that can never be sent is refused when added, not stored to fail each time the task runs.
    await expect(session.download('http://127.0.0.1/y', { to: 'a', headers: { 'X-Token': 'tok\u20acn' } })).rejects.toThrow(/^header "X-Token" must be Latin-1 text .*\(the value is not shown\)$/);
    await expect(session.download('http://127.0.0.1/y', { to: 'a', headers: { 'Bad Name': 'x' } })).rejects.toThrow(/header name "Bad Name" is not valid/);
    // So is a method that can never be sent.
    await expect(session.download('http://127.0.0.1/y', { to: 'a', method: 'BAD METHOD' })).rejects.toThrow(/method "BAD METHOD" is not an HTTP method/);
    await expect(session.upload('http://127.0.0.1/y', 'a', { method: 5 as never })).rejects.toThrow(/method "5" is not an HTTP method/);
    expect(session.tasks()).toEqual([]);
    await expect(session.ack('nope')).rejects.toThrow(/no task/);
  });

  it('refuses a task id with control characters (a newline, an escape) or half a surrogate pair, on every call that takes one, with a TypeError saying what an id may be', async () => {
    const { id, to } = name();
    const session = await openSession({ id, store: memorySessionStore() });
    const rule = /a task id is a string of 1 to 200 characters, without control characters \(U\+0000 to U\+001F, U\+007F to U\+009F\) or half of a surrogate pair$/;
    for (const bad of ['a\nb', 'tab\there', 'esc\u001b[31m', 'del\u007f', 'csi\u009b', 'x\uD800', '', 'x'.repeat(201)]) {
      await expect(session.download('http://127.0.0.1/y', { to, id: bad })).rejects.toThrow(TypeError);
      await expect(session.download('http://127.0.0.1/y', { to, id: bad })).rejects.toThrow(rule);
      await expect(session.upload('http://127.0.0.1/y', to, { id: bad })).rejects.toThrow(rule);
      expect(() => session.task(bad)).toThrow(rule);
      for (const call of ['ack', 'forget', 'suspend', 'resume', 'cancel'] as const) await expect(session[call](bad)).rejects.toThrow(rule);
    }
    await expect(session.download('http://127.0.0.1/y', { to, id: 42 as never })).rejects.toThrow(/invalid task id: number; a task id is/);
    // The id is shown with its control characters written out, never as they are.
    await expect(session.download('http://127.0.0.1/y', { to, id: 'a\nb\u001b' })).rejects.toThrow('invalid task id "a\\u000ab\\u001b"; a task id is');
    expect(session.tasks()).toEqual([]);
    // Any other text is an id, spaces and non-ASCII included; an unknown valid id is not found, as before.
    expect((await session.download('http://127.0.0.1/y', { to, id: 'café №1 ✓' })).id).toBe('café №1 ✓');
    expect(session.task('nope')).toBeUndefined();
    await expect(session.ack('nope')).rejects.toThrow(/no task "nope"/);
  });

  it('a task stored with an id the library now refuses (a journal written before ids were checked) still loads and can be managed by that id', async () => {
    const { id, path, to } = name();
    const directory = join(dir, 'legacy-ids');
    const url = server.put(path, { body: bytes(10 * KiB, 47) });
    const first = await TransferSession.open({ id, store: fileSessionStore({ directory }) });
    await first.download(url, { to, id: 'fine' });
    await first.suspend('fine');
    const stored = first.task('fine')!;
    await first.close();
    const journal = join(sessionDirectory(directory, id), 'journal.log');
    // Written as an older version did: ids with a newline and an escape sequence.
    await appendFile(journal, encodeChange({ type: 'put', task: { ...stored, id: 'old\nline', seq: stored.seq + 1, to: to + '.old', state: 'suspended' } }));
    await appendFile(journal, encodeChange({ type: 'put', task: { ...stored, id: 'done\u001b[2J', seq: stored.seq + 2, to: to + '.done', state: 'completed', acked: false, result: { status: 200, url, size: 3 } } }));
    const session = await openSession({ id, store: fileSessionStore({ directory }) });
    expect(session.tasks().map((t) => [t.id, t.state])).toEqual([['fine', 'suspended'], ['old\nline', 'suspended'], ['done\u001b[2J', 'completed']]);
    const [pending] = await nextCompletions(session, 1);
    expect(pending!.taskId).toBe('done\u001b[2J');
    await pending!.ack();
    expect(await session.forget('done\u001b[2J')).toBe(true);
    expect(session.task('old\nline')).toMatchObject({ state: 'suspended' });
    // Adding it again is refused (never returned, as an existing id would be): what add() returns has a valid id.
    await expect(session.download(url, { to: to + '.old', id: 'old\nline' })).rejects.toThrow(/invalid task id "old\\u000aline"/);
    expect(await session.cancel('old\nline')).toBe(true);
    await session.ack('old\nline');
    await session.close();
    const again = await openSession({ id, store: fileSessionStore({ directory }) });
    expect(again.tasks().map((t) => [t.id, t.state, t.acked])).toEqual([['fine', 'suspended', false], ['old\nline', 'cancelled', true]]);
  });

  /**
   * The file store, whose write of `taskId`'s completion fails as if the process died there: the
   * file is published, the journal never hears of it (the session then ends, store-failed).
   */
  function dyingAtCompletion(taskId: string): SessionStore {
    const inner = fileSessionStore({ directory: join(dir, 'sessions') });
    return {
      name: 'dies at a completion',
      async open(sessionId: string) {
        const h = await inner.open(sessionId);
        return {
          tasks: h.tasks,
          write: (changes: readonly TaskChange[]) =>
            changes.some((c) => c.type === 'put' && c.task.id === taskId && c.task.state === 'completed') ? Promise.reject(new Error('killed')) : h.write(changes),
          close: () => h.close(),
        };
      },
    };
  }
  const ended = (session: Session) => firstValueFrom(session.invalidated$.pipe(timeout(20_000)));

  it('overwrite: false: a task killed between publishing its file and recording the completion completes on the next open, also after a second kill (its own file is no stranger)', async () => {
    const { id, path, to } = name();
    const body = bytes(64 * KiB, 45);
    const url = server.put(path, { body, etag: '"k1"' });
    const first = await openSession({ id, store: dyingAtCompletion('own') });
    await first.download(url, { to, id: 'own', overwrite: false });
    await ended(first);
    expect(sha256(await readFile(to))).toBe(sha256(body)); // published, never recorded
    // The next run dies the same way: the file is its own again.
    const second = await openSession({ id, store: dyingAtCompletion('own') });
    await ended(second);
    const third = await openSession({ id });
    const [done] = await nextCompletions(third, 1);
    expect(done).toMatchObject({ taskId: 'own', state: 'completed', result: { size: body.length } });
    expect(sha256(await readFile(to))).toBe(sha256(body));
    // Recorded now: no side file is left.
    for (const side of ['.partial', '.partial.json', '.partial.lock']) await expect(stat(to + side)).rejects.toThrow();
  });

  it('overwrite: false: a task that published its file, killed, then stopped again before its first byte, still completes on the next open (its record is kept)', async () => {
    const { id, path, to } = name();
    const body = bytes(32 * KiB, 49);
    const url = server.put(path, { body, etag: '"k5"' });
    const first = await openSession({ id, store: dyingAtCompletion('again') });
    await first.download(url, { to, id: 'again', overwrite: false });
    await ended(first);
    // The next run waits before its request (a 503 and a retry) and is closed meanwhile: no byte came.
    server.resources.get(path)!.unavailable = 1;
    const seen = server.requests.length;
    const second = await openSession({ id, retry: { count: 1, baseDelay: 10_000 } });
    for (let t = 0; t < 5000 && server.requests.length === seen; t += 5) await new Promise((r) => setTimeout(r, 5));
    await second.close();
    const third = await openSession({ id });
    const [done] = await nextCompletions(third, 1);
    expect(done).toMatchObject({ taskId: 'again', state: 'completed', result: { size: body.length } });
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('overwrite: false: a file put in place of the one a killed task published is kept, and the failed task leaves no record beside it', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(16 * KiB, 48), etag: '"k4"' });
    const first = await openSession({ id, store: dyingAtCompletion('replaced') });
    await first.download(url, { to, id: 'replaced', overwrite: false });
    await ended(first);
    // The user saves another file in its place (a new file, renamed over it).
    await writeFile(to + '.new', 'the user saved this');
    await rename(to + '.new', to);
    const second = await openSession({ id });
    const [refused] = await nextCompletions(second, 1);
    expect(refused).toMatchObject({ taskId: 'replaced', state: 'failed', error: { code: 'invalid' } });
    expect(await readFile(to, 'utf8')).toBe('the user saved this');
    await expect(stat(to + '.partial.json')).rejects.toThrow();
  });

  it("overwrite: false: another task, of this session or another, never replaces the file a killed task published", async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(16 * KiB, 46), etag: '"k2"' });
    const first = await openSession({ id, store: dyingAtCompletion('mine') });
    await first.download(url, { to, id: 'mine', overwrite: false });
    await ended(first);
    const published = await readFile(to);
    const stranger = server.put(path + 'x', { body: bytes(16 * KiB, 47), etag: '"k3"' });
    const other = await openSession({ id: id + '-other' });
    await other.download(stranger, { to, id: 'mine', overwrite: false }); // same task id, another session
    const [refused] = await nextCompletions(other, 1);
    expect(refused).toMatchObject({ state: 'failed', error: { code: 'invalid' } });
    expect(refused!.error!.message).toContain('exists (overwrite is false)');
    expect((await readFile(to)).equals(published)).toBe(true);
  });

  it('overwrite: false keeps a file that appeared at `to` after the task was added; the task fails and says so', async () => {
    const { id, path, to } = name();
    const url = server.put(path, { body: bytes(8 * KiB, 44) });
    const session = await openSession({ id });
    // Written before the task is added: the session checks when the task runs, not when it is
    // added (and the task may start at once), so this is the file that "appeared" meanwhile.
    await writeFile(to, 'the user wrote this');
    await session.download(url, { to, id: 'careful', overwrite: false });
    expect(session.task('careful')).toMatchObject({ overwrite: false });
    const [ended] = await nextCompletions(session, 1);
    expect(ended).toMatchObject({ taskId: 'careful', state: 'failed', error: { code: 'invalid' } });
    expect(ended!.error!.message).toContain('exists (overwrite is false)');
    expect(await readFile(to, 'utf8')).toBe('the user wrote this');
  });
});

describe('TransferSession: ends told once, in order, and never undone', () => {
  /** A memory store whose writes take `ms` each, one after another (a slow disk's fsync). */
  function slowStore(ms: number, inner = memorySessionStore()): SessionStore & { failNext: boolean } {
    const store = {
      name: 'slow',
      failNext: false,
      async open(id: string) {
        const h = await inner.open(id);
        let chain = Promise.resolve();
        return {
          tasks: h.tasks,
          write: (changes: readonly TaskChange[]) => {
            const p = chain.then(() => new Promise<void>((r) => setTimeout(r, ms))).then(() => {
              if (store.failNext) {
                store.failNext = false;
                throw new Error('EIO: the write failed');
              }
              return h.write(changes);
            });
            chain = p.catch(() => undefined);
            return p;
          },
          close: () => h.close(),
        };
      },
    };
    return store;
  }

  it('S4 a subscriber that arrives while an end is being written gets that completion once, not again after ack()', async () => {
    const session = await openSession({ id: name().id, store: slowStore(150) });
    const { path, to } = name();
    await session.download(server.put(path, { body: bytes(4 * KiB, 50) }), { to, id: 'd' });
    // The task shows as completed as soon as its end is being written: the app subscribes then.
    for (let i = 0; i < 500 && session.task('d')?.state !== 'completed'; i++) await new Promise((r) => setTimeout(r, 2));
    expect(session.task('d')?.state).toBe('completed');
    const got: string[] = [];
    session.completions$.subscribe((c) => {
      got.push(`${c.taskId}:${c.state}:acked=${String(session.task(c.taskId)?.acked)}`);
      void c.ack();
    });
    await new Promise((r) => setTimeout(r, 800));
    expect(got).toEqual(['d:completed:acked=false']);
  });

  it('finished$ comes after the completions of the queue it reports drained, once', async () => {
    const session = await openSession({ id: name().id, store: slowStore(60), maxPerHost: 2 });
    const log: string[] = [];
    session.completions$.subscribe((c) => log.push(`completion ${c.taskId}`));
    session.finished$.subscribe(() => log.push('finished'));
    const a = name();
    const b = name();
    await Promise.all([
      session.download(server.put(a.path, { body: bytes(4 * KiB, 1) }), { to: a.to, id: 'a' }),
      session.download(server.put(b.path, { body: bytes(4 * KiB, 2) }), { to: b.to, id: 'b' }),
    ]);
    await nextCompletions(session, 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(log.filter((l) => l === 'finished')).toHaveLength(1);
    expect(log.at(-1)).toBe('finished');
  });

  it('S2 a task whose add() fails (the store refused the write) never runs, and is not there after a reopen', async () => {
    const inner = memorySessionStore();
    const store = slowStore(30, inner);
    const { id, path, to } = name();
    const session = await openSession({ id, store });
    store.failNext = true;
    await expect(session.download(server.put(path, { body: bytes(4 * KiB, 7) }), { to, id: 'ghost' })).rejects.toThrow(/EIO/);
    await new Promise((r) => setTimeout(r, 300));
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(0);
    await session.close();
    const reopened = await openSession({ id, store: slowStore(0, inner) });
    expect(reopened.task('ghost')).toBeUndefined();
  });

  it('S6 a suspend racing a cancel (or invalidate({ cancelTasks: true })) never undoes the cancel', async () => {
    for (const how of ['cancel', 'invalidate'] as const) {
      const inner = memorySessionStore();
      const { id, path, to } = name();
      const session = await openSession({ id, store: inner });
      const states: string[] = [];
      session.events$.subscribe((e) => void (e.type === 'state' && states.push(e.state)));
      await session.download(server.put(path, { body: bytes(2 * MiB, 40), etag: '"r"', rate: 512 * KiB }), { to, id: 'x' });
      await firstValueFrom(session.events$.pipe(filter((e) => e.type === 'progress'), timeout(10_000)));
      if (how === 'cancel') {
        const [suspended, cancelled] = await Promise.all([session.suspend('x'), session.cancel('x')]);
        expect([suspended, cancelled]).toEqual([false, true]);
        expect(session.task('x')?.state).toBe('cancelled');
        await session.close();
      } else {
        void session.suspend('x');
        await session.invalidate({ cancelTasks: true });
      }
      expect(states.at(-1)).toBe('cancelled');
      const reopened = await openSession({ id, store: inner });
      expect(reopened.task('x')?.state).toBe('cancelled');
    }
  });

  it('G4 on events$: a task run again from zero (resumed without a validator) shows no progress going back', async () => {
    const session = await openSession({ id: name().id, store: memorySessionStore(), progressInterval: 0 });
    const { path, to } = name();
    const body = bytes(2 * MiB, 60);
    const loaded: number[] = [];
    let previous = 0;
    let deltasAddUp = true;
    session.events$.subscribe((e) => {
      if (e.type !== 'progress' || e.taskId !== 'z') return;
      loaded.push(e.loaded);
      if (e.loaded - previous !== e.delta) deltasAddUp = false;
      previous = e.loaded;
    });
    // No ETag: a resume cannot continue the bytes held, so it starts over.
    await session.download(server.put(path, { body, rate: 2 * MiB }), { to, id: 'z' });
    await firstValueFrom(session.events$.pipe(filter((e) => e.type === 'progress' && e.taskId === 'z' && e.loaded >= 512 * KiB), timeout(10_000)));
    expect(await session.suspend('z')).toBe(true);
    server.resources.get(path)!.rate = undefined;
    expect(await session.resume('z')).toBe(true);
    expect((await nextCompletions(session, 1))[0]).toMatchObject({ taskId: 'z', state: 'completed' });
    expect(server.requests.filter((r) => r.path === path).map((r) => r.range)).toEqual([undefined, undefined]);
    expect(loaded.every((l, i) => i === 0 || l >= loaded[i - 1]!)).toBe(true);
    expect(loaded.at(-1)).toBe(body.length);
    expect(deltasAddUp).toBe(true);
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('cancel() after close() is refused as suspend() is, not a "true" that recorded nothing', async () => {
    const session = await openSession({ id: name().id, store: memorySessionStore() });
    const { path, to } = name();
    await session.download(server.put(path, { body: bytes(64 * KiB, 3), rate: 1024 }), { to, id: 'q' });
    await session.close();
    await expect(session.cancel('q')).rejects.toThrow(SessionInvalidatedError);
    await expect(session.suspend('q')).rejects.toThrow(SessionInvalidatedError);
  });

  it('ack() after close() or invalidate() rejects with SessionInvalidatedError (it was the store\'s bare "closed" Error); during invalidate()\'s wait it still acknowledges', async () => {
    const store = memorySessionStore();
    const { id } = name();
    const first = await openSession({ id, store });
    const a = name();
    await first.download(server.put(a.path, { body: bytes(4 * KiB, 4) }), { to: a.to, id: 'a' });
    const [completion] = await nextCompletions(first, 1);
    await first.close();
    await expect(completion!.ack()).rejects.toThrow(SessionInvalidatedError);
    await expect(first.ack('a')).rejects.toThrow(SessionInvalidatedError);

    const second = await openSession({ id, store });
    const b = name();
    await second.download(server.put(b.path, { body: bytes(4 * KiB, 5), rate: 16 * KiB }), { to: b.to, id: 'b' });
    const acked: Promise<void>[] = [];
    second.completions$.subscribe((c) => acked.push(c.ack()));
    await second.invalidate(); // waits for b: the acks made meanwhile are stored
    await Promise.all(acked);
    expect(acked).toHaveLength(2);
    await expect(second.ack('a')).rejects.toThrow(SessionInvalidatedError);

    const third = await openSession({ id, store });
    expect(third.tasks().map((t) => [t.id, t.acked])).toEqual([['a', true], ['b', true]]);
  });
});
