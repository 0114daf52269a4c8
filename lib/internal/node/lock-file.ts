import { constants } from 'node:fs';
import { link, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/** What a lock file holds: its owner. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
}

/** Attempts at taking a lock whose owner died, when other processes race for it too. */
const TAKEOVER_ATTEMPTS = 5;

/**
 * The tokens of the locks this process holds now. A lock naming this process's pid with a token
 * not in here was left by a process that is gone and had the same pid (a container restarted
 * with pid 1, a recycled pid after a reboot), or leaked by this one: it is stale.
 */
const held = new Set<string>();

/**
 * Takes the lock file `path`: created whole and exclusively (written aside, then hard-linked
 * into place, which fails when a lock exists). A lock whose process is gone (same host, the pid
 * no longer alive, or this process's pid with a token it does not hold) is stale and taken over;
 * a live one makes it throw `locked(ownerPid)`. With `durable`, the owner record is fsynced before
 * it is linked. Resolves with the release, which may be called more than once.
 */
export async function acquireLockFile(path: string, locked: (ownerPid: number | undefined) => Error, options: { durable?: boolean } = {}): Promise<() => Promise<void>> {
  const me: LockOwner = { pid: process.pid, host: hostname(), token: `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}` };
  const aside = `${path}.${me.token}`;
  const file = await open(aside, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await file.writeFile(JSON.stringify(me));
    if (options.durable) await file.sync();
  } finally {
    await file.close();
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(aside, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = await readOwner(path);
      if (owner === 'gone') continue;
      if (owner && (owner.host !== me.host || alive(owner))) throw locked(owner.pid);
      if (attempt >= TAKEOVER_ATTEMPTS) throw locked(owner?.pid);
      await takeOver(path, owner, me.token);
    }
  } finally {
    await unlink(aside).catch(() => undefined);
  }
  held.add(me.token);
  return async () => {
    if (!held.has(me.token)) return;
    const owner = await readOwner(path);
    if (owner && owner !== 'gone' && owner.token === me.token) await unlink(path).catch(() => undefined);
    held.delete(me.token);
  };
}

/** Moves a stale lock away; puts it back if it turned out to be a live one taken meanwhile. */
async function takeOver(path: string, stale: LockOwner | undefined, token: string): Promise<void> {
  const moved = `${path}.stale-${token}`;
  try {
    await rename(path, moved);
  } catch {
    return; // someone else moved it first: try again
  }
  const found = await readOwner(moved);
  const same = found !== 'gone' && (stale === undefined ? found === undefined : found?.token === stale.token);
  if (!same) await link(moved, path).catch(() => undefined);
  await rm(moved, { force: true });
}

async function readOwner(path: string): Promise<LockOwner | undefined | 'gone'> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string') return value as LockOwner;
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
}

/** Whether the owner (on this host) still holds its lock: its process lives (EPERM: it does, owned by someone else). */
function alive(owner: LockOwner): boolean {
  if (owner.pid === process.pid) return held.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
