import { Observable } from 'rxjs';
import type { JournalCompaction, JournalFile } from '../../lib/internal/session/journal-store';
import type { SessionPlatform } from '../../lib/internal/session/session-options';
import type { SessionStore } from '../../lib/internal/session/session-store';
import { JournalStoreHandle } from '../../lib/internal/session/journal-store';
import { SessionLockedError } from '../../lib/internal/session/session-locked-error';
import type { DownloadResult, TransferEvent } from '../../lib/internal/core/events';

/** Thrown into whatever waits on the simulated disk when the simulated process dies. */
export class Crash extends Error {
  override name = 'Crash';
}

/**
 * A journal "disk" for property tests: `durable` is what survives a crash. The write numbered
 * `crashAt` (0-based, appends and replaces alike) is torn: an append keeps only its first
 * `tornBytes` characters (possibly followed by zeros, as a file system may leave), a replace
 * keeps the old journal (rename is atomic). After the crash nothing more reaches the disk and
 * every pending write never settles.
 */
export class SimDisk {
  durable = '';
  writes = 0;
  crashed = false;
  private readonly onCrash: Array<() => void> = [];

  constructor(
    private readonly crashAt: number,
    private readonly tornBytes: number,
    private readonly zeros: number,
    /** How often the store compacts (low values make compaction, and a crash during it, frequent). */
    private readonly compaction: JournalCompaction = {},
  ) {}

  /** Resolves when the crash happened. */
  whenCrashed(): Promise<void> {
    return new Promise((resolve) => (this.crashed ? resolve() : this.onCrash.push(resolve)));
  }

  file(): JournalFile {
    return {
      read: async () => this.durable,
      append: (text) => this.step(() => (this.durable += text), () => (this.durable += text.slice(0, this.tornBytes % (text.length + 1)) + '\0'.repeat(this.zeros))),
      replace: (text) => this.step(() => (this.durable = text), () => undefined),
    };
  }

  /** A session store over this disk (one owner at a time, as the file store). */
  store(): SessionStore {
    let owned = false;
    return {
      name: 'sim',
      open: async (id) => {
        if (owned) throw new SessionLockedError(id);
        owned = true;
        return JournalStoreHandle.open(
          this.file(),
          async () => {
            owned = false;
          },
          this.compaction,
        );
      },
    };
  }

  private step(whole: () => void, torn: () => void): Promise<void> {
    if (this.crashed) return new Promise<void>(() => undefined);
    const n = this.writes++;
    if (n === this.crashAt) {
      torn();
      this.crashed = true;
      for (const f of this.onCrash.splice(0)) f();
      return new Promise<void>(() => undefined);
    }
    whole();
    return new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
}

/**
 * A platform whose downloads need no network: URLs ending in `/fast` complete on the next
 * macrotask, others run until aborted (then end in a cancellation, as a real transfer does).
 */
export function simPlatform(): SessionPlatform {
  const transfer = (url: string, signal: AbortSignal | undefined) =>
    new Observable<TransferEvent<DownloadResult<unknown>>>((subscriber) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        clearTimeout(timer);
        subscriber.error(Object.assign(new Error('cancelled'), { name: 'CancelledError', code: 'cancelled' }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (url.endsWith('/fast')) {
        timer = setTimeout(() => {
          subscriber.next({ type: 'progress', direction: 'download', loaded: 1, delta: 0, total: 1, percent: 100, attempt: 1 });
          subscriber.next({ type: 'done', result: { url, status: 200, headers: {}, size: 1, data: undefined, path: '/dev/null' } });
          subscriber.complete();
        }, 0);
      }
      return () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
    });
  return {
    name: 'sim',
    download: (url, options) => transfer(url, options.signal),
    upload: (url, _source, options) => transfer(url, options.signal) as never,
    defaultStore: () => {
      throw new Error('pass a store');
    },
  };
}
