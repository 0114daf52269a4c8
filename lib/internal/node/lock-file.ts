import { constants, readFileSync, readlinkSync } from 'node:fs';
import { link as hardLink, lstat, open, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { hostname, uptime } from 'node:os';

/**
 * What a lock file holds: its owner. `boot` (Linux's boot id) and `pidns` (its pid namespace)
 * say whether `pid` can be checked from here: a pid of an earlier boot is gone, one of another
 * namespace cannot be asked. `start` (the process's start time, Linux's `/proc/<pid>/stat`) tells
 * the owner from an unrelated process that got its pid later.
 */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly boot?: string;
  readonly pidns?: string;
  readonly start?: string;
}

/** A lock record as found: its owner, and when the record was last written (the lease). */
type FoundOwner = LockOwner & { readonly mtimeMs: number };

/**
 * The lease: a holder rewrites its record every {@link LockLease.renewMs}, which moves the lock
 * file's mtime; a lock whose owner cannot be asked (another host, another pid namespace: a
 * container restarted) is stale once its mtime is {@link LockLease.expiryMs} older than a file
 * the acquirer has just written (both times from the same file system's clock, so a network file
 * system's clock skew does not count).
 */
export interface LockLease {
  readonly renewMs: number;
  readonly expiryMs: number;
}

/** The lease of locks: renewed every 10 s, taken over after 60 s without renewal. */
export const LOCK_LEASE: LockLease = { renewMs: 10_000, expiryMs: 60_000 };

/** Attempts at taking a lock whose owner died, when other processes race for it too. */
const TAKEOVER_ATTEMPTS = 5;

/**
 * Rounds of "a lock is there" then "no lock is there" before giving up: locks coming and going
 * faster than this process can look, or a file system that says both at once.
 */
const VANISHED_ROUNDS = 20;

/** What `link()` fails with on a file system without hard links (FAT, exFAT, some network shares). */
export const NO_HARD_LINKS: ReadonlySet<string> = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * How long a lock file whose record cannot be read counts as live: without hard links the record
 * is written after the file is created, so a reader may see it empty for a moment.
 */
const UNREADABLE_GRACE_MS = 10_000;

/**
 * How long a holder that finds its lock file gone (or another in its place) waits before it looks
 * again: a takeover that moved a live lock aside by mistake puts it back within moments.
 */
const PUT_BACK_MS = 250;

/** How long an acquisition waits for a lock of this process whose holder is on its way out. */
const CLOSING_WAIT_MS = 5_000;

/** Options of {@link acquireLockFile}. */
export interface LockFileOptions {
  /** fsync the owner record before it is linked into place. */
  readonly durable?: boolean;
  /**
   * Whether the holder is on its way out (its work aborted, its release coming): another
   * acquisition in this process then waits for that release instead of failing.
   */
  readonly closing?: () => boolean;
  /** The hard link call (a test stands in a file system without hard links). */
  readonly link?: (existing: string, path: string) => Promise<void>;
  /** The lease (a test shortens it); {@link LOCK_LEASE} by default. */
  readonly lease?: LockLease;
  /** Called once when the holder finds its lock taken over (see {@link HeldLock.check}). */
  readonly onLost?: () => void;
}

/**
 * A lock held: call it to release it (more than once is fine). `check()` rejects with code
 * `ELOCKLOST` once the lock file is no longer this holder's: another process took it over, as
 * this one did not renew it for the lease's expiry (paused, or its disk unreachable), or someone
 * deleted it. A holder checks before it writes what the lock guards.
 */
export interface HeldLock {
  (): Promise<void>;
  readonly check: () => Promise<void>;
}

/** A lock this process holds (or is placing). */
interface Held {
  readonly closing?: () => boolean;
  readonly released: Promise<void>;
  readonly resolve: () => void;
}

/**
 * The locks this process holds now, by token. A lock naming this process's pid with a token not
 * in here was left by a process of this pid namespace that is gone and had the same pid, or
 * leaked by this one: it is stale. (A container restarted runs in a new pid namespace: its old
 * locks are another namespace's, respected, see {@link stale}.) Kept on `globalThis`, so that two copies of the
 * package in one process (CommonJS and ESM, two versions) see each other's locks as live.
 */
const held: Map<string, Held> = ((globalThis as Record<symbol, unknown>)[Symbol.for('rxtransfer.lockFiles')] ??= new Map()) as Map<string, Held>;

/** This machine's boot id, this process's pid namespace and start time, where the OS says (Linux). */
let identity: { boot?: string; pidns?: string; start?: string } | undefined;
function machine(): { boot?: string; pidns?: string; start?: string } {
  if (!identity) {
    identity = {};
    const start = startTime('self');
    if (start !== undefined) identity.start = start;
    try {
      identity.boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      // not Linux
    }
    try {
      identity.pidns = readlinkSync('/proc/self/ns/pid');
    } catch {
      // not Linux
    }
  }
  return identity;
}

