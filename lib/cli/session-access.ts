/**
 * How the `rxtransfer session` commands reach a session, on the public API only.
 *
 * - As the **owner** (`run`): `TransferSession.open`, which takes the session's lock (S8) and
 *   runs its queued tasks.
 * - As an **administrator** (`add`, `cancel`): also the owner, so the lock still guarantees one
 *   writer, but over a platform whose transfers never start: opening a session starts its queued
 *   tasks, and `add` must return once the task is persisted, without touching the network. The
 *   tasks stay queued (a running task is never stored as running) for the next `run`.
 * - As a **reader** (`list`, `watch`): no lock at all. The journal is append-only with
 *   checksummed whole-line records and compacted by an atomic rename, so reading it while its
 *   owner writes gives a consistent snapshot (a torn last line is skipped). Live bytes come from
 *   the `<to>.partial` files the running downloads grow.
 */
import { dirname, join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Observable } from 'rxjs';
import {
  createSessionApi,
  isSessionLockedError,
  JournalStoreHandle,
  TransferSession,
  type DownloadFunction,
  type SessionOptions,
  type TaskRecord,
  type TaskState,
  type UploadFunction,
} from '../index.node.js';
import { defaultSessionDirectory, nodeJournalFile, nodeSessionPlatform, PARTIAL_SUFFIX, PARTIAL_LOCK_SUFFIX, existingSessionDirectory, liveLockOwner } from '../node/index.js';
import { CliError } from './exit-codes.js';
import { printable } from './format.js';
import { redactUrl } from '../internal/core/redact.js';

/** Exit code when another process owns the session (a `run` holds its lock). */
export const SESSION_LOCKED_EXIT = 7;

/** Where a session lives on disk. */
export interface SessionPaths {
  /** The sessions directory (`--dir`, else the library's default). */
  readonly root: string;
  /** This session's own directory. */
  readonly dir: string;
  readonly journal: string;
  readonly lock: string;
}

/**
 * The session's paths, once they can be directories: a file at the sessions directory, at one of
 * the directories above it, or at the session's own directory is a usage error (exit 2) naming
 * it, not the `ENOTDIR` or `EEXIST` of the first `mkdir`, nor "no session" for `list`.
 */
export async function sessionPaths(id: string, dir: string | undefined): Promise<SessionPaths> {
  const root = dir ?? defaultSessionDirectory();
  const named = `${dir !== undefined ? '--dir ' : 'the sessions directory '}${root}`;
  const blocker = await fileInPath(root);
  if (blocker === resolve(root)) throw new CliError('usage', `${named} is not a directory`);
  if (blocker !== undefined) throw new CliError('usage', `${named} cannot be a directory: ${blocker} is a file`);
  const own = await existingSessionDirectory(root, id);
  const found = await stat(own).catch(() => undefined);
  if (found && !found.isDirectory()) throw new CliError('usage', `session "${id}" cannot use its directory ${own}: a file is there (move it away, or use another --dir)`);
  return { root, dir: own, journal: join(own, 'journal.log'), lock: join(own, 'lock') };
}

/** The nearest of `path` and the directories above it that exists and is not a directory (a file), if any. */
async function fileInPath(path: string): Promise<string | undefined> {
  for (let at = resolve(path); ; at = dirname(at)) {
    const found = await stat(at).catch((error: NodeJS.ErrnoException) => error);
    if (!(found instanceof Error)) return found.isDirectory() ? undefined : at;
    // ENOENT: not there yet (created when needed); ENOTDIR: a file above it, looked for next.
    if ((found.code !== 'ENOENT' && found.code !== 'ENOTDIR') || dirname(at) === at) return undefined;
  }
}

/** Transfers that never start: they wait, touching nothing, until the session stops them. */
const inertTransfer = (_url: unknown, options?: { signal?: AbortSignal }) =>
  new Observable<never>((subscriber) => {
    const signal = options?.signal;
    if (!signal || signal.aborted) return subscriber.complete();
    const end = () => subscriber.complete();
    signal.addEventListener('abort', end, { once: true });
    return () => signal.removeEventListener('abort', end);
  });

// The inert transfers replace the platform's own download and upload, not only the functions
// under them: the platform's upload reads its source file first, and a queued upload whose file
// is missing at that moment would end as failed although nothing was to run.
const adminPlatform = nodeSessionPlatform({ download: inertTransfer as unknown as DownloadFunction, upload: inertTransfer as unknown as UploadFunction });
const adminApi = createSessionApi({
  ...adminPlatform,
  download: inertTransfer as unknown as typeof adminPlatform.download,
  upload: inertTransfer as unknown as typeof adminPlatform.upload,
});

/** Opens the session as its owner, to run its tasks. Rejects with `SessionLockedError`. */
export function openOwner(options: SessionOptions, signal?: AbortSignal): Promise<TransferSession> {
  return openWhenFree(() => TransferSession.open(options), signal);
}

/** How long a command waits for a session another command holds for moments (`add`, `cancel`). */
export const LOCK_WAIT_MS = 2_000;

/**
 * Opens with `open`, waiting while the session is locked, for at most {@link LOCK_WAIT_MS}: an
 * `add` or `cancel` holds it for a few milliseconds (several started at once by a script, or an
 * `add` then a `run`, all land). A `run` holds it until it ends: after the wait, the
 * `SessionLockedError` is thrown; at once when `signal` aborts (Ctrl-C).
 */
