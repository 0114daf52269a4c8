import type { SessionStore, SessionStoreHandle, TaskChange } from '../session/session-store.js';
import type { TaskRecord } from '../session/session-task.js';
import { SessionLockedError } from '../session/session-locked-error.js';
import { randomId } from '../session/random-id.js';

/**
 * The part of the IndexedDB API this store uses (the global `indexedDB`, or fake-indexeddb in
 * tests). Typed structurally so that a Node project compiled without the DOM lib can use the types.
 */
export interface IndexedDbLike {
  open(name: string, version?: number): unknown;
}
type IdbFactory = Pick<IDBFactory, 'open'>;

const STORE = 'tasks';
/**
 * One record (key `owner`): the token of the connection that last took the session. Every write
 * checks it in its own transaction, so a connection that was not kept out (no Web Locks API) can
 * never write over the tasks of one that took the session after it.
 */
const OWNER = 'owner';
/** Version 1 had `tasks` only; 2 adds `owner`. */
const VERSION = 2;
/** Without Web Locks: how long an opener waits for an owner in another tab to say it holds the session. */
const ASK_MS = 250;
/** Sessions opened by this page (or process): one owner at a time. */
const owned = new Set<string>();

/**
 * The browser session store (S9): one IndexedDB database per session (`rxtransfer-session:<id>`),
 * one record per task keyed by its id. Each write is one `readwrite` transaction with strict
 * durability, resolved on `complete`: IndexedDB's transactions are atomic, so a crash leaves
 * every task as it was before or after a write, never torn. One owner per page; across tabs the
 * Web Locks API keeps a second opener out. Where the browser has no Web Locks (a page that is not
 * a secure context: plain http), the owner answers openers on a `BroadcastChannel` named for the
 * database, and every write checks, in its transaction, that this connection still owns the
 * session: of two tabs opening at the same moment, the one that took it first ends as
 * `store-failed`, never writing over the other's tasks.
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
      let unlock: (() => Promise<void>) | undefined;
      let db: IDBDatabase | undefined;
      let channel: BroadcastChannelLike | undefined;
      try {
        unlock = await webLock(name, id);
        // No Web Locks: an owner in another tab says so when asked.
        if (!unlock && inBrowser() && (await ownerAnswers(name))) throw new SessionLockedError(id);
        db = await openDb(factory, name);
        const conn = db;
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
          channel?.close();
        };
        conn.onversionchange = () => {
          lose(new Error(`the session's IndexedDB database "${name}" was deleted or upgraded by another connection`));
          conn.close();
        };
        conn.onclose = () => lose(new Error(`the browser closed the session's IndexedDB database "${name}" (storage cleared or failing)`));
        const token = randomId();
        const takenOver = () => lose(new Error(`session "${id}" was opened in another tab or window, which now owns its IndexedDB database "${name}" (this browser has no Web Locks API to keep it out: the page is not a secure context)`));
        await claim(conn, token);
        if (!unlock) channel = answerAsOwner(name, conn, token, takenOver);
        const tasks = await readAll(conn);
        let closed = false;
        let closing: Promise<void> | undefined;
        const leaving = pageLeaving();
        return {
          tasks,
          lost: lostPromise,
          write: (changes) =>
            closed
              ? Promise.reject(new Error('the session store is closed'))
              : lost
                ? Promise.reject(lost)
                : leaving.left
                  ? Promise.reject(new Error(`the page is being unloaded: session "${id}" stores nothing more until a page opens it again`))
                  : writeAll(conn, changes, token, takenOver).catch((error: unknown) => Promise.reject(lost ?? described(error, id, name))),
          close() {
            // A second call waits for the same release.
            if (closing) return closing;
            closed = true;
            closing = (async () => {
              // A connection or channel whose close() throws still lets go of the session, and
              // the failure is this promise's (a rejection, not a throw from close()).
              try {
                leaving.dispose();
                channel?.close();
                conn.close();
              } finally {
                await unlock?.();
                owned.delete(name);
              }
            })();
            return closing;
          },
        };
      } catch (error) {
        channel?.close();
        db?.close();
        await unlock?.();
        owned.delete(name);
        throw described(error, id, name);
      }
    },
  };
}

/**
 * What IndexedDB failed with, as the session says it. Chromium's `QuotaExceededError` has an
 * empty message (and so may other failures of its backing store), which would refuse an open or
 * a task, or end a session as `store-failed`, saying nothing: the error keeps its name (a
 * DOMException still, where there is the class) and the original as `cause`, and its message says
 * what happened, to which session and database, and what to do. Other errors are left as they are.
 */
