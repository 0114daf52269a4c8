import { constants, readFileSync, readlinkSync } from 'node:fs';
import { link as hardLink, lstat, open, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/**
 * What a lock file holds: its owner. `boot` (Linux's boot id) and `pidns` (its pid namespace)
 * say whether `pid` can be checked from here: a pid of an earlier boot is gone, one of another
 * namespace cannot be asked.
 */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly boot?: string;
  readonly pidns?: string;
}

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

/** This machine's boot id and this process's pid namespace, where the OS says (Linux). */
let identity: { boot?: string; pidns?: string } | undefined;
function machine(): { boot?: string; pidns?: string } {
  if (!identity) {
    identity = {};
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
 * Takes the lock file `path`: created whole and exclusively (written aside, then hard-linked
 * into place, which fails when a lock exists; where the file system has no hard links, created
 * exclusively and then written). A lock whose owner is gone is stale and taken over: same host
 * and pid namespace with the pid no longer alive, an earlier boot of this machine, this process's
 * pid with a token it does not hold, or a record that cannot be read (a symlink in its place
 * included, never followed) once it is {@link UNREADABLE_GRACE_MS} old. A record another user's
 * process holds, unreadable to this one, is live; a directory in its place is an error. A lock of
 * this process whose holder is `closing` is waited for; any other makes it throw `locked(ownerPid)`. With `durable`, the owner record is fsynced before
 * it is placed. Resolves with the release, which may be called more than once.
 */
export async function acquireLockFile(path: string, locked: (ownerPid: number | undefined) => Error, options: LockFileOptions = {}): Promise<() => Promise<void>> {
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
        if (owner && !stale(owner, me)) throw locked(owner.pid);
        if (attempt >= TAKEOVER_ATTEMPTS) throw locked(owner?.pid);
        await takeOver(path, owner, me.token, options);
      }
    } finally {
      await unlink(aside).catch(() => undefined);
    }
  } catch (error) {
    drop();
    throw error;
  }
  return async () => {
    if (!held.has(me.token)) return;
    const owner = await readOwner(path);
    if (typeof owner === 'object' && owner.token === me.token) await unlink(path).catch(() => undefined);
    drop();
  };
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
async function readOwner(path: string): Promise<LockOwner | undefined | 'gone' | 'unreadable, recent' | 'not readable here' | 'directory'> {
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
      if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string') return value as LockOwner;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 'gone';
      if (code === 'EACCES' || code === 'EPERM') return 'not readable here';
    }
  }
  return Date.now() - info.mtimeMs < UNREADABLE_GRACE_MS ? 'unreadable, recent' : undefined;
}

/** Whether `owner`'s lock is left over: its process is known to be gone. */
function stale(owner: LockOwner, me: LockOwner): boolean {
  if (owner.host !== me.host) return false; // another machine: cannot be asked
  if (owner.boot !== undefined && me.boot !== undefined && owner.boot !== me.boot) return true; // an earlier boot
  if (owner.pidns !== undefined && me.pidns !== undefined && owner.pidns !== me.pidns) return false; // another container's pids
  if (owner.pid === process.pid) return !held.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM'; // EPERM: alive, owned by someone else
  }
}
