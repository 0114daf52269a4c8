import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { SessionStore, SessionStoreHandle } from '../session/session-store.js';
import { JournalStoreHandle, type JournalFile } from '../session/journal-store.js';
import { acquireSessionLock } from './session-lock.js';

/** The default directory of sessions: `$RXTRANSFER_HOME/sessions`, else `~/.rxtransfer/sessions`. */
export function defaultSessionDirectory(): string {
  const home = process.env['RXTRANSFER_HOME'];
  return join(home ? resolve(home) : join(homedir(), '.rxtransfer'), 'sessions');
}

/** The longest file name most file systems take, in bytes. */
const NAME_MAX = 255;

/**
 * The directory of one session: its id, percent-encoded, under the sessions directory. Only
 * `a`–`z`, `0`–`9` and `-_.!'()` stand for themselves; anything else is `%` and two upper-case
 * hex digits per UTF-8 byte: capitals too, so ids differing only in case never share a directory
 * on a case-insensitive file system (macOS, Windows); `*`, which Windows refuses; `~`, which
 * could match a Windows short name. A trailing `.` (Windows drops it) and the last letter of a
 * Windows device name (`nul`, `com1.x`) are encoded as well. An id whose encoding is longer than
 * a file name may be (200 characters of `é` are 1,200 bytes encoded) is named by the start of its
 * encoding and a digest of the id, joined by `%~`, which no percent-encoding holds: no other id
 * can have that name.
 */
export function sessionDirectory(directory: string, id: string): string {
  return join(resolve(directory), bounded(portableName(id), id));
}

/** The directory 0.1.0 gave a session: `encodeURIComponent` alone (capitals, `*`, `~` as they are). */
export function legacySessionDirectory(directory: string, id: string): string {
  return join(resolve(directory), bounded(encodeURIComponent(id), id));
}

/** A Windows device name, which Windows matches before any extension (only lower case is left: capitals are encoded). */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(?=\.|$)/;

function portableName(id: string): string {
  const hex = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
  return encodeURIComponent(id)
    .replace(/%[0-9A-F]{2}|[A-Z*~]/g, (c) => (c.length === 3 ? c : hex(c)))
    .replace(/\.$/, '%2E')
    .replace(WINDOWS_DEVICE, (device) => device.slice(0, -1) + hex(device.slice(-1)));
}

