import type { SessionStore, SessionStoreHandle, TaskChange } from './session-store.js';
import type { TaskRecord } from './session-task.js';
import { SessionLockedError } from './session-locked-error.js';

/**
 * A session store in memory, for tests and short-lived sessions (S9). Sessions survive a
 * close and reopen on the same store object (not a restart of the process). One owner at a time.
 *
 * @example
 * ```ts
 * import { TransferSession, memorySessionStore } from 'rxtransfer';
 * const store = memorySessionStore();
 * const session = await TransferSession.open({ id: 'test', store });
 * ```
 */
export function memorySessionStore(): SessionStore & { snapshot(id: string): TaskRecord[] } {
  const sessions = new Map<string, { tasks: Map<string, TaskRecord>; owned: boolean }>();
  return {
    name: 'memory',
    snapshot: (id) => [...(sessions.get(id)?.tasks.values() ?? [])].map((t) => ({ ...t })),
    async open(id: string): Promise<SessionStoreHandle> {
      let session = sessions.get(id);
      if (!session) sessions.set(id, (session = { tasks: new Map(), owned: false }));
      if (session.owned) throw new SessionLockedError(id);
      session.owned = true;
      const s = session;
      let closed = false;
      return {
        tasks: [...s.tasks.values()].sort((a, b) => a.seq - b.seq),
        async write(changes: readonly TaskChange[]) {
          if (closed) throw new Error('the session store is closed');
          // Cloned first: a change that cannot be (DataCloneError) fails the whole write, none of it stored.
          const cloned = changes.map((c): TaskChange => (c.type === 'put' ? { type: 'put', task: structuredClone(c.task) } : c));
          for (const c of cloned) {
            if (c.type === 'put') s.tasks.set(c.task.id, c.task);
            else s.tasks.delete(c.id);
          }
        },
        async close() {
          if (!closed) s.owned = false;
          closed = true;
        },
      };
    },
  };
}
