import type { TaskRecord } from './session-task.js';

/** One durable change: a task's whole new record, or its removal. */
export type TaskChange = { readonly type: 'put'; readonly task: TaskRecord } | { readonly type: 'delete'; readonly id: string };

/**
 * A session's storage, owned by one opener at a time (S8). Implementations: the file store
 * (Node, the default), IndexedDB (browser), memory (tests).
 */
export interface SessionStore {
  /** A short name for messages. */
  readonly name: string;
  /**
   * Takes ownership of session `id` and loads its tasks. Rejects with `SessionLockedError`
   * when another owner holds it.
   */
  open(id: string): Promise<SessionStoreHandle>;
}

/** An opened, owned session store. */
export interface SessionStoreHandle {
  /** The tasks as they were when the store was opened (recovered after a crash). */
  readonly tasks: readonly TaskRecord[];
  /** Makes the changes durable, in order; resolves only once they would survive a crash. */
  write(changes: readonly TaskChange[]): Promise<void>;
  /** Waits for pending writes, then releases ownership. */
  close(): Promise<void>;
  /**
   * Optional: resolves with an error once the store can take no write any more, for good (the
   * IndexedDB store's database deleted or upgraded by another page). The session then ends at
   * once as `store-failed`, instead of at its next write. Never settles otherwise.
   */
  readonly lost?: Promise<unknown>;
}
