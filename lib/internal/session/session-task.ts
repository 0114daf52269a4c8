import type { ResponseHeaders, TransferProgress } from '../core/events.js';

/** Where a task is in its life. `running` is never stored: a running task is stored as `queued`. */
export type TaskState = 'queued' | 'running' | 'suspended' | 'completed' | 'failed' | 'cancelled';

/** The states that end a task: it is then a completion, delivered until acknowledged (S4). */
export const FINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['completed', 'failed', 'cancelled']);

/** What a finished transfer left, small enough to keep in the journal. */
export interface TaskResult {
  readonly status: number;
  readonly url: string;
  readonly headers?: ResponseHeaders;
  /** Downloads: bytes of body; uploads: bytes sent. */
  readonly size: number;
  /** Downloads with `to`: the file written. */
  readonly path?: string;
  readonly integrity?: string;
  /** Uploads (and downloads without `to`): the response body, when it is text or JSON; at most its first 65,536 characters. */
  readonly data?: unknown;
  /** `data` holds only the start of a longer response text (see `data`). */
  readonly truncated?: true;
}

/** Why a task failed, as stored: the error's name, stable code and message. */
export interface TaskFailure {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly status?: number;
}

/**
 * One upload or download task of a session, as persisted. Every state change rewrites the
 * whole record (it is small); progress is checkpointed at most every `checkpointInterval` ms.
 */
export interface TaskRecord {
  readonly id: string;
  readonly kind: 'download' | 'upload';
  readonly url: string;
  /** Downloads: the file written (through `<to>.partial`, resumed after an interruption). */
  readonly to?: string;
  /** Uploads: the file sent (a path on Node). Uploads restart from zero when interrupted. */
  readonly source?: string;
  /**
   * Uploads on Node: the file's size and modification time (ms, `fs.Stats.mtimeMs`) when the task
   * was added. Each run checks them first: a file changed since fails the task with a
   * `SourceChangedError`. Absent when the file could not be read then, and in records stored
   * before they were recorded: such a task sends the file as it is when it runs.
   */
  readonly sourceSize?: number;
  readonly sourceMtime?: number;
  readonly method?: string;
  /** Request headers stored with the task. Credentials from challenges are never stored. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Names of `headers` dropped by a redirect that leaves the URL's origin (`sensitiveHeaders`), lower-cased; absent when none. */
  readonly sensitiveHeaders?: readonly string[];
  readonly integrity?: string;
  /** Downloads: `false` when the finished file must not replace one at `to` (absent: it may). */
  readonly overwrite?: false;
  /** Higher runs first; default 0. */
  readonly priority: number;
  /** Creation order in the session: older runs first among equal priorities. */
  readonly seq: number;
  readonly createdAt: number;
  readonly state: TaskState;
  /** True once the app acknowledged the completion: it is never delivered again (S4). */
  readonly acked: boolean;
  /** Last checkpoint of the bytes moved, and the expected total when known. */
  readonly bytes?: number;
  readonly total?: number;
  readonly result?: TaskResult;
  readonly error?: TaskFailure;
}

/** A finished task waiting for the app: delivered on every reconnect until {@link TaskCompletion.ack}. */
export interface TaskCompletion {
  readonly taskId: string;
  /** How the task ended. */
  readonly state: 'completed' | 'failed' | 'cancelled';
  /** The task as stored at its end. */
  readonly task: TaskRecord;
  /** With `completed`: what the transfer left (status, size, `path`…). */
  readonly result?: TaskResult;
  /** With `failed`: why, as stored (the error's name, `code` and message). */
  readonly error?: TaskFailure;
  /** Acknowledges this completion (persisted before it resolves). */
  ack(): Promise<void>;
}

/** What `events$` emits: every task's events, each tagged with the task's id. */
export type SessionEvent =
  | (TransferProgress & { readonly taskId: string })
  | { readonly type: 'state'; readonly taskId: string; readonly state: TaskState }
  | { readonly type: 'done'; readonly taskId: string; readonly result: TaskResult }
  | { readonly type: 'error'; readonly taskId: string; readonly error: TaskFailure };

/** Whether a task is finished (its completion is pending or acknowledged). */
export function isFinal(task: TaskRecord): boolean {
  return FINAL_STATES.has(task.state);
}