function bounded(encoded: string, id: string): string {
  return encoded.length <= NAME_MAX ? encoded : `${encoded.slice(0, 180)}%~${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

/**
 * The Node session store (S9): per session a directory holding `journal.log`, an append-only
 * journal of checksummed records (each append fsynced; compaction writes `journal.log.tmp`,
 * fsyncs it, renames it over the journal and fsyncs the directory), and `lock`, naming the
 * owning process (S8).
 *
 * @see docs/sessions.md (Stores)
 */
export function fileSessionStore(options: { directory?: string } = {}): SessionStore {
  const directory = options.directory ?? defaultSessionDirectory();
  return {
    name: 'file',
    async open(id: string): Promise<SessionStoreHandle> {
      // Refused here too, for a store opened without TransferSession.open: the empty id's
      // directory would be the sessions directory itself (any other id is encoded into a name).
      if (typeof id !== 'string' || id.length === 0) throw new TypeError('a session id must be a non-empty string');
      const dir = await adoptLegacyDirectory(directory, id);
      await syncMade(dir, await mkdir(dir, { recursive: true, mode: 0o700 }));
      // A lock found lost (by a renewal, or by the check before a write, a progress checkpoint's
      // included, whose failure the session otherwise ignores) ends the session at once: its
      // transfers stop instead of running on beside the new owner's.
      let lose!: (error: unknown) => void;
      const lost = new Promise<unknown>((resolve) => (lose = resolve));
      const lock = await acquireSessionLock(join(dir, 'lock'), id, () => void lock.check().catch(lose));
      const file = nodeJournalFile(join(dir, 'journal.log'));
      // Every write first checks that the lock is still this process's: one that lost it (paused
      // past its lease, and taken over) must not write into the new owner's journal.
      const guarded: JournalFile = {
        read: () => file.read(),
        append: async (text) => {
          await lock.check();
          await file.append(text);
        },
        replace: async (text) => {
          await lock.check();
          await file.replace(text);
        },
      };
      try {
        const handle = await JournalStoreHandle.open(guarded, lock);
        return {
          get tasks() {
            return handle.tasks;
          },
          write: (changes) => handle.write(changes),
          close: () => handle.close(),
          lost,
        };
      } catch (error) {
        await lock();
        throw error;
      }
    },
  };
}

/**
 * Where the session's directory is: `legacy` when only its 0.1.0 name exists (a directory of
 * exactly that name, and none of the name it has now). Throws when the file system takes another
 * entry for its name: on a case-insensitive one, 0.1.0's `Uploads` (session "Uploads") is what
 * `uploads` finds, and 0.1.0 kept both sessions there; which of them its tasks are is unknown.
 */
async function locate(directory: string, id: string): Promise<{ dir: string; legacy?: string }> {
  const dir = sessionDirectory(directory, id);
  const parent = dirname(dir);
  const name = basename(dir);
  let entries;
  try {
    entries = await readdir(parent, { withFileTypes: true });
  } catch {
    return { dir };
  }
  const alias = await aliasOf(parent, name, entries.map((e) => e.name));
  if (alias !== undefined) {
    const owner = legacyIdOf(alias);
    const open = owner === undefined ? 'move it away' : `open session "${owner.slice(0, 60)}" first, which moves it to its own name`;
    throw new Error(`session directory ${join(parent, alias)}, left by rxtransfer 0.1.0, is what this file system (case-insensitive) finds for session "${id.slice(0, 60)}": ${open}`);
  }
  const legacyName = basename(legacySessionDirectory(directory, id));
  if (legacyName === name || entries.some((e) => e.name === name)) return { dir };
  return entries.some((e) => e.name === legacyName && e.isDirectory()) ? { dir, legacy: join(parent, legacyName) } : { dir };
}

/** Another entry of `names` that is the same directory as `name` (differing in case only). */
async function aliasOf(parent: string, name: string, names: readonly string[]): Promise<string | undefined> {
  const folded = name.toLowerCase();
  const others = names.filter((n) => n !== name && n.toLowerCase() === folded);
  if (others.length === 0) return undefined;
  const mine = await stat(join(parent, name)).catch(() => undefined);
  if (!mine) return undefined;
  for (const other of others) {
    const found = await stat(join(parent, other)).catch(() => undefined);
    if (found && found.dev === mine.dev && found.ino === mine.ino) return other;
  }
  return undefined;
}

/** The id whose 0.1.0 directory is named `name`, if one is. */
function legacyIdOf(name: string): string | undefined {
  try {
    const id = decodeURIComponent(name);
    return encodeURIComponent(id) === name ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where a session's directory is, for reading it without opening it (the command line's `list`):
 * {@link sessionDirectory}, or its 0.1.0 name while no open has moved it yet.
 */
export async function existingSessionDirectory(directory: string, id: string): Promise<string> {
  const { dir, legacy } = await locate(directory, id);
  return legacy ?? dir;
}

/**
 * The session's directory ({@link sessionDirectory}), after moving it from its 0.1.0 name if only
 * that one exists, holding the old directory's lock meanwhile: a process still running the
 * session there makes this throw `SessionLockedError`, and nothing moves. The lock moves with the
 * directory and is removed there, to be taken again by the open that follows. Another open moving
 * it first is no error.
 */
async function adoptLegacyDirectory(directory: string, id: string): Promise<string> {
  const { dir, legacy } = await locate(directory, id);
  if (legacy === undefined) return dir;
  let release;
  try {
    release = await acquireSessionLock(join(legacy, 'lock'), id);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return dir; // moved meanwhile
    throw error;
  }
  try {
    await rename(legacy, dir);
  } catch (error) {
    await release();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EEXIST' || code === 'ENOTEMPTY') return dir; // another open moved it, or made the new one
    throw error;
  }
  await unlink(join(dir, 'lock')).catch(() => undefined);
  await release();
  await syncDirectory(dirname(dir));
  return dir;
}

/**
 * A journal file on disk: appends with fdatasync (an append that fails is truncated away, the
 * journal ending where it ended), atomic replace with fsync of file and directory.
 */
export function nodeJournalFile(path: string): JournalFile {
  return {
    async read() {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
        throw error;
      }
    },
    async append(text) {
      const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW;
      let created = false;
      let file;
      try {
        file = await open(path, flags);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        file = await open(path, flags | constants.O_CREAT, 0o600);
        created = true;
      }
      try {
        const { size } = await file.stat();
        try {
          await file.writeFile(text);
          await file.datasync();
        } catch (error) {
          // Cut short (a full disk, EFBIG, an I/O error: `write` took some bytes, then failed), or
          // not known to be durable: what it wrote is taken back, so that the journal ends where
          // it ended. Whole records of changes reported as failed would otherwise be replayed by
          // the next open.
          try {
            await file.truncate(size);
            await file.datasync();
          } catch {
            // The journal's end is unknown: the handle rewrites it whole at its next write or close.
          }
          throw error;
        }
      } finally {
        await file.close();
      }
      // A journal this append made is there after a power loss only once its directory is synced
      // too: the fdatasync keeps the bytes, not the name that leads to them (S2).
      if (created) await syncDirectory(dirname(path));
    },
    async replace(text) {
      const aside = `${path}.tmp`;
      const file = await open(aside, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(aside, path);
      await syncDirectory(dirname(path));
    },
  };
}

/**
 * After `mkdir(dir, { recursive: true })` made `made` (its first directory made; undefined: none):
 * syncs the parent of each directory it made, so their names survive a power loss as the journal's
 * bytes do (S2).
 */
async function syncMade(dir: string, made: string | undefined): Promise<void> {
  if (made === undefined) return;
  for (let d = resolve(dir); ; d = dirname(d)) {
    await syncDirectory(dirname(d));
    if (d === resolve(made) || dirname(d) === d) return;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or sync a directory; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