export async function openWhenFree(open: () => Promise<TransferSession>, signal?: AbortSignal): Promise<TransferSession> {
  const until = Date.now() + LOCK_WAIT_MS;
  for (let pause = 25; ; pause = Math.min(pause * 2, 200)) {
    try {
      return await open();
    } catch (error) {
      // Ctrl-C while waiting: no more waiting (the caller ends with the signal's code).
      if (!isSessionLockedError(error) || Date.now() + pause > until || signal?.aborted) throw error;
      // Cut short by the signal (its rejection is the abort, answered below).
      await delay(pause, undefined, { signal }).catch(() => undefined);
      if (signal?.aborted) throw error;
    }
  }
}

/** Opens the session as its owner without running anything: for adding and cancelling tasks. */
export function openAdmin(id: string, dir: string | undefined): Promise<TransferSession> {
  return openWhenFree(() => adminApi.open({ id, ...(dir !== undefined ? { directory: dir } : {}) }));
}

/** Whether the session has a directory (it was used before). */
export async function sessionExists(paths: SessionPaths): Promise<boolean> {
  try {
    return (await stat(paths.dir)).isDirectory();
  } catch {
    return false;
  }
}

/** The error for a session that was never used. */
export function noSession(id: string, paths: SessionPaths): CliError {
  return new CliError('usage', `no session "${id}" in ${paths.root}; add a task first: rxtransfer session ${id} add <url> -o FILE`);
}

/** The process holding the session's lock, while it is live (see `liveLockOwner`). */
export function lockOwner(paths: SessionPaths): Promise<LockHolder | undefined> {
  return liveLockOwner(paths.lock);
}

/** Reads the session's tasks without taking its lock and without writing anything. */
export async function readTasks(paths: SessionPaths): Promise<TaskRecord[]> {
  const file = nodeJournalFile(paths.journal);
  const readOnly = { read: () => file.read(), append: async () => undefined, replace: async () => undefined };
  const handle = await JournalStoreHandle.open(readOnly, async () => undefined);
  return [...handle.tasks];
}

/** A task as the commands show it (`list --json`, `watch --json`, `add --json`). */
export interface TaskView {
  readonly type: 'task';
  readonly id: string;
  readonly kind: 'download' | 'upload';
  readonly state: TaskState;
  /** The task's URL as messages show it: without `user:password@`, secret query values masked (`redactUrl` with `secrets`). */
  readonly url: string;
  readonly to?: string;
  readonly source?: string;
  readonly priority: number;
  /**
   * Bytes so far: the partial file's size while unfinished, the body's size once completed. An
   * unfinished upload's: its run's last checkpoint while the session's owner runs it, else 0.
   */
  readonly bytes: number;
  readonly total?: number;
  readonly percent?: number;
  readonly acked: boolean;
  readonly error?: { code: string; message: string; status?: number };
  /** A completed task's HTTP status (304: a download whose own `If-None-Match` matched). */
  readonly status?: number;
}

/** The process holding a session's lock (see {@link lockOwner}). */
export type LockHolder = { pid: number; host: string; detail?: string };

/**
 * The view of a stored task. With `live`, an unfinished download's bytes are read from its
 * partial file, and it is shown `running` when the session's owner holds the partial file's lock
 * (`<to>.partial.lock`), which a download takes before its first request and keeps until its
 * transfer ends (retries and stalls included). An upload is shown `running` from its run's first
 * progress checkpoint (written at once) while the session's owner is live.
 */
export async function viewOf(task: TaskRecord, live?: { owner: LockHolder | undefined }): Promise<TaskView> {
  let state = task.state;
  let bytes = task.state === 'completed' ? (task.result?.size ?? task.bytes ?? 0) : (task.bytes ?? 0);
  let total = task.state === 'completed' ? (task.result?.size ?? task.total) : task.total;
  if (live && (task.state === 'queued' || task.state === 'suspended') && task.kind === 'download' && task.to !== undefined) {
    const owner = live.owner;
    if (owner !== undefined && task.state === 'queued') {
      const holder = await liveLockOwner(resolve(task.to) + PARTIAL_LOCK_SUFFIX);
      if (holder !== undefined && holder.pid === owner.pid && holder.host === owner.host) state = 'running';
    }
    try {
      bytes = (await stat(task.to + PARTIAL_SUFFIX)).size;
    } catch {
      // no partial file: nothing written yet (or it was just renamed into place)
    }
  }
  // An upload keeps nothing between runs: its checkpoint counts only while the session's owner
  // runs it (a stopped run's, after a kill or a Ctrl-C, is no progress: it is sent again from zero).
  // A run checkpoints its upload at its first progress, and its start and its stops store it
  // without a count: stored queued with one while the owner is live, it is running.
  if (task.kind === 'upload' && (task.state === 'suspended' || (task.state === 'queued' && live?.owner === undefined))) bytes = 0;
  else if (live && task.kind === 'upload' && task.state === 'queued' && task.bytes !== undefined) state = 'running';
  if (total !== undefined && bytes > total) total = undefined; // a stale total (the file changed)
  const percent = total !== undefined && total > 0 ? Math.min(100, Math.floor((100 * bytes) / total)) : total === 0 ? 100 : undefined;
  return {
    type: 'task',
    id: task.id,
    kind: task.kind,
    state,
    url: redactUrl(task.url, { secrets: true }),
    ...(task.to !== undefined ? { to: task.to } : {}),
    ...(task.source !== undefined ? { source: task.source } : {}),
    priority: task.priority,
    bytes,
    ...(total !== undefined ? { total } : {}),
    ...(percent !== undefined ? { percent } : {}),
    acked: task.acked,
    ...(task.error ? { error: { code: task.error.code, message: printable(task.error.message), ...(task.error.status !== undefined ? { status: task.error.status } : {}) } } : {}),
    ...(task.state === 'completed' && task.result?.status !== undefined ? { status: task.result.status } : {}),
  };
}


