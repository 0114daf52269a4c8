import type { SchedulerLike } from 'rxjs';
import type { DownloadOptions, TimeoutOptions, UploadOptions } from '../core/options.js';
import type { RetryPolicy } from '../core/retry.js';
import type { DownloadResult, Transfer, UploadResult } from '../core/events.js';
import type { SessionStore } from './session-store.js';
import type { TaskRecord } from './session-task.js';
import type { ChallengeHandler } from './challenge-gate.js';

/** Options of `TransferSession.open`. */
export interface SessionOptions {
  /** The session's identifier: opening it again, here or in a new process, reconnects (S1). */
  id: string;
  /** Where tasks are kept (S9). Default: files on Node (under `directory`), IndexedDB in the browser. */
  store?: SessionStore;
  /** Node's default file store: the directory holding sessions. Default `$RXTRANSFER_HOME/sessions`, else `~/.rxtransfer/sessions`. */
  directory?: string;
  /** Tasks running at once. Default 4. */
  maxConcurrent?: number;
  /** Tasks running at once against one host (`host:port`). Default 2. */
  maxPerHost?: number;
  /** Retries of each transfer. Default `{ count: 5 }` (network errors, 408, 429, 500, 502, 503, 504, Retry-After honoured). */
  retry?: number | RetryPolicy;
  /** Answers 401/407 challenges (S7). Without it, a challenged task fails. */
  onChallenge?: ChallengeHandler;
  /** Timeouts of each transfer. Default: the transfer defaults (connect 30 s, idle 60 s). */
  timeout?: number | TimeoutOptions;
  /** Least ms between two progress events of a task on `events$`. Default 100. */
  progressInterval?: number;
  /** Least ms between two progress checkpoints of a task in the store (S10). Default 2000. */
  checkpointInterval?: number;
  /** The clock for checkpoints and the transfers' timers. Default `asyncScheduler`. */
  timer?: SchedulerLike;
}

/** Options of `session.download`. */
export interface SessionDownloadOptions {
  /** The file to write (required on Node). Continued from `<to>.partial` after an interruption. */
  to?: string;
  /** The task's id: adding a task whose id exists returns the existing task (no duplicate). Default random. */
  id?: string;
  /** Higher runs first. Default 0. */
  priority?: number;
  /** Request headers, stored with the task (in plain text: see docs/sessions.md, Stores). */
  headers?: Record<string, string>;
  /**
   * Names of headers of `headers` that are credentials (an API key such as `X-Api-Key`): like
   * `Authorization` and `Cookie`, dropped once a redirect leaves the task URL's origin (G11), as
   * `download()`'s option of that name. Stored with the task. Default none.
   */
  sensitiveHeaders?: readonly string[];
  /** Default GET. */
  method?: string;
  /** Expected digest, `sha256-<base64>`, checked before the task completes. */
  integrity?: string;
  /**
   * Whether the finished file may replace a file at `to` when the task completes (default true,
   * as `download()`). With false, a file found there when the task runs or completes (one that
   * appeared after the task was added) makes the task fail with `code: 'invalid'` and is kept.
   */
  overwrite?: boolean;
}

/** Options of `session.upload`. */
export interface SessionUploadOptions {
  /** The task's id: adding a task whose id exists returns the existing task (no duplicate). Default random. */
  id?: string;
  /** Higher runs first. Default 0. */
  priority?: number;
  /** Request headers, stored with the task (in plain text: see docs/sessions.md, Stores). */
  headers?: Record<string, string>;
  /**
   * Names of headers of `headers` that are credentials (an API key such as `X-Api-Key`): like
   * `Authorization` and `Cookie`, dropped once a redirect leaves the task URL's origin (G11), as
   * `download()`'s option of that name. Stored with the task. Default none.
   */
  sensitiveHeaders?: readonly string[];
  /** Default POST. */
  method?: string;
}

