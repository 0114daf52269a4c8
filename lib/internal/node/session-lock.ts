import { constants } from 'node:fs';
import { link, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SessionLockedError } from '../session/session-locked-error.js';

/** What a lock file holds: its owner. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
}

/** Attempts at taking a lock whose owner died, when other processes race for it too. */
const TAKEOVER_ATTEMPTS = 5;

/**
 * Takes the lock file `path` for session `sessionId` (S8): created whole and exclusively (written
 * aside, then hard-linked into place, which fails when a lock exists). A lock whose process is
 * gone (same host, the pid no longer alive) is stale and taken over. Resolves with the release.
 */
export async function acquireSessionLock(path: string, sessionId: string): Promise<() => Promise<void>> {
  const me: LockOwner = { pid: process.pid, host: hostname(), token: `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}` };
  const text = JSON.stringify(me);
  const aside = `${path}.${me.token}`;
  const file = await open(aside, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
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
      if (owner && (owner.host !== me.host || alive(owner.pid))) throw new SessionLockedError(sessionId, owner.pid);
      if (attempt >= TAKEOVER_ATTEMPTS) throw new SessionLockedError(sessionId, owner?.pid);
      await takeOver(path, owner, me.token);
    }
  } finally {
    await unlink(aside).catch(() => undefined);
  }
  return async () => {
    const owner = await readOwner(path);
    if (owner && owner !== 'gone' && owner.token === me.token) await unlink(path).catch(() => undefined);
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

/** Whether a process lives (EPERM: it does, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
