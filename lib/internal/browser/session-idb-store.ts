import type { SessionStore, SessionStoreHandle, TaskChange } from '../session/session-store.js';
import type { TaskRecord } from '../session/session-task.js';
import { SessionLockedError } from '../session/session-locked-error.js';

/**
 * The part of the IndexedDB API this store uses (the global `indexedDB`, or fake-indexeddb in
 * tests). Typed structurally so that a Node project compiled without the DOM lib can use the types.
 */
export interface IndexedDbLike {
  open(name: string, version?: number): unknown;
}
type IdbFactory = Pick<IDBFactory, 'open'>;

const STORE = 'tasks';
/** Sessions opened by this page (or process): one owner at a time. */
const owned = new Set<string>();

/**
 * The browser session store (S9): one IndexedDB database per session (`rxtransfer-session:<id>`),
 * one record per task keyed by its id. Each write is one `readwrite` transaction with strict
 * durability, resolved on `complete`: IndexedDB's transactions are atomic, so a crash leaves
 * every task as it was before or after a write, never torn. One owner per page; across tabs the
 * Web Locks API is used when the browser has it.
 *
 * @see docs/sessions.md (Stores)
 */
export function indexedDbSessionStore(options: { indexedDB?: IndexedDbLike; prefix?: string } = {}): SessionStore {
  const prefix = options.prefix ?? 'rxtransfer-session:';
  return {
    name: 'indexeddb',
    async open(id: string): Promise<SessionStoreHandle> {
      const factory = (options.indexedDB ?? (globalThis as { indexedDB?: IndexedDbLike }).indexedDB) as IdbFactory | undefined;
      if (!factory) throw new Error('IndexedDB is not available here: pass a store to TransferSession.open');
      const name = prefix + id;
      if (owned.has(name)) throw new SessionLockedError(id);
      owned.add(name);
      let unlock: (() => void) | undefined;
      try {
        unlock = await webLock(name, id);
        const db = await openDb(factory, name);
        // Another connection deletes or upgrades the database (another tab clearing the site's
        // data, a newer app): this one closes at once instead of blocking it for as long as the
        // session is open, and every later write fails saying why (the session ends as
        // store-failed). The browser closing it (storage cleared, a disk error) ends it the same way.
        let lost: Error | undefined;
        let reportLost!: (error: Error) => void;
        const lostPromise = new Promise<Error>((resolve) => (reportLost = resolve));
        const lose = (error: Error) => {
          if (lost) return;
          lost = error;
          reportLost(error);
        };
        db.onversionchange = () => {
          lose(new Error(`the session's IndexedDB database "${name}" was deleted or upgraded by another connection`));
          db.close();
        };
        db.onclose = () => lose(new Error(`the browser closed the session's IndexedDB database "${name}" (storage cleared or failing)`));
        const tasks = await readAll(db);
        let closed = false;
        return {
          tasks,
          lost: lostPromise,
          write: (changes) => (closed ? Promise.reject(new Error('the session store is closed')) : lost ? Promise.reject(lost) : writeAll(db, changes)),
          async close() {
            if (closed) return;
            closed = true;
            db.close();
            unlock?.();
            owned.delete(name);
          },
        };
      } catch (error) {
        unlock?.();
        owned.delete(name);
        throw error;
      }
    },
  };
}

function openDb(factory: IdbFactory, name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = factory.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function readAll(db: IDBDatabase): Promise<TaskRecord[]> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(STORE, 'readonly').objectStore(STORE).getAll();
    request.onsuccess = () => resolve((request.result as TaskRecord[]).sort((a, b) => a.seq - b.seq));
    request.onerror = () => reject(request.error);
  });
}

function writeAll(db: IDBDatabase, changes: readonly TaskChange[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = (db.transaction as (s: string, m: IDBTransactionMode, o?: { durability: string }) => IDBTransaction)(STORE, 'readwrite', { durability: 'strict' });
    tx.oncomplete = () => resolve();
    // A failed request: its own error (the transaction's is not set yet while it bubbles).
    tx.onerror = (event) => reject((event.target as IDBRequest | null)?.error ?? tx.error ?? new Error('an IndexedDB request failed'));
    tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'));
    const store = tx.objectStore(STORE);
    try {
      for (const c of changes) {
        if (c.type === 'put') store.put(c.task);
        else store.delete(c.id);
      }
    } catch (error) {
      // A change that cannot be stored (DataCloneError): none of the batch is, as the contract of a write says.
      try {
        tx.abort();
      } catch {
        // already finished
      }
      reject(error);
    }
  });
}

/** Holds a Web Lock named for the session while it is open, when the browser has the API. */
async function webLock(name: string, id: string): Promise<(() => void) | undefined> {
  const locks = (globalThis as { navigator?: { locks?: { request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void> } } }).navigator?.locks;
  if (!locks) return undefined;
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    locks
      .request(name, { ifAvailable: true }, async (lock) => {
        if (!lock) return reject(new SessionLockedError(id));
        resolve(release);
        await held;
      })
      .catch(reject);
  });
}
