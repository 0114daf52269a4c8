import { execFileSync, spawn } from 'node:child_process';
import { chmod, link, lstat, lutimes, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { Subject, filter, lastValueFrom, map, switchMap, take, tap, timeout, type Subscription } from 'rxjs';
import { download, resultOf, isTransferError, type DownloadResult, type TransferEvent } from 'rxtransfer';
import { bytes, sha256, startSessionServer, type SessionServer } from '../helpers/session-server';
import { acquireLockFile, type HeldLock } from '../../lib/internal/node/lock-file';
import { openFileSink } from '../../lib/internal/node/file-sink';
import { deafTransport } from '../helpers/deaf-transport';
import { ROOT, bundleForNode } from '../helpers/node-bundle';

const KiB = 1024;
const MiB = 1024 * KiB;
let server: SessionServer;
let dir: string;
let n = 0;

beforeAll(async () => {
  server = await startSessionServer();
  dir = await mkdtemp(join(tmpdir(), 'rxtransfer-same-to-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function fresh(): { path: string; to: string } {
  n++;
  return { path: `/same-${n}`, to: join(dir, `same-${n}.bin`) };
}

/** The error a transfer ends with (or fails the test when it succeeds). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the download to fail');
    },
    (error: Error) => error,
  );
}

/** A real process that sleeps until killed; resolves with it once it runs. */
async function sleeper(): Promise<{ pid: number; kill(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000); process.stdout.write("up")'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('error', reject);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

const lockOf = (to: string) => to + '.partial.lock';
const lockedError = (pid: number | undefined) => Object.assign(new Error('locked'), { pid });
const leftovers = async (to: string) => (await readdir(dir)).filter((f) => f.startsWith(to.slice(dir.length + 1) + '.'));

/** Starts a download to `to` and resolves once bytes are flowing into its partial file. */
async function writing(url: string, to: string, options: Record<string, unknown> = {}): Promise<{ done: Promise<TransferEvent<DownloadResult<undefined>>>; stop(): void }> {
  let progressed!: () => void;
  const flowing = new Promise<void>((resolve) => (progressed = resolve));
  let subscription!: Subscription;
  const done = new Promise<TransferEvent<DownloadResult<undefined>>>((resolve, reject) => {
    subscription = download(url, { to, progressInterval: 0, ...options }).subscribe({
      next: (event) => {
        if (event.type === 'progress' && event.loaded > 0) progressed();
        if (event.type === 'done') resolve(event);
      },
      error: reject,
    });
  });
  done.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([flowing, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no progress within 10 s')), 10_000)))]);
  } finally {
    clearTimeout(timer);
  }
  return { done, stop: () => subscription.unsubscribe() };
}

describe('one download at a time per `to` (G5)', () => {
  it("G5 a second download to the same `to` fails at once, sends nothing, and leaves the first one's file alone", async () => {
    const { path, to } = fresh();
    const first = bytes(2 * MiB, 1);
    const second = bytes(2 * MiB, 2);
    const urlA = server.put(path + 'a', { body: first, rate: 4 * MiB });
    const urlB = server.put(path + 'b', { body: second });
    const a = await writing(urlA, to);
    const lock = await readFile(lockOf(to), 'utf8');
    expect(JSON.parse(lock)).toMatchObject({ pid: process.pid });
    for (const options of [{}, { resume: true }, { overwrite: false }]) {
      const error = await failure(resultOf(download(urlB, { to, ...options })));
      expect(isTransferError(error) && error.code).toBe('invalid');
      expect(error.message).toContain('is being downloaded by another transfer in this process');
    }
    expect(server.requests.filter((r) => r.path === path + 'b')).toHaveLength(0);
    // The refusals left the first download's lock as it was.
    expect(await readFile(lockOf(to), 'utf8')).toBe(lock);
    expect(await a.done).toMatchObject({ type: 'done', result: { size: first.length } });
    expect(sha256(await readFile(to))).toBe(sha256(first));
    expect(await leftovers(to)).toEqual([]);
    // The lock went with the first download: the same `to` is free again.
    expect((await resultOf(download(urlB, { to }))).size).toBe(second.length);
    expect(sha256(await readFile(to))).toBe(sha256(second));
    expect(await leftovers(to)).toEqual([]);
  });

  it('G5 the lock is released when a download fails, is unsubscribed, or is refused', async () => {
    const { path, to } = fresh();
    const body = bytes(1 * MiB, 3);
    const missing = server.put(path + '-404', { body, status: 404 });
    expect(await failure(resultOf(download(missing, { to, retry: 0 })))).toMatchObject({ code: 'http' });
    expect(await leftovers(to)).toEqual([]);
    const slow = server.put(path + '-slow', { body, rate: 512 * KiB, etag: '"v1"' });
    const cut = await writing(slow, to, { resume: true });
    cut.stop();
    // Unsubscribed: the partial file is kept (resume), its lock is not.
    await gone(lockOf(to), 2_000);
    expect((await leftovers(to)).sort()).toEqual([`${to.slice(dir.length + 1)}.partial`, `${to.slice(dir.length + 1)}.partial.json`]);
    server.resources.get(path + '-slow')!.rate = undefined;
    const result = await resultOf(download(slow, { to, resume: true }));
    expect(result.size).toBe(body.length);
    expect(server.requests.filter((r) => r.path === path + '-slow').at(-1)!.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(sha256(await readFile(to))).toBe(sha256(body));
    // overwrite: false refuses before it takes the lock.
    expect(await failure(resultOf(download(slow, { to, overwrite: false })))).toMatchObject({ code: 'invalid' });
    expect(await leftovers(to)).toEqual([]);
  });

  it("G5 another live process's lock is respected; once that process is killed, its lock is taken over", async () => {
    const { path, to } = fresh();
    const body = bytes(256 * KiB, 4);
    const url = server.put(path, { body });
    const owner = await sleeper();
    try {
      await writeFile(lockOf(to), JSON.stringify({ pid: owner.pid, host: hostname(), token: 'theirs' }));
      const error = await failure(resultOf(download(url, { to })));
      expect(error).toMatchObject({ code: 'invalid' });
      expect(error.message).toContain(`is being downloaded by another transfer (process ${owner.pid})`);
      expect(JSON.parse(await readFile(lockOf(to), 'utf8'))).toMatchObject({ token: 'theirs' });
    } finally {
      await owner.kill();
    }
    expect((await resultOf(download(url, { to }))).size).toBe(body.length);
    expect(await leftovers(to)).toEqual([]);
  });

  it("G5 a lock naming this process's pid with a token it does not hold is stale (a container restarted with the same pid)", async () => {
    const { path, to } = fresh();
    const body = bytes(64 * KiB, 5);
    const url = server.put(path, { body });
    await writeFile(lockOf(to), JSON.stringify({ pid: process.pid, host: hostname(), token: 'before-the-restart' }));
    expect((await resultOf(download(url, { to }))).size).toBe(body.length);
    expect(await leftovers(to)).toEqual([]);
  });

  it('G5 a lock record that cannot be read is respected while it may be being written, and stale once 10 s old', async () => {
    const { path, to } = fresh();
    const body = bytes(64 * KiB, 6);
    const url = server.put(path, { body });
    await writeFile(lockOf(to), '{"pid":');
    const error = await failure(resultOf(download(url, { to })));
    expect(error.message).toMatch(/is being downloaded by another transfer;/);
    const old = new Date(Date.now() - 11_000);
    await utimes(lockOf(to), old, old);
    expect((await resultOf(download(url, { to }))).size).toBe(body.length);
    expect(await leftovers(to)).toEqual([]);
  });
});

/** `promise`, or a rejection after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `path` is gone; fails after `ms`. */
async function gone(path: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (!(await stat(path).then(() => true, () => false))) return;
    if (Date.now() > until) throw new Error(`${path} still there after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves once `condition()` holds; fails with `what` after `ms`. */
async function until(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The start time in a `/proc/<pid>/stat` text (field 22). */
const startOf = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];

describe('letting go of the file (G5, G6)', () => {
  it('G6 a run that ignores the abort lets go of its file once the grace period has passed (timeout, unsubscribe)', async () => {
    const { path, to } = fresh();
    const body = bytes(32 * KiB, 7);
    const url = server.put(path, { body });
    const error = await failure(resultOf(download('http://127.0.0.1/deaf', { to, transport: deafTransport(), timeout: { total: 200, idle: 60_000 } })));
    expect(error).toMatchObject({ code: 'timeout', phase: 'total' });
    await gone(lockOf(to), 3_000);
    expect((await resultOf(download(url, { to }))).size).toBe(body.length);

    const stuck = download('http://127.0.0.1/deaf', { to, transport: deafTransport() }).subscribe({ error: () => undefined });
    for (let i = 0; i < 100 && !(await stat(lockOf(to)).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 10));
    stuck.unsubscribe();
    await gone(lockOf(to), 3_000);
    expect(await leftovers(to)).toEqual([]);
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('G5 switchMap to a new download of the same `to` waits for the one it unsubscribed, instead of failing', async () => {
    const { path, to } = fresh();
    const bodies = [bytes(1 * MiB, 8), bytes(1 * MiB, 9), bytes(1 * MiB, 10)];
    const urls = bodies.map((body, i) => server.put(`${path}-${i}`, { body, rate: i < 2 ? 1 * MiB : undefined, etag: `"v${i}"` }));
    const wanted = new Subject<string>();
    const seen: string[] = [];
    const ended = lastValueFrom(
      wanted.pipe(
        switchMap((url) => download(url, { to, resume: true, progressInterval: 0 }).pipe(map((event) => ({ url, event })))),
        tap(({ url, event }) => {
          if (event.type === 'progress' && event.loaded > 0 && !seen.includes(url)) {
            seen.push(url);
            // Each one is replaced as soon as its bytes flow; the last one runs to the end.
            if (seen.length < urls.length) wanted.next(urls[seen.length]!);
          }
        }),
        filter(({ event }) => event.type === 'done'),
        take(1),
        timeout(20_000),
      ),
    );
    wanted.next(urls[0]!);
    const { url, event } = await ended;
    expect(url).toBe(urls[2]);
    expect(event).toMatchObject({ type: 'done', result: { size: bodies[2]!.length } });
    expect(sha256(await readFile(to))).toBe(sha256(bodies[2]!));
    expect(await leftovers(to)).toEqual([]);
  });

  it('G5 a download started right after another one to the same `to` was unsubscribed gets the file, every time', async () => {
    const { path, to } = fresh();
    const body = bytes(1 * MiB, 11);
    const slow = server.put(path + '-slow', { body: bytes(1 * MiB, 12), rate: 1 * MiB });
    const url = server.put(path, { body });
    for (let round = 0; round < 5; round++) {
      const first = await writing(slow, to);
      first.stop();
      expect((await resultOf(download(url, { to }))).size).toBe(body.length);
      expect(sha256(await readFile(to))).toBe(sha256(body));
    }
    expect(await leftovers(to)).toEqual([]);
  });
});

describe('acquireLockFile', () => {

  it('gives a lock to exactly one of many acquisitions racing in one process, each time', async () => {
    const path = join(dir, 'race.lock');
    // The second half of the rounds widens the window between the record landing and link()
    // returning, where another acquisition may read it.
    const slowLink = async (existing: string, to: string) => {
      await link(existing, to);
      await new Promise((r) => setTimeout(r, 20));
    };
    for (let round = 0; round < 10; round++) {
      const tries = await Promise.allSettled(Array.from({ length: 12 }, () => acquireLockFile(path, lockedError, round < 5 ? {} : { link: slowLink })));
      const won = tries.filter((t): t is PromiseFulfilledResult<HeldLock> => t.status === 'fulfilled');
      expect(won).toHaveLength(1);
      expect(tries.filter((t) => t.status === 'rejected').map((t) => (t as PromiseRejectedResult).reason.pid)).toEqual(Array(11).fill(process.pid));
      await won[0]!.value();
    }
    expect((await readdir(dir)).filter((f) => f.startsWith('race.lock'))).toEqual([]);
  });

  it('sees the locks of another copy of the package in this process as live (CommonJS and ESM, two versions)', async () => {
    const path = join(dir, 'copies.lock');
    let other!: typeof acquireLockFile;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      other = (require('../../lib/internal/node/lock-file') as { acquireLockFile: typeof acquireLockFile }).acquireLockFile;
    });
    expect(other).not.toBe(acquireLockFile);
    const release = await acquireLockFile(path, lockedError);
    await expect(other(path, lockedError)).rejects.toMatchObject({ message: 'locked', pid: process.pid });
    await release();
    const theirs = await other(path, lockedError);
    await expect(acquireLockFile(path, lockedError)).rejects.toMatchObject({ message: 'locked' });
    await theirs();
  });

  it("takes over a live pid's lock from an earlier boot of this machine, and a live pid started at another time (the pid reused)", async () => {
    const path = join(dir, 'boot.lock');
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const pidns = await readlink('/proc/self/ns/pid');
    const owner = await sleeper();
    try {
      // A live pid, recorded before a reboot (last written before this boot began): it cannot be
      // the same process.
      const otherBoot = boot.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      await writeFile(path, JSON.stringify({ pid: owner.pid, host: hostname(), token: 'earlier-boot', boot: otherBoot, pidns }));
      const beforeBoot = new Date(Date.now() - uptime() * 1000 - 5_000);
      await utimes(path, beforeBoot, beforeBoot);
      await (await acquireLockFile(path, lockedError))();
      // Another boot id, but renewed since this boot began: another machine of this name (two
      // named `localhost` sharing a directory), live while renewed.
      await writeFile(path, JSON.stringify({ pid: owner.pid, host: hostname(), token: 'namesake', boot: otherBoot, pidns }));
      await expect(acquireLockFile(path, (pid, detail) => Object.assign(new Error('locked'), { pid, detail }))).rejects.toMatchObject({
        pid: owner.pid,
        detail: expect.stringMatching(/^on another machine named ".*"; renewed \d+ s ago, taken over once not renewed for 60 s$/),
      });
      const old = new Date(Date.now() - 61_000);
      await utimes(path, old, old);
      await (await acquireLockFile(path, lockedError))();
      // The same live pid, this boot: respected, with its start time or without one.
      const start = startOf(await readFile(`/proc/${owner.pid}/stat`, 'utf8'));
      for (const record of [{ start }, {}]) {
        await writeFile(path, JSON.stringify({ pid: owner.pid, host: hostname(), token: 'this-boot', boot, pidns, ...record }));
        await expect(acquireLockFile(path, lockedError)).rejects.toMatchObject({ pid: owner.pid });
      }
      // The pid alive, but a process started at another time holds it now: the owner is gone.
      await writeFile(path, JSON.stringify({ pid: owner.pid, host: hostname(), token: 'reused-pid', boot, pidns, start: String(Number(start) + 1) }));
      await (await acquireLockFile(path, lockedError))();
    } finally {
      await owner.kill();
    }
    // This process's own record holds its start time.
    const release = await acquireLockFile(path, lockedError);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, start: startOf(await readFile('/proc/self/stat', 'utf8')) });
    await release();
  });

  it('a lock whose pid cannot be asked (another pid namespace: a container restarted; another host) is live while renewed, and taken over once its lease expired', async () => {
    const path = join(dir, 'lease.lock');
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const lease = { renewMs: 10_000, expiryMs: 60_000 };
    const records = [
      { where: 'in another pid namespace (another container) on this host', record: { pid: process.pid, host: hostname(), token: 'other-ns', boot, pidns: 'pid:[1]' } },
      { where: 'on host "elsewhere.example"', record: { pid: 1, host: 'elsewhere.example', token: 'other-host', boot: 'another-machine' } },
    ];
    for (const { where, record } of records) {
      await writeFile(path, JSON.stringify(record));
      // Renewed 50 s ago: live; the error says where its owner is and when it expires.
      const recent = new Date(Date.now() - 50_000);
      await utimes(path, recent, recent);
      const error = await acquireLockFile(path, (pid, detail) => Object.assign(new Error('locked'), { pid, detail }), { lease }).then(
        () => undefined,
        (e: Error & { pid?: number; detail?: string }) => e,
      );
      expect(error).toMatchObject({ pid: record.pid, detail: expect.stringMatching(new RegExp(`^${where.replace(/[.()]/g, '\\$&')}; renewed 5\\d s ago, taken over once not renewed for 60 s$`)) });
      expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ token: record.token });
      // Not renewed for over a minute: its owner is gone.
      const old = new Date(Date.now() - 61_000);
      await utimes(path, old, old);
      const release = await acquireLockFile(path, lockedError, { lease });
      expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
      await release();
    }
    expect((await readdir(dir)).filter((f) => f.startsWith('lease.lock'))).toEqual([]);
  });

  it('the holder renews its lock (its mtime moves, its record stays); one whose lock was taken over finds out, and leaves the new lock alone', async () => {
    const path = join(dir, 'renew.lock');
    let losses = 0;
    const lock = await acquireLockFile(path, lockedError, { lease: { renewMs: 40, expiryMs: 1_000 }, onLost: () => losses++ });
    const record = await readFile(path, 'utf8');
    const old = new Date(Date.now() - 600_000);
    await utimes(path, old, old);
    await until(async () => Date.now() - (await stat(path)).mtimeMs < 5_000, 3_000, 'the lock was not renewed');
    expect(await readFile(path, 'utf8')).toBe(record);
    await lock.check();
    // Taken over by another process (this one had looked dead): its record in place of ours.
    const theirs = JSON.stringify({ pid: 1, host: 'elsewhere.example', token: 'new-owner' });
    await writeFile(`${path}.theirs`, theirs);
    await rename(`${path}.theirs`, path);
    await until(async () => losses === 1, 3_000, 'the loss was not noticed');
    await expect(lock.check()).rejects.toMatchObject({ code: 'ELOCKLOST', message: expect.stringContaining('is no longer this process') });
    // No renewal writes into the new owner's file, and the release leaves it in place.
    await new Promise((r) => setTimeout(r, 150));
    expect(await readFile(path, 'utf8')).toBe(theirs);
    await lock();
    expect(await readFile(path, 'utf8')).toBe(theirs);
    expect(losses).toBe(1);
    // Deleted under its holder: lost too.
    await rm(path);
    const second = await acquireLockFile(path, lockedError);
    await rm(path);
    await expect(second.check()).rejects.toMatchObject({ code: 'ELOCKLOST' });
    await second();
  });

  it('a lock whose file now holds another record (its inode reused by a new lock: deleted, then taken) is lost: never renewed over, nor released', async () => {
    const path = join(dir, 'reused.lock');
    let losses = 0;
    const lock = await acquireLockFile(path, lockedError, { lease: { renewMs: 40, expiryMs: 1_000 }, onLost: () => losses++ });
    // Another owner's record in the very file (what a new lock looks like when the file system
    // gives the deleted lock's inode number to it, as ext4 does at once).
    const theirs = JSON.stringify({ pid: 1, host: 'elsewhere.example', token: 'new-owner' });
    await writeFile(path, theirs);
    // The renewals find it, and write nothing into it.
    await until(async () => losses === 1, 3_000, 'the loss was not noticed');
    expect(await readFile(path, 'utf8')).toBe(theirs);
    await expect(lock.check()).rejects.toMatchObject({ code: 'ELOCKLOST' });
    await lock();
    expect(await readFile(path, 'utf8')).toBe(theirs);
    await rm(path);
    // The same for real: deleted under its holder and taken by another acquisition (the new lock
    // may get the same inode number).
    const first = await acquireLockFile(path, lockedError, { lease: { renewMs: 40, expiryMs: 1_000 } });
    await rm(path);
    const second = await acquireLockFile(path, lockedError);
    const record = await readFile(path, 'utf8');
    await expect(first.check()).rejects.toMatchObject({ code: 'ELOCKLOST' });
    await new Promise((r) => setTimeout(r, 200));
    expect(await readFile(path, 'utf8')).toBe(record);
    await first();
    await second.check();
    await second();
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("a lock moved aside for a moment by another process's takeover, and put back (it was live), is still its holder's", async () => {
    const path = join(dir, 'put-back.lock');
    let losses = 0;
    const lock = await acquireLockFile(path, lockedError, { lease: { renewMs: 20, expiryMs: 1_000 }, onLost: () => losses++ });
    // What takeOver() does when the lock it judged stale was replaced by a live one meanwhile:
    // renamed aside, read, linked back into place.
    await rename(path, `${path}.stale-other000`);
    const checked = lock.check();
    await new Promise((r) => setTimeout(r, 60));
    await link(`${path}.stale-other000`, path);
    await rm(`${path}.stale-other000`);
    await checked;
    await new Promise((r) => setTimeout(r, 300));
    expect(losses).toBe(0);
    await lock.check();
    await lock();
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('G6 a symlink in place of the lock is never followed: respected while recent, taken over (the link, not its target) once old; never an endless loop', async () => {
    const path = join(dir, 'dangling.lock');
    const target = join(dir, 'dangling-target');
    await symlink(join(dir, 'nowhere'), path);
    // link() says EEXIST, and a reader that followed the link would say "gone": the old code went round forever.
    await expect(within(acquireLockFile(path, lockedError), 5_000)).rejects.toMatchObject({ message: 'locked' });
    const old = new Date(Date.now() - 11_000);
    await lutimes(path, old, old);
    await (await within(acquireLockFile(path, lockedError), 5_000))();
    // A link to a file: the file is no lock record, and is left as it was.
    await writeFile(target, 'not yours');
    await symlink(target, path);
    await lutimes(path, old, old);
    await (await within(acquireLockFile(path, lockedError), 5_000))();
    expect(await readFile(target, 'utf8')).toBe('not yours');
    expect((await readdir(dir)).filter((f) => f.startsWith('dangling.lock'))).toEqual([]);
    await rm(target);
  });

  it('a directory in place of the lock is an error that says so, and is left where it is, however old', async () => {
    const path = join(dir, 'dir.lock');
    await mkdir(path);
    await writeFile(join(path, 'keep'), 'mine');
    const old = new Date(Date.now() - 11_000);
    await utimes(path, old, old);
    await expect(within(acquireLockFile(path, lockedError), 5_000)).rejects.toMatchObject({ code: 'EISDIR', message: expect.stringContaining('is a directory, not a lock file') });
    expect(await readFile(join(path, 'keep'), 'utf8')).toBe('mine');
    expect((await readdir(dir)).filter((f) => f.startsWith('dir.lock'))).toEqual(['dir.lock']);
    await rm(path, { recursive: true });
  });

  it("another user's lock, unreadable to this one, is live however old (never taken over)", async () => {
    const shared = await mkdtemp(join(tmpdir(), 'rxtransfer-shared-'));
    try {
      await chmod(shared, 0o777);
      const path = join(shared, 'foreign.lock');
      const record = JSON.stringify({ pid: 999_999_999, host: hostname(), token: 'foreign0' });
      await writeFile(path, record, { mode: 0o600 });
      const old = new Date(Date.now() - 60_000);
      await utimes(path, old, old);
      if (process.getuid?.() === 0) {
        // Root reads anything: the other user is `nobody`, in a child process, and the lock root's.
        const bundle = bundleForNode(join(ROOT, 'lib', 'internal', 'node', 'lock-file.ts'), 'lock-file', 'lock-file');
        try {
          const script = `require(${JSON.stringify(bundle)}).acquireLockFile(${JSON.stringify(path)}, () => new Error('locked')).then(() => console.log('taken'), (e) => console.log(e.message))`;
          const out = await new Promise<string>((resolve, reject) => {
            const child = spawn(process.execPath, ['-e', script], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
            let text = '';
            const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
            child.once('error', reject);
            child.once('close', () => {
              clearTimeout(killer);
              resolve(text.trim());
            });
          });
          expect(out).toBe('locked');
        } finally {
          await rm(bundle, { force: true });
        }
      } else {
        await chmod(path, 0o000);
        await expect(within(acquireLockFile(path, lockedError), 5_000)).rejects.toMatchObject({ message: 'locked' });
        await chmod(path, 0o600);
      }
      expect(await readFile(path, 'utf8')).toBe(record);
      expect(await readdir(shared)).toEqual(['foreign.lock']);
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });

  it('G5 of downloads to one `to` started together, exactly one writes it', async () => {
    const to = join(dir, 'together.bin');
    const bodies = Array.from({ length: 6 }, (_, i) => bytes(256 * KiB, 50 + i));
    const urls = bodies.map((body, i) => server.put(`/together-${i}`, { body }));
    const ends = await Promise.allSettled(urls.map((url) => resultOf(download(url, { to }))));
    const done = ends.flatMap((end, i) => (end.status === 'fulfilled' ? [i] : []));
    expect(done).toHaveLength(1);
    for (const end of ends) if (end.status === 'rejected') expect(end.reason).toMatchObject({ code: 'invalid' });
    expect(sha256(await readFile(to))).toBe(sha256(bodies[done[0]!]!));
    expect((await readdir(dir)).filter((f) => f.startsWith('together.bin.'))).toEqual([]);
  });
});

describe('a partial file that is another name of a file (a hard link)', () => {
  it('G5 is never written into by a resume: a new version cut short leaves the other file as it was', async () => {
    const { path, to } = fresh();
    const finished = bytes(64 * KiB, 60);
    await writeFile(to, finished);
    // `<to>.partial` is `to` under another name (a session's publish link, left by a kill), with
    // a validator record: a resume would continue it.
    await link(to, to + '.partial');
    await writeFile(to + '.partial.json', JSON.stringify({ validator: '"old"' }));
    // The server has another version now, and the connection breaks midway.
    const url = server.put(path, { body: bytes(256 * KiB, 61), etag: '"new"', resetAfter: 32 * KiB, resets: 1 });
    const error = await failure(resultOf(download(url, { to, resume: true, retry: 0 })));
    expect(isTransferError(error)).toBe(true);
    expect(sha256(await readFile(to))).toBe(sha256(finished));
  });
});

describe('publishing the file written', () => {
  it('G5 a FIFO put at `to` while the download ran is neither read (a 304 checking integrity) nor replaced (publish): both refuse at once', async () => {
    const { to } = fresh();
    await writeFile(to, 'a regular file when the download began');
    const sink = await openFileSink(to, { resume: false, keepPartial: false, overwrite: true });
    await sink.write(new Uint8Array([1, 2, 3]));
    await rm(to);
    execFileSync('mkfifo', [to]);
    const read = async () => {
      for await (const chunk of sink.kept!()) void chunk;
    };
    await expect(read()).rejects.toThrow(/not a regular file/);
    await expect(sink.finish()).rejects.toMatchObject({ code: 'invalid', message: expect.stringContaining('not a regular file') });
    expect((await lstat(to)).isFIFO()).toBe(true);
    await sink.abort(new Error('test'));
    await rm(to);
    expect(await leftovers(to)).toEqual([]);
  });

  it('G5 a partial file replaced under the download (another owner of the name) is never published as `to`, nor removed', async () => {
    const { to } = fresh();
    const sink = await openFileSink(to, { resume: false, keepPartial: false, overwrite: true });
    await sink.write(new Uint8Array([1, 2, 3]));
    // What a process that wrongly took the lock over does: its own (empty) partial file in place.
    await writeFile(to + '.stranger', '');
    await rename(to + '.stranger', to + '.partial');
    await expect(sink.finish()).rejects.toMatchObject({ code: 'invalid', message: expect.stringContaining('was replaced by another file') });
    await expect(stat(to)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(to + '.partial')).size).toBe(0);
    // The lock is let go of: another download to `to` can start.
    await (await openFileSink(to, { resume: false, keepPartial: false, overwrite: true })).abort(new Error('test'));
    expect(await leftovers(to)).toEqual([]);
  });

  it('G5 a download whose lock was taken over (another process judged it dead: lease expired) publishes nothing and leaves the new owner its files', async () => {
    const { to } = fresh();
    const sink = await openFileSink(to, { resume: false, keepPartial: false, overwrite: true });
    await sink.write(new Uint8Array([1, 2, 3]));
    // The other process moves the lock aside and puts its own in place; the partial file is the
    // same one (it would resume it).
    const theirs = JSON.stringify({ pid: 1, host: 'elsewhere.example', token: 'new-owner' });
    await writeFile(to + '.theirs', theirs);
    await rename(to + '.theirs', lockOf(to));
    await expect(sink.finish()).rejects.toMatchObject({ code: 'invalid', message: expect.stringContaining('was taken over by another process') });
    await expect(stat(to)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await stat(to + '.partial')).size).toBe(3);
    expect(await readFile(lockOf(to), 'utf8')).toBe(theirs);
    await rm(lockOf(to));
    await rm(to + '.partial');
  });

  it('G5 a download whose lock was taken over leaves the new owner its partial file and record when it fails or restarts', async () => {
    const theirs = JSON.stringify({ pid: 1, host: 'elsewhere.example', token: 'new-owner' });
    for (const end of ['abort', 'reset', 'remember'] as const) {
      const { to } = fresh();
      const sink = await openFileSink(to, { resume: false, keepPartial: false, overwrite: true });
      await sink.write(new Uint8Array([1, 2, 3]));
      await sink.remember('"v1"');
      const record = await readFile(to + '.partial.json', 'utf8');
      // Another process took the lock over (this one was paused past its lease): the partial
      // file and its record are that process's now (it resumes them).
      await writeFile(lockOf(to) + '.theirs', theirs);
      await rename(lockOf(to) + '.theirs', lockOf(to));
      if (end === 'abort') await sink.abort(new Error('the connection dropped'));
      else {
        await expect(end === 'reset' ? sink.reset() : sink.remember('"v2"')).rejects.toMatchObject({ code: 'invalid', message: expect.stringContaining('was taken over by another process') });
        await sink.abort(new Error('the connection dropped'));
      }
      expect((await stat(to + '.partial')).size).toBe(3);
      expect(await readFile(to + '.partial.json', 'utf8')).toBe(record);
      expect(await readFile(lockOf(to), 'utf8')).toBe(theirs);
      await rm(lockOf(to));
      await rm(to + '.partial');
      await rm(to + '.partial.json');
    }
  });

  it('a `to` that is a directory is `invalid` before any request: the body is not downloaded to be thrown away at the rename', async () => {
    for (const options of [{}, { resume: true }, { overwrite: false }]) {
      const { path, to } = fresh();
      const url = server.put(path, { body: bytes(16 * KiB, 63) });
      await mkdir(to);
      const error = await failure(resultOf(download(url, { to, retry: { count: 2, baseDelay: 1 }, ...options })));
      expect(error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`${to} is a directory`) });
      expect(server.requests.filter((r) => r.path === path)).toHaveLength(0);
      expect(await readdir(to)).toEqual([]);
      await rm(to, { recursive: true });
      expect(await leftovers(to)).toEqual([]);
    }
  });

  it('a disk that fails under the download (a directory put at `to` meanwhile: the rename fails) is `invalid`, named, and never retried', async () => {
    const { path, to } = fresh();
    const url = server.put(path, { body: bytes(1 * MiB, 63), rate: 4 * MiB });
    const running = await writing(url, to, { retry: { count: 2, baseDelay: 1 } });
    await mkdir(to);
    const error = await failure(running.done);
    expect(error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`cannot publish ${to}: EISDIR`) });
    expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
    await rm(to, { recursive: true });
  });

  it('a disk that cannot take the partial file\'s record (full, read-only; here a directory in its place) is `invalid`, named, and never retried', async () => {
    // The record is written once the head is read (remember): it was a NetworkError ("transfer
    // failed: ENOSPC"), retried against the same full disk, each retry downloading again.
    for (const options of [{}, { resume: true }]) {
      const { path, to } = fresh();
      const url = server.put(path, { body: bytes(16 * KiB, 64), etag: '"r1"' });
      await mkdir(to + '.partial.json');
      const error = await failure(resultOf(download(url, { to, retry: { count: 2, baseDelay: 1 }, ...options })));
      expect(error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`cannot write ${to}.partial.json`) });
      expect(server.requests.filter((r) => r.path === path)).toHaveLength(1);
      await rm(to + '.partial.json', { recursive: true });
      expect(await leftovers(to)).toEqual([]);
    }
  });

  it('a new file has the mode the umask leaves, as other tools give it: group-writable under umask 002', async () => {
    const before = process.umask();
    try {
      for (const [umask, mode] of [[0o002, 0o664], [0o022, 0o644], [0o077, 0o600]] as const) {
        process.umask(umask);
        for (const overwrite of [true, false]) {
          const { path, to } = fresh();
          const url = server.put(path, { body: bytes(4 * KiB, 65) });
          await resultOf(download(url, { to, overwrite }));
          expect([umask, overwrite, (await stat(to)).mode & 0o777]).toEqual([umask, overwrite, mode]);
        }
      }
    } finally {
      process.umask(before);
    }
  });

  it('a file replaced keeps its permissions: a private file stays private', async () => {
    const { path, to } = fresh();
    const url = server.put(path, { body: bytes(16 * KiB, 62) });
    for (const mode of [0o600, 0o640, 0o755]) {
      await writeFile(to, 'old');
      await chmod(to, mode);
      await resultOf(download(url, { to }));
      expect((await stat(to)).mode & 0o777).toBe(mode);
      expect((await stat(to)).size).toBe(16 * KiB);
    }
  });
});

describe('overwrite: false on a file system without hard links (FAT, exFAT: link() fails with EPERM)', () => {
  const noLinks = { link: async () => Promise.reject(Object.assign(new Error('operation not permitted'), { code: 'EPERM' })) };
  const options = { resume: false, keepPartial: false, overwrite: false };

  it('publishes the file (checked, then renamed) instead of a false "exists"', async () => {
    const { to } = fresh();
    const sink = await openFileSink(to, options, noLinks);
    await sink.write(new Uint8Array([1, 2, 3]));
    await sink.finish();
    expect([...(await readFile(to))]).toEqual([1, 2, 3]);
    expect(await leftovers(to)).toEqual([]);
  });

  it('still keeps a file that appeared at `to` meanwhile', async () => {
    const { to } = fresh();
    const sink = await openFileSink(to, options, noLinks);
    await sink.write(new Uint8Array([1, 2, 3]));
    await writeFile(to, 'mine');
    await expect(sink.finish()).rejects.toThrow(/exists \(overwrite is false\)/);
    expect(await readFile(to, 'utf8')).toBe('mine');
    await sink.abort(new Error('gone'));
  });
});

describe('acquireLockFile on a file system without hard links (FAT, exFAT: link() fails with EPERM)', () => {
  const noLinks = { link: async () => Promise.reject(Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' })) };

  it('creates the lock itself exclusively, refuses a second owner, and releases it', async () => {
    const path = join(dir, 'nolinks.lock');
    const release = await acquireLockFile(path, lockedError, noLinks);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await expect(acquireLockFile(path, lockedError, noLinks)).rejects.toMatchObject({ message: 'locked', pid: process.pid });
    await release();
    await release();
    expect((await readdir(dir)).filter((f) => f.startsWith('nolinks.lock'))).toEqual([]);
    const again = await acquireLockFile(path, lockedError, noLinks);
    await again();
  });

  it("takes over a dead process's lock, and a lock of this pid with a token it does not hold", async () => {
    const path = join(dir, 'nolinks-stale.lock');
    const owner = await sleeper();
    await owner.kill();
    for (const pid of [owner.pid, process.pid]) {
      await writeFile(path, JSON.stringify({ pid, host: hostname(), token: 'gone' }));
      const release = await acquireLockFile(path, lockedError, noLinks);
      expect(JSON.parse(await readFile(path, 'utf8')).token).not.toBe('gone');
      await release();
    }
    expect((await readdir(dir)).filter((f) => f.startsWith('nolinks-stale.lock'))).toEqual([]);
  });
});