/**
 * A process's start time in clock ticks after boot (field 22 of Linux's `/proc/<pid>/stat`), or
 * undefined where it cannot be read. The name in field 2 may hold spaces and parentheses: the
 * fields counted start after its last `)`.
 */
function startTime(pid: number | 'self'): string | undefined {
  return processStat(pid)?.start;
}

/**
 * A process's state (field 3 of Linux's `/proc/<pid>/stat`: `Z` for a zombie) and start time (see
 * {@link startTime}), or undefined where it cannot be read.
 */
function processStat(pid: number | 'self'): { state: string; start: string | undefined } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[19];
    return { state: fields[0] ?? '', start: start && /^\d+$/.test(start) ? start : undefined };
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock file `path`: created whole and exclusively (written aside, then hard-linked
 * into place, which fails when a lock exists; where the file system has no hard links, created
 * exclusively and then written). A lock whose owner is gone is stale and taken over: same host
 * and pid namespace with the pid no longer alive (or a zombie), or alive but started at another time (an
 * unrelated process that got the pid), an earlier boot of this machine (written before this boot
 * began; one renewed since is another machine's of the same name: a lease), this process's pid with
 * a token it does not hold, an owner that cannot be asked (another host or pid namespace) whose
 * lease has expired (see {@link LockLease}), or a record that cannot be read (a symlink in its
 * place included, never followed) once it is {@link UNREADABLE_GRACE_MS} old. A record another
 * user's process holds, unreadable to this one, is live; a directory in its place is an error. A
 * lock of this process whose holder is `closing` is waited for; any other makes it throw
 * `locked(ownerPid, detail)`, `detail` saying where an owner that cannot be asked is and when its
 * lease expires. With `durable`, the owner record is fsynced before it is placed, and at each
 * renewal. Resolves with the lock held, renewed until it is released.
 */
export async function acquireLockFile(path: string, locked: (ownerPid: number | undefined, detail?: string) => Error, options: LockFileOptions = {}): Promise<HeldLock> {
  const lease = options.lease ?? LOCK_LEASE;
  // The token is 8 of [a-z0-9]: it names the aside files, which lib/cli/safe-name.ts keeps
  // names from the network from matching.
  const me: LockOwner = { pid: process.pid, host: hostname(), token: Math.random().toString(36).slice(2, 10).padEnd(8, '0'), ...machine() };
  const text = JSON.stringify(me);
  const aside = `${path}.${me.token}`;
  // Held from before the record is placed: another acquisition in this process that finds it
  // meanwhile must see a live lock, not a stale one of this pid.
  let resolve!: () => void;
  const released = new Promise<void>((r) => (resolve = r));
  held.set(me.token, { closing: options.closing, released, resolve });
  const drop = () => {
    held.delete(me.token);
    resolve();
  };
  let placed: { dev: number; ino: number };
  try {
    await writeExclusive(aside, text, options.durable);
    try {
      for (let attempt = 0, vanished = 0; ; attempt++) {
        if (await place(aside, path, text, options)) break;
        const owner = await readOwner(path);
        if (owner === 'gone') {
          if (++vanished >= VANISHED_ROUNDS) throw locked(undefined);
          continue;
        }
        if (owner === 'directory') throw Object.assign(new Error(`${path} is a directory, not a lock file: remove it, or choose another name`), { code: 'EISDIR' });
        // Recently written, or another user's (unreadable to this one): live, never taken over.
        if (owner === 'unreadable, recent' || owner === 'not readable here') throw locked(undefined);
        const mine = owner && owner.host === me.host && owner.pid === process.pid ? held.get(owner.token) : undefined;
        if (mine?.closing?.() && attempt < TAKEOVER_ATTEMPTS) {
          await within(mine.released, CLOSING_WAIT_MS);
          continue;
        }
        if (owner) {
          // "Now" by the lock's file system: the aside file was written moments ago.
          const now = (await lstat(aside)).mtimeMs;
          const verdict = judge(owner, me, now, lease);
          if (verdict !== 'stale') throw locked(owner.pid, verdict.detail);
        }
        if (attempt >= TAKEOVER_ATTEMPTS) throw locked(owner?.pid);
        await takeOver(path, owner, me.token, options);
      }
    } finally {
      await unlink(aside).catch(() => undefined);
    }
    const info = await lstat(path);
    placed = { dev: info.dev, ino: info.ino };
  } catch (error) {
    drop();
    throw error;
  }
  let lost = false;
  const lose = () => {
    if (lost) return;
    lost = true;
    clearInterval(timer);
    // A renewal that finds the file gone after the release unlinked it lost nothing.
    if (held.has(me.token)) options.onLost?.();
  };
  /**
   * Whether the file at `path` is still this lock: the same file, holding this holder's record (a
   * lock deleted and taken since may have been given the same inode number: ext4 does so at
   * once). Not found so, it looks once more after {@link PUT_BACK_MS}: another process's takeover
   * that found it live (taken meanwhile) moves it aside for a moment and puts it back.
   */
  const ours = async (): Promise<boolean> => {
    for (let round = 0; ; round++) {
      const info = await lstat(path).catch(() => undefined);
      const owner = info && info.dev === placed.dev && info.ino === placed.ino ? await readOwner(path) : undefined;
      if (typeof owner === 'object' && owner.token === me.token) return true;
      if (round > 0 || !held.has(me.token)) return false;
      // Not unref'd: a write waiting on this check must not see the process exit under it.
      await new Promise<void>((r) => setTimeout(r, PUT_BACK_MS));
    }
  };
  let renewing = false;
  const timer = setInterval(() => {
    if (renewing || !held.has(me.token)) return;
    renewing = true;
    void renew(path, text, placed, options.durable)
      .then(async (renewed) => (renewed || (await ours()) ? undefined : lose()))
      .finally(() => (renewing = false));
  }, lease.renewMs);
  timer.unref?.();
  const release = async () => {
    clearInterval(timer);
    if (!held.has(me.token)) return;
    const owner = await readOwner(path);
    if (typeof owner === 'object' && owner.token === me.token) await unlink(path).catch(() => undefined);
    drop();
  };
  const check = async () => {
    if (!lost && !(await ours())) lose();
    if (lost) throw Object.assign(new Error(`lock ${path} is no longer this process's: another process took it over (it was not renewed for ${lease.expiryMs / 1000} s) or it was deleted`), { code: 'ELOCKLOST' });
  };
  return Object.assign(release, { check });
}

/**
 * Renews the lock placed as `placed`: rewrites its record in place (the same bytes, which moves
 * the file's mtime by its file system's clock). False when the file at `path` is no longer that
 * lock (taken over, or deleted: another record in it, as a new lock given the deleted one's inode
 * number has); true otherwise, a failure to write included (tried again at the next renewal).
 */
async function renew(path: string, text: string, placed: { dev: number; ino: number }, durable: boolean | undefined): Promise<boolean> {
  let file: FileHandle | undefined;
  try {
    file = await open(path, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const info = await file.stat();
    if (info.dev !== placed.dev || info.ino !== placed.ino) return false;
    // Read through the handle held open, which keeps that inode from being reused meanwhile.
    const found = Buffer.alloc(Buffer.byteLength(text) + 1);
    const { bytesRead } = await file.read(found, 0, found.length, 0);
    if (found.subarray(0, bytesRead).toString('utf8') !== text) return false;
    await file.write(text, 0, 'utf8');
    if (durable) await file.datasync();
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ELOOP' && code !== 'ENXIO';
  } finally {
    await file?.close().catch(() => undefined);
  }
}

/**
 * Who holds the lock file `path` (a session's `lock`, a download's `<to>.partial.lock`), while it
 * is live: its pid alive on this host, or its lease running when its pid cannot be asked from here
 * (another host or container; `detail` then says where, and since when). Undefined when there is
 * no lock, a stale one, or a record that cannot be read. It takes and writes nothing; "now" is this
 * machine's clock.
 *
 * @example
 * ```ts
 * import { join } from 'node:path';
 * import { defaultSessionDirectory, liveLockOwner, sessionDirectory } from 'rxtransfer/node';
 * const owner = await liveLockOwner(join(sessionDirectory(defaultSessionDirectory(), 'sync'), 'lock'));
 * if (owner) console.log(`session "sync" runs in process ${owner.pid} on ${owner.host}`);
 * ```
 */
export async function liveLockOwner(path: string, lease: LockLease = LOCK_LEASE): Promise<{ pid: number; host: string; detail?: string } | undefined> {
  const owner = await readOwner(path);
  if (typeof owner !== 'object') return undefined;
  const me: LockOwner = { pid: process.pid, host: hostname(), token: '', ...machine() };
  const verdict = judge(owner, me, Date.now(), lease);
  if (verdict === 'stale') return undefined;
  return { pid: owner.pid, host: owner.host, ...(verdict.detail === undefined ? {} : { detail: verdict.detail }) };
}

/** Resolves when `promise` does, or after `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates `path` exclusively (never through a symlink) holding `text`. */
async function writeExclusive(path: string, text: string, durable: boolean | undefined): Promise<void> {
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await file.writeFile(text);
    if (durable) await file.sync();
  } finally {
    await file.close();
  }
}

/** Puts the lock record at `path`; false when a lock is there already. */
async function place(aside: string, path: string, text: string, options: LockFileOptions): Promise<boolean> {
  try {
    await (options.link ?? hardLink)(aside, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code)) throw error;
  }
  try {
    await writeExclusive(path, text, options.durable);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Moves a stale lock away; puts it back if it turned out to be a live one taken meanwhile. */
async function takeOver(path: string, stale: LockOwner | undefined, token: string, options: LockFileOptions): Promise<void> {
  const moved = `${path}.stale-${token}`;
  try {
    await rename(path, moved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it first: try again
    throw error;
  }
  const found = await readOwner(moved);
  const same = typeof found !== 'string' && (stale === undefined ? found === undefined : found?.token === stale.token);
  if (!same) await putBack(moved, path, options);
  await rm(moved, { force: true });
}

/** Puts a live lock moved away by mistake back in place, unless another lock took its place. */
async function putBack(moved: string, path: string, options: LockFileOptions): Promise<void> {
  try {
    await (options.link ?? hardLink)(moved, path);
    return;
  } catch (error) {
    if (!NO_HARD_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) return;
  }
  // Without hard links there is no "rename unless it exists": check, then rename (a narrow race
  // such a file system leaves open).
  if ((await readOwner(path)) === 'gone') await rename(moved, path).catch(() => undefined);
}

/**
 * The owner a lock file names; 'gone' when there is no lock; undefined when its record cannot be
 * read (a stale lock, torn by a crash; a symlink or another file that is no record, never
 * followed), or 'unreadable, recent' while it may still be being written; 'not readable here'
 * when the record is another user's; 'directory' for a directory in its place.
 */
async function readOwner(path: string): Promise<FoundOwner | undefined | 'gone' | 'unreadable, recent' | 'not readable here' | 'directory'> {
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  if (info.isDirectory()) return 'directory';
  if (info.isFile()) {
    try {
      // Never through a symlink put there since, and never blocking on a FIFO.
      const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      let text: string;
      try {
        text = await file.readFile('utf8');
      } finally {
        await file.close();
      }
      const value = JSON.parse(text) as Partial<LockOwner>;
      // A pid that names no process (0 or negative: `kill()` would signal a process group, and
      // find it alive) makes the record as unreadable as a torn one.
      const pid = value.pid;
      if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0 && typeof value.host === 'string' && typeof value.token === 'string') return { ...(value as LockOwner), mtimeMs: info.mtimeMs };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 'gone';
      if (code === 'EACCES' || code === 'EPERM') return 'not readable here';
    }
  }
  return Date.now() - info.mtimeMs < UNREADABLE_GRACE_MS ? 'unreadable, recent' : undefined;
}

/** A lock judged by its lease alone: stale once expired, else live, `where` its owner is. */
function leased(where: string, owner: FoundOwner, now: number, lease: LockLease): 'stale' | { detail: string } {
  const age = Math.max(0, now - owner.mtimeMs);
  if (age > lease.expiryMs) return 'stale';
  return { detail: `${where}; renewed ${Math.round(age / 1000)} s ago, taken over once not renewed for ${lease.expiryMs / 1000} s` };
}

/**
 * Whether `owner`'s lock is left over (its process is known to be gone, or its lease expired), or
 * else what can be said of it.
 */
function judge(owner: FoundOwner, me: LockOwner, now: number, lease: LockLease): 'stale' | { detail?: string } {
  const sameHost = owner.host === me.host;
  if (sameHost && owner.boot !== undefined && me.boot !== undefined && owner.boot !== me.boot) {
    // An earlier boot of this machine, when last written before this boot began; renewed since, it
    // is another machine of the same name (two named `localhost` sharing a directory): a lease.
    if (owner.mtimeMs < Date.now() - uptime() * 1000) return 'stale';
    return leased(`on another machine named ${JSON.stringify(owner.host.slice(0, 64))}`, owner, now, lease);
  }
  if (!sameHost || (owner.pidns !== undefined && me.pidns !== undefined && owner.pidns !== me.pidns)) {
    // Another machine, or another container's pids: the pid cannot be asked from here, the lease
    // says whether the owner still runs.
    return leased(sameHost ? 'in another pid namespace (another container) on this host' : `on host ${JSON.stringify(owner.host.slice(0, 64))}`, owner, now, lease);
  }
  if (owner.pid === process.pid) return held.has(owner.token) ? {} : 'stale';
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'stale'; // EPERM: alive, owned by someone else
  }
  // Alive: the owner, unless that pid names a process that has ended but was not reaped (a
  // zombie: killed, it holds nothing, though its parent, a shell that exec'd or a container's
  // pid 1, may never wait for it), or a process started at another time.
  const found = processStat(owner.pid);
  if (found?.state === 'Z' || found?.state === 'X') return 'stale';
  const start = owner.start === undefined ? undefined : found?.start;
  return start !== undefined && start !== owner.start ? 'stale' : {};
}
