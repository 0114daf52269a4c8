import { IDBDatabase, IDBFactory } from 'fake-indexeddb';
import { firstValueFrom, take, toArray, timeout } from 'rxjs';
import { indexedDbSessionStore } from '../../lib/internal/browser/session-idb-store';
import { createSessionApi } from '../../lib/internal/session/session-api';
import { SessionLockedError } from '../../lib/internal/session/session-locked-error';
import { simPlatform } from '../helpers/session-sim';

const TransferSession = createSessionApi(simPlatform());

describe('IndexedDB session store (fake-indexeddb)', () => {
  it('S9 keeps tasks and acknowledgements across reopening; one owner at a time', async () => {
    const indexedDB = new IDBFactory();
    const store = indexedDbSessionStore({ indexedDB });
    const first = await TransferSession.open({ id: 'idb', store });
    await expect(TransferSession.open({ id: 'idb', store })).rejects.toBeInstanceOf(SessionLockedError);
    await first.download('http://127.0.0.1/fast', { id: 'done-one', to: '/x' });
    await first.download('http://127.0.0.1/slow', { id: 'slow-one', to: '/y' });
    const [c] = await firstValueFrom(first.completions$.pipe(take(1), toArray(), timeout(5000)));
    expect(c).toMatchObject({ taskId: 'done-one', state: 'completed' });
    await first.close();

    const second = await TransferSession.open({ id: 'idb', store: indexedDbSessionStore({ indexedDB }) });
    expect(second.tasks().map((t) => t.id)).toEqual(['done-one', 'slow-one']);
    const [again] = await firstValueFrom(second.completions$.pipe(take(1), toArray(), timeout(5000)));
    expect(again!.taskId).toBe('done-one');
    await again!.ack();
    await second.suspend('slow-one');
    await second.close();

    const third = await TransferSession.open({ id: 'idb', store: indexedDbSessionStore({ indexedDB }) });
    expect(third.task('done-one')).toMatchObject({ acked: true, state: 'completed' });
    expect(third.task('slow-one')).toMatchObject({ state: 'suspended' });
    await third.close();
  });

  it('S8 a connection whose close() throws: the handle\'s close() rejects with it (never throws) and still lets go of the session', async () => {
    const indexedDB = new IDBFactory();
    const store = indexedDbSessionStore({ indexedDB });
    const handle = await store.open('closing');
    const spy = jest.spyOn(IDBDatabase.prototype, 'close').mockImplementationOnce(() => {
      throw new Error('close failed');
    });
    try {
      let closing: Promise<void> | undefined;
      expect(() => (closing = handle.close())).not.toThrow();
      await expect(closing).rejects.toThrow('close failed');
    } finally {
      spy.mockRestore();
    }
    await (await store.open('closing')).close();
  });

  it('S9 a batch with a change that cannot be stored is stored not at all, and fails with that error', async () => {
    const indexedDB = new IDBFactory();
    const handle = await indexedDbSessionStore({ indexedDB }).open('batch');
    const task = (id: string, extra: object = {}) => ({ id, kind: 'download', url: 'http://127.0.0.1/a', to: '/a', priority: 0, seq: 1, createdAt: 0, state: 'queued', acked: false, ...extra }) as never;
    const error = await handle.write([{ type: 'put', task: task('a') }, { type: 'put', task: task('b', { result: { data: () => 1 } }) }]).catch((e: unknown) => e);
    expect((error as Error)?.name).toBe('DataCloneError');
    await handle.close();
    const reopened = await indexedDbSessionStore({ indexedDB }).open('batch');
    expect(reopened.tasks).toEqual([]);
    await reopened.close();
  });

  it('S9 lets another page delete or upgrade its database (never blocks it); the session then ends as store-failed at once, saying why', async () => {
    const indexedDB = new IDBFactory();
    const deleteDb = (name: string) =>
      new Promise<string>((resolve) => {
        // A connection left open blocks the deletion for as long as it stays open.
        const limit = setTimeout(() => resolve('still blocked after 2 s'), 2000);
        const request = indexedDB.deleteDatabase(name);
        request.onsuccess = () => (clearTimeout(limit), resolve('deleted'));
        request.onerror = () => (clearTimeout(limit), resolve('failed'));
      });
    const session = await TransferSession.open({ id: 'gone', store: indexedDbSessionStore({ indexedDB }) });
    const invalidated = firstValueFrom(session.invalidated$.pipe(timeout(5000)));
    // Another tab clears the site's data (or a newer version of the app upgrades the database).
    expect(await deleteDb('rxtransfer-session:gone')).toBe('deleted');
    // Ended without waiting for a write.
    const why = await invalidated;
    expect(why).toMatchObject({ reason: 'store-failed', cancelledTasks: false });
    expect((why.error as Error).message).toMatch(/"rxtransfer-session:gone" was deleted or upgraded by another connection/);
    await expect(session.download('http://127.0.0.1/fast', { id: 'after', to: '/z' })).rejects.toMatchObject({ code: 'invalidated' });
    await session.close();

    // The handle itself: a write after the loss fails with the same reason, and stores nothing.
    const handle = await indexedDbSessionStore({ indexedDB }).open('lost');
    expect(await deleteDb('rxtransfer-session:lost')).toBe('deleted');
    await expect(handle.lost).resolves.toMatchObject({ message: expect.stringMatching(/deleted or upgraded/) });
    const task = { id: 'a', kind: 'download', url: 'http://127.0.0.1/a', to: '/a', priority: 0, seq: 1, createdAt: 0, state: 'queued', acked: false } as never;
    await expect(handle.write([{ type: 'put', task }])).rejects.toThrow(/deleted or upgraded by another connection/);
    await handle.close();
  });

  it('S9 a database lost while invalidate() waits for running tasks ends the wait: store-failed, the store released', async () => {
    const indexedDB = new IDBFactory();
    const session = await TransferSession.open({ id: 'drain', store: indexedDbSessionStore({ indexedDB }) });
    const seen: unknown[] = [];
    session.invalidated$.subscribe({ next: (v) => seen.push(v.reason), complete: () => seen.push('complete') });
    // Runs until stopped: invalidate() waits for it.
    await session.download('http://127.0.0.1/slow', { id: 'running', to: '/r' });
    const invalidated = session.invalidate();
    const deleted = await new Promise<string>((resolve) => {
      const limit = setTimeout(() => resolve('still blocked after 2 s'), 2000);
      const request = indexedDB.deleteDatabase('rxtransfer-session:drain');
      request.onsuccess = () => (clearTimeout(limit), resolve('deleted'));
    });
    expect(deleted).toBe('deleted');
    // Its end could never be recorded: the wait ends now instead of never.
    let limit: ReturnType<typeof setTimeout> | undefined;
    const waited = await Promise.race([invalidated.then(() => 'ended'), new Promise((r) => (limit = setTimeout(() => r('still waiting after 5 s'), 5000)))]);
    clearTimeout(limit);
    expect(waited).toBe('ended');
    expect(seen).toEqual(['store-failed', 'complete']);
    // Released: the id can be opened again in this page.
    const again = await TransferSession.open({ id: 'drain', store: indexedDbSessionStore({ indexedDB }) });
    await again.close();
  });

  it('S9 fails clearly where there is no IndexedDB', async () => {
    await expect(TransferSession.open({ id: 'none', store: indexedDbSessionStore() })).rejects.toThrow(/IndexedDB is not available/);
  });

  describe('one owner without Web Locks (a page that is not a secure context)', () => {
    const task = { id: 'a', kind: 'download', url: 'http://127.0.0.1/a', priority: 0, seq: 1, createdAt: 0, state: 'queued', acked: false } as never;
    /** What another tab does when it takes the session: its own token in the owner record. */
    const takeOver = (indexedDB: IDBFactory, name: string) =>
      new Promise<void>((resolve, reject) => {
        const request = indexedDB.open(name);
        request.onsuccess = () => {
          const db = request.result;
          const tx = db.transaction('owner', 'readwrite');
          tx.objectStore('owner').put('another-tab', 'owner');
          tx.oncomplete = () => (db.close(), resolve());
          tx.onabort = () => reject(tx.error);
        };
        request.onerror = () => reject(request.error);
      });
    const within = <T>(promise: Promise<T>, ms: number) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      return Promise.race([promise, new Promise<string>((r) => (timer = setTimeout(() => r(`nothing within ${ms} ms`), ms)))]).finally(() => clearTimeout(timer));
    };

    it('S8 a connection another tab took the session from writes nothing more, and is lost saying why', async () => {
      const indexedDB = new IDBFactory();
      const handle = await indexedDbSessionStore({ indexedDB }).open('fenced');
      await handle.write([{ type: 'put', task }]);
      await takeOver(indexedDB, 'rxtransfer-session:fenced');
      await expect(handle.write([{ type: 'put', task: { ...(task as object), state: 'suspended' } as never }])).rejects.toThrow(/opened in another tab or window/);
      expect(await within(handle.lost!, 2000)).toMatchObject({ message: expect.stringMatching(/opened in another tab or window/) });
      await handle.close();
      // Its last write was not made.
      const reopened = await indexedDbSessionStore({ indexedDB }).open('fenced');
      expect(reopened.tasks).toEqual([expect.objectContaining({ id: 'a', state: 'queued' })]);
      await reopened.close();
    });

    it('S8 told on the BroadcastChannel that another tab took the session, the owner ends at once (no write needed)', async () => {
      const indexedDB = new IDBFactory();
      const handle = await indexedDbSessionStore({ indexedDB }).open('told');
      await takeOver(indexedDB, 'rxtransfer-session:told');
      const channel = new BroadcastChannel('rxtransfer-session:told');
      channel.postMessage({ type: 'taken' });
      channel.close();
      expect(await within(handle.lost!, 2000)).toMatchObject({ message: expect.stringMatching(/opened in another tab or window/) });
      await handle.close();
    });

    it('S1 opens a database of the first version (tasks only) with its tasks', async () => {
      const indexedDB = new IDBFactory();
      await new Promise<void>((resolve, reject) => {
        const request = indexedDB.open('rxtransfer-session:v1', 1);
        request.onupgradeneeded = () => request.result.createObjectStore('tasks', { keyPath: 'id' });
        request.onsuccess = () => {
          const db = request.result;
          const tx = db.transaction('tasks', 'readwrite');
          tx.objectStore('tasks').put(task);
          tx.oncomplete = () => (db.close(), resolve());
        };
        request.onerror = () => reject(request.error);
      });
      const handle = await indexedDbSessionStore({ indexedDB }).open('v1');
      expect(handle.tasks).toEqual([expect.objectContaining({ id: 'a' })]);
      await handle.write([{ type: 'put', task: { ...(task as object), state: 'suspended' } as never }]);
      await handle.close();
    });

    it('S1 an upgrade blocked by a tab that keeps the first version open fails within a second, saying so; it opens once that tab has gone', async () => {
      const indexedDB = new IDBFactory();
      // A tab of an older app: version 1 open, no versionchange handler, so it never lets go.
      const old = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('rxtransfer-session:held', 1);
        request.onupgradeneeded = () => request.result.createObjectStore('tasks', { keyPath: 'id' });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const store = indexedDbSessionStore({ indexedDB });
      const opened = store.open('held').then(
        () => 'opened',
        (error: Error) => error.message,
      );
      const outcome = await Promise.race([opened, new Promise((r) => setTimeout(() => r('still waiting after 2 s'), 2000))]);
      expect(outcome).toMatch(/held open at an older version by another tab/);
      // The other tab closes: the upgrade the first open asked for goes through; its connection
      // is closed unused, and the next open works (not locked out by this page's first attempt).
      old.close();
      const handle = await store.open('held');
      expect(handle.tasks).toEqual([]);
      await handle.close();
    });

    /** A tab of an older app with version 1 of the database open. */
    const openFirstVersion = (indexedDB: IDBFactory, name: string) =>
      new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(name, 1);
        request.onupgradeneeded = () => request.result.createObjectStore('tasks', { keyPath: 'id' });
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    const outcome = (opening: Promise<{ close(): Promise<void> }>) =>
      opening.then(
        async (handle) => (await handle.close(), 'opened'),
        (error: Error) => error.message,
      );

    it('S1 opened again from this page while the blocked upgrade is still pending, it fails the same way (not queued behind it until that tab goes); it opens as soon as that tab closes', async () => {
      const indexedDB = new IDBFactory();
      const old = await openFirstVersion(indexedDB, 'rxtransfer-session:retry');
      const store = indexedDbSessionStore({ indexedDB });
      expect(await within(outcome(store.open('retry')), 3000)).toMatch(/held open at an older version by another tab/);
      // The user retries without closing that tab: an answer, not an open that hangs (holding
      // the session in this page) for as long as that tab stays open.
      expect(await within(outcome(store.open('retry')), 3000)).toMatch(/held open at an older version by another tab/);
      // That tab closes, and the page opens again at once (the first request's upgrade still to run).
      old.close();
      expect(await within(outcome(store.open('retry')), 3000)).toBe('opened');
    });

    it('S1 a tab that closes its older connection a moment after being asked (after an await, or by reloading) lets the upgrade through: the open succeeds', async () => {
      const indexedDB = new IDBFactory();
      const old = await openFirstVersion(indexedDB, 'rxtransfer-session:polite');
      let asked = false;
      old.onversionchange = () => {
        asked = true;
        setTimeout(() => old.close(), 50);
      };
      expect(await within(outcome(indexedDbSessionStore({ indexedDB }).open('polite')), 3000)).toBe('opened');
      expect(asked).toBe(true);
    });
  });

  it('on Node (no tabs), opening asks no other tab on the BroadcastChannel (which would make every open wait for answers that cannot come)', async () => {
    const indexedDB = new IDBFactory();
    const heard: unknown[] = [];
    const listener = new BroadcastChannel('rxtransfer-session:quiet');
    listener.onmessage = (event) => heard.push(event.data);
    try {
      const handle = await indexedDbSessionStore({ indexedDB }).open('quiet');
      await handle.close();
      await new Promise((resolve) => setTimeout(resolve, 50)); // messages arrive asynchronously
      expect(heard.filter((m) => (m as { type?: unknown }).type === 'who')).toEqual([]);
    } finally {
      listener.close();
    }
  });
});
