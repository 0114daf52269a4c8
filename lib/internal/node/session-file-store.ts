import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
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
 * The directory of one session: its id, percent-encoded, under the sessions directory. An id
 * whose encoding is longer than a file name may be (200 characters of `é` are 1,200 bytes
 * encoded) is named by the start of its encoding and a digest of the id, joined by `%~`, which
 * no percent-encoding holds: no other id can have that name.
 */
export function sessionDirectory(directory: string, id: string): string {
  const encoded = encodeURIComponent(id);
  const name = encoded.length <= NAME_MAX ? encoded : `${encoded.slice(0, 180)}%~${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
  return join(resolve(directory), name);
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
      const dir = sessionDirectory(directory, id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const release = await acquireSessionLock(join(dir, 'lock'), id);
      try {
        return await JournalStoreHandle.open(nodeJournalFile(join(dir, 'journal.log')), release);
      } catch (error) {
        await release();
        throw error;
      }
    },
  };
}

/** A journal file on disk: appends with fdatasync, atomic replace with fsync of file and directory. */
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
      const file = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      try {
        await file.writeFile(text);
        await file.datasync();
      } finally {
        await file.close();
      }
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