function described(error: unknown, id: string, name: string): unknown {
  const e = error as { name?: unknown; message?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.name !== 'string') return error;
  const said = typeof e.message === 'string' ? e.message.trim() : '';
  const quota = e.name === 'QuotaExceededError';
  if (!quota && said !== '') return error;
  const message = quota
    ? `the browser's storage quota for this site is used up, or its disk is full (QuotaExceededError${said ? `: ${said}` : ''}): session "${id}" could not write its IndexedDB database "${name}"; make room (acknowledge and forget finished tasks, clear the site's other data) and try again`
    : `IndexedDB failed with ${e.name} and gave no reason, on session "${id}"'s database "${name}"`;
  const DomException = (globalThis as { DOMException?: new (message: string, name: string) => Error }).DOMException;
  const out = typeof DomException === 'function' ? new DomException(message, e.name) : Object.assign(new Error(message), { name: e.name });
  Object.defineProperty(out, 'cause', { value: error, configurable: true, writable: true, enumerable: false });
  return out;
}

/**
 * After `blocked`, how long the open still waits for the other connection to close: one that
 * closes a moment after `versionchange` (after an await, or by reloading its page) lets the
 * upgrade through instead of failing it.
 */
const BLOCKED_GRACE_MS = 1000;
/**
 * Per factory: databases whose open this page gave up on while it was blocked, each with the
 * promise that that request has gone on (the blocker closed). Another open of one would queue
 * behind that request (IndexedDB's connection queue) and wait as long as the blocking tab stays
 * open: it waits for it {@link BLOCKED_GRACE_MS} at most, then fails the same way.
 */
const stuckOpens = new WeakMap<IdbFactory, Map<string, Promise<void>>>();

const blockedError = (name: string) =>
  new Error(`the session's IndexedDB database "${name}" is held open at an older version by another tab or window, which does not let it go: close or reload it, then open the session again`);

/**
 * Opens (and creates or upgrades) the session's database. An upgrade that another connection
 * blocks (a tab still running an older version of the app, whose connection does not close when
 * asked to) fails after {@link BLOCKED_GRACE_MS} instead of waiting for that tab to close: the
 * open request stays pending, and the connection it gives later, if ever, is closed unused; until
 * then, another open of the database from this page fails the same way.
 */
async function openDb(factory: IdbFactory, name: string): Promise<IDBDatabase> {
  const stuck = stuckOpens.get(factory)?.get(name);
  if (stuck !== undefined && !(await settlesWithin(stuck, BLOCKED_GRACE_MS))) throw blockedError(name);
  return new Promise((resolve, reject) => {
    const request = factory.open(name, VERSION);
    let grace: ReturnType<typeof setTimeout> | undefined;
    let gaveUp = false;
    /** Set once given up on: the request is stuck until it goes on. */
    let goneOn: (() => void) | undefined;
    const settled = () => {
      clearTimeout(grace);
      goneOn?.();
    };
    request.onupgradeneeded = () => {
      // The blocker has gone: an open waiting behind this one may go on.
      settled();
      const db = request.result;
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: 'id' });
      if (!db.objectStoreNames.contains(OWNER)) db.createObjectStore(OWNER);
    };
    request.onblocked = () => {
      if (grace !== undefined) return;
      grace = setTimeout(() => {
        gaveUp = true;
        const opens = stuckOpens.get(factory) ?? new Map<string, Promise<void>>();
        stuckOpens.set(factory, opens);
        const pending = new Promise<void>((r) => {
          goneOn = () => {
            goneOn = undefined;
            if (opens.get(name) === pending) opens.delete(name);
            r();
          };
        });
        opens.set(name, pending);
        reject(blockedError(name));
      }, BLOCKED_GRACE_MS);
    };
    request.onsuccess = () => {
      settled();
      // Given up on (rejected already): the connection is closed unused.
      if (gaveUp) request.result.close();
      else resolve(request.result);
    };
    request.onerror = () => {
      settled();
      reject(request.error);
    };
  });
}

/** Whether `promise` settles within `ms`. */
function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([promise.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]).finally(() => clearTimeout(timer));
}

/** Makes `token` the owner's. */
function claim(db: IDBDatabase, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(OWNER, 'readwrite');
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'));
    tx.objectStore(OWNER).put(token, OWNER);
  });
}

function readAll(db: IDBDatabase): Promise<TaskRecord[]> {
  return new Promise((resolve, reject) => {
    const request = db.transaction(STORE, 'readonly').objectStore(STORE).getAll();
    request.onsuccess = () => resolve((request.result as TaskRecord[]).sort((a, b) => a.seq - b.seq));
    request.onerror = () => reject(request.error);
  });
}