/** Why a session became invalid (NSURLSession's DidBecomeInvalidWithError). */
export interface SessionInvalidation {
  /** `invalidated`: `invalidate()` was called; `store-failed`: the store could not be written. */
  readonly reason: 'invalidated' | 'store-failed';
  /** True when the unfinished tasks were cancelled. */
  readonly cancelledTasks: boolean;
  readonly error?: unknown;
}

/**
 * What a platform gives sessions: the transfer functions, its default store, and clean-up of a
 * cancelled task's partial data. The session core imports no fs, DOM or axios.
 */
export interface SessionPlatform {
  readonly name: string;
  download(url: string, options: DownloadOptions): Transfer<DownloadResult<unknown>>;
  /** `task`: the upload task this run is for, as stored (its `sourceSize` and `sourceMtime` recorded by `prepare`). */
  upload(url: string, source: string, options: UploadOptions, task?: TaskRecord): Transfer<UploadResult<unknown>>;
  defaultStore(options: { directory?: string }): SessionStore;
  /** Says what is wrong with a new task for this platform (e.g. a missing `to`), or undefined. */
  validate?(task: TaskRecord): string | undefined;
  /**
   * Completes a new task for this platform before it is stored: makes `to` an absolute path,
   * records an upload's file size and modification time (checked when it runs), etc.
   */
  prepare?(task: TaskRecord): TaskRecord;
  /** Removes what a cancelled or forgotten failed task left behind (a partial file), unless another transfer now owns it. */
  discard?(task: TaskRecord): Promise<void>;
  /**
   * Called once the end of a download that publishes with `owner` is recorded, whatever it was
   * (and at open, for such ends not yet acknowledged): what the platform kept for a run killed
   * before that record (see `FileSinkOptions.owner`) can go.
   */
  published?(task: TaskRecord, owner: string): Promise<void>;
}

export const SESSION_DEFAULTS = {
  maxConcurrent: 4,
  maxPerHost: 2,
  retry: { count: 5 } as RetryPolicy,
  progressInterval: 100,
  checkpointInterval: 2000,
};

/** Half of a UTF-16 surrogate pair without its other half: no text, and no file name can hold it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Checks an identifier: non-empty, at most 200 characters, no control characters, no lone surrogate, not `.` or `..`. */
export function checkSessionId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > 200) return 'id must be a string of 1 to 200 characters';
  // Shown escaped, as task ids are: a newline or an escape sequence in a message prints as what it is.
  if ([...id].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f) || id === '.' || id === '..') return `id ${escapedId(id)} is not a valid session identifier`;
  if (id.search(LONE_SURROGATE) >= 0) return `id ${escapedId(id)} is not a valid session identifier: it holds half of a surrogate pair`;
  return undefined;
}

/** What a task id may hold, as error messages say it. */
export const TASK_ID_RULE = 'a task id is a string of 1 to 200 characters, without control characters (U+0000 to U+001F, U+007F to U+009F) or half of a surrogate pair';

/**
 * Checks a task id, as {@link checkSessionId} checks a session's: the CLI prints a new task's id
 * as it is, for a script to capture, and shows it in `list`, one task per line. C1 controls are
 * refused too (a terminal may act on them). Ids stored before this check still load (see
 * `SessionCore`: a task's stored id is always accepted by the calls that name a task).
 */
export function checkTaskId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > 200) return `invalid task id${typeof id === 'string' ? ` of ${id.length} characters` : `: ${typeof id}`}; ${TASK_ID_RULE}`;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f]/.test(id) || id.search(LONE_SURROGATE) >= 0) return `invalid task id ${escapedId(id)}; ${TASK_ID_RULE}`;
  return undefined;
}

/** The start of an id, quoted, its control characters and lone surrogates written as `\uXXXX`. */
function escapedId(id: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const shown = id.slice(0, 40).replace(/[\u0000-\u001f\u007f-\u009f"\\]/g, hex).replace(LONE_SURROGATE, hex);
  return `"${shown}"${id.length > 40 ? '…' : ''}`;
}

function hex(ch: string): string {
  return ch === '"' || ch === '\\' ? `\\${ch}` : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
