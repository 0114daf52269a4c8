import type { SessionStoreHandle, TaskChange } from './session-store.js';
import type { TaskRecord } from './session-task.js';
import { decodeJournal, encodeChange, encodeSnapshot } from './journal-codec.js';

/**
 * The bytes of one journal, as a platform keeps them. `append` and `replace` resolve only when
 * the data is durable: on Node, after fsync of the file (and of its directory for `replace`).
 */
export interface JournalFile {
  /** The whole journal; '' when there is none yet. */
  read(): Promise<string>;
  /**
   * Appends at the end, durably. One that fails should take back what it wrote of `text` (the
   * Node file truncates the journal to its length before), so that a process ending before the
   * handle's next write or close replays none of the changes reported as failed. The handle does
   * not count on it: it rewrites the journal whole after any failed append.
   */
  append(text: string): Promise<void>;
  /** Replaces the whole journal atomically (write aside, sync, rename, sync the directory). */
  replace(text: string): Promise<void>;
}

/** When the journal is compacted: more than this many records beyond the live tasks… */
const COMPACT_SLACK = 256;
/** …and more than this many records per live task. */
const COMPACT_FACTOR = 8;

/** When {@link JournalStoreHandle} compacts its journal (the defaults suit real use; tests lower them). */
export interface JournalCompaction {
  /** Records beyond the live tasks before a compaction. Default 256. */
  readonly slack?: number;
  /** Records per live task before a compaction. Default 8. */
  readonly factor?: number;
}

/**
 * A session store handle over an append-only journal. Writes that arrive while an append is
 * in flight are grouped into the next append (one fsync for all of them). A journal found torn
 * or damaged at open is rewritten at once from what it soundly holds, and the journal is
 * compacted (atomic replace) when it grows well past the live tasks, so its size and the cost
 * of a checkpoint stay bounded (S10).
 */
export class JournalStoreHandle implements SessionStoreHandle {
  private readonly live = new Map<string, TaskRecord>();
  private records: number;
  private batch: TaskChange[] = [];
  private next: Promise<void> | undefined;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  /**
   * An append failed: the journal's end is unknown (a torn record, which the next append would
   * join and spoil, or whole ones of changes reported as failed, which the next open would replay,
   * if the file could not take them back). The next write, or else `close()`, rewrites it whole.
   */
  private unsound = false;

  /**
   * Reads and recovers the journal, then returns a handle on it. A journal holding records of a
   * newer version is refused, left as it is (a recovery would rewrite it without them).
   */
  static async open(file: JournalFile, release: () => Promise<void>, compaction: JournalCompaction = {}): Promise<JournalStoreHandle> {
    const decoded = decodeJournal(await file.read());
    if (decoded.newer > 0) throw new Error(`the session's journal holds ${decoded.newer} record(s) written by a newer version of rxtransfer: open the session with that version (the journal was left as it is)`);
    const handle = new JournalStoreHandle(file, release, decoded.tasks, decoded.records, compaction.slack ?? COMPACT_SLACK, compaction.factor ?? COMPACT_FACTOR);
    if (decoded.torn || decoded.damaged > 0) await handle.compact();
    return handle;
  }

  private constructor(
    private readonly file: JournalFile,
    private readonly release: () => Promise<void>,
    tasks: readonly TaskRecord[],
    records: number,
    private readonly compactSlack: number,
    private readonly compactFactor: number,
  ) {
    for (const task of tasks) this.live.set(task.id, task);
    this.records = records;
  }

  get tasks(): readonly TaskRecord[] {
    return [...this.live.values()].sort((a, b) => a.seq - b.seq);
  }

  write(changes: readonly TaskChange[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the session store is closed'));
    if (changes.length === 0) return this.tail;
    this.batch.push(...changes);
    if (!this.next) {
      const next = this.tail.then(() => this.flush());
      this.next = next;
      this.tail = next.catch(() => undefined);
    }
    return this.next;
  }

  /**
   * Waits for the pending writes, then releases the journal. After a failed append not repaired
   * since, it first rewrites the journal whole, so that the next open replays no change reported
   * as failed; if that fails too, the journal is released all the same and `close()` rejects with
   * the failure (the next open may then find some of those changes, if the file could not take
   * them back either).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    try {
      if (this.unsound) {
        await this.compact();
        this.unsound = false;
      }
    } finally {
      await this.release();
    }
  }

  private async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    this.next = undefined;
    // Encoded before anything changes: a change that cannot be encoded fails the batch, undone.
    const text = batch.map(encodeChange).join('');
    // What the changes replace, put back if they cannot be written: a failed write is undone,
    // never made durable later by a compaction.
    const before = new Map<string, TaskRecord | undefined>();
    for (const change of batch) {
      const id = change.type === 'put' ? change.task.id : change.id;
      if (!before.has(id)) before.set(id, this.live.get(id));
      if (change.type === 'put') this.live.set(id, change.task);
      else this.live.delete(id);
    }
    try {
      if (this.unsound) {
        await this.compact();
        this.unsound = false;
        return;
      }
      await this.file.append(text);
    } catch (error) {
      if (!this.unsound) this.unsound = true;
      for (const [id, task] of before) {
        if (task) this.live.set(id, task);
        else this.live.delete(id);
      }
      throw error;
    }
    this.records += batch.length;
    // The changes are durable: a failed compaction leaves the journal as it was, tried again later.
    if (this.records > this.compactSlack + this.live.size && this.records > this.compactFactor * this.live.size) await this.compact().catch(() => undefined);
  }

  private async compact(): Promise<void> {
    await this.file.replace(encodeSnapshot(this.tasks));
    this.records = this.live.size;
  }
}