function writeAll(db: IDBDatabase, changes: readonly TaskChange[], token: string, takenOver: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = (db.transaction as (s: string[], m: IDBTransactionMode, o?: { durability: string }) => IDBTransaction)([STORE, OWNER], 'readwrite', { durability: 'strict' });
    tx.oncomplete = () => resolve();
    // A failed request: its own error (the transaction's is not set yet while it bubbles).
    tx.onerror = (event) => reject((event.target as IDBRequest | null)?.error ?? tx.error ?? new Error('an IndexedDB request failed'));
    tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'));
    const abort = () => {
      try {
        tx.abort();
      } catch {
        // already finished
      }
    };
    // Still the owner? Checked in this very transaction: no other connection writes in between.
    const owner = tx.objectStore(OWNER).get(OWNER);
    owner.onsuccess = () => {
      if (owner.result !== token) {
        takenOver();
        abort();
        return;
      }
      const store = tx.objectStore(STORE);
      try {
        for (const c of changes) {
          if (c.type === 'put') store.put(c.task);
          else store.delete(c.id);
        }
      } catch (error) {
        // A change that cannot be stored (DataCloneError): none of the batch is, as the contract of a write says.
        abort();
        reject(error);
      }
    };
  });
}

/**
 * Holds a Web Lock named for the session while it is open, when the browser has the API. Returns
 * what lets go of it: resolved once the browser has it back (the promise of the lock's request),
 * not when it is asked to, so that an open right after a close finds it free.
 */
async function webLock(name: string, id: string): Promise<(() => Promise<void>) | undefined> {
  const locks = (globalThis as { navigator?: { locks?: { request(name: string, options: { ifAvailable: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void> } } }).navigator?.locks;
  if (!locks) return undefined;
  return new Promise((resolve, reject) => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const request = locks.request(name, { ifAvailable: true }, async (lock) => {
      if (!lock) return reject(new SessionLockedError(id));
      resolve(() => {
        release();
        return request.then(() => undefined, () => undefined);
      });
      await held;
    });
    request.catch(reject);
  });
}

interface BroadcastChannelLike {
  postMessage(message: unknown): void;
  close(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
}

function broadcastChannel(name: string): BroadcastChannelLike | undefined {
  const BC = (globalThis as { BroadcastChannel?: new (name: string) => BroadcastChannelLike }).BroadcastChannel;
  return BC ? new BC(name) : undefined;
}

/**
 * Whether other pages of this origin can exist: a window or a worker. Node (fake-indexeddb in
 * tests, an app) has no tabs: its BroadcastChannel reaches only its own worker threads, whose
 * databases are their own, so asking would only make every open wait {@link ASK_MS}.
 */
function inBrowser(): boolean {
  const g = globalThis as { document?: unknown; WorkerGlobalScope?: unknown };
  return g.document !== undefined || g.WorkerGlobalScope !== undefined;
}

/** Without Web Locks: asks the tabs of this origin whether one owns the session (an owner answers within ASK_MS). */
function ownerAnswers(name: string): Promise<boolean> {
  const channel = broadcastChannel(name);
  if (!channel) return Promise.resolve(false);
  const nonce = randomId();
  return new Promise<boolean>((resolve) => {
    const done = (answer: boolean) => {
      clearTimeout(timer);
      channel.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), ASK_MS);
    channel.onmessage = (event) => {
      const data = event.data as { type?: unknown; nonce?: unknown } | null;
      if (data?.type === 'mine' && data.nonce === nonce) done(true);
    };
    channel.postMessage({ type: 'who', nonce });
  });
}

/**
 * Without Web Locks: the owner answers `who`, and tells that it took the session; told that
 * another took it, it checks the owner record and, if it is no longer its own, stops at once.
 */
function answerAsOwner(name: string, db: IDBDatabase, token: string, takenOver: () => void): BroadcastChannelLike | undefined {
  const channel = broadcastChannel(name);
  if (!channel) return undefined;
  const check = () => {
    try {
      const request = db.transaction(OWNER, 'readonly').objectStore(OWNER).get(OWNER);
      request.onsuccess = () => {
        if (request.result !== token) takenOver();
      };
    } catch {
      // closed meanwhile
    }
  };
  channel.onmessage = (event) => {
    const data = event.data as { type?: unknown; nonce?: unknown } | null;
    if (data?.type === 'who') channel.postMessage({ type: 'mine', nonce: data.nonce });
    else if (data?.type === 'taken') check();
  };
  channel.postMessage({ type: 'taken' });
  // Another tab that took the session between this one's claim and the channel listening told
  // no one who could hear: the record says so. (One that takes it later is heard.)
  check();
  return channel;
}

/**
 * Whether the page is being unloaded (`pagehide`, not into the back/forward cache). The browser
 * then aborts the page's requests, and a session would record the tasks it was running as failed
 * (a body cut short) if that write won the race with the page's end: they are not failed, they
 * are interrupted, and the next page that opens the session runs them again (S1). Nothing is
 * stored from then on.
 */
function pageLeaving(): { readonly left: boolean; dispose(): void } {
  const target = globalThis as { addEventListener?: (type: string, listener: (event: Event) => void) => void; removeEventListener?: (type: string, listener: (event: Event) => void) => void };
  const state = {
    left: false,
    dispose: () => target.removeEventListener?.('pagehide', onHide),
  };
  function onHide(event: Event): void {
    if ((event as Event & { persisted?: boolean }).persisted !== true) state.left = true;
  }
  target.addEventListener?.('pagehide', onHide);
  return state;
}
