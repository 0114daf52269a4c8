/** `rxtransfer session <id> add | list | cancel`. */
import { mkdir, rmdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isSessionLockedError, type TaskRecord, type TransferSession } from '../index.node.js';
import { headersFrom, parseHttpUrl, withExplicitAuthorization } from './arguments.js';
import { CliError, ExitCode } from './exit-codes.js';
import { formatBytes, printable } from './format.js';
import { writeJsonLine, type CliStreams } from './output.js';
import { lockOwner, noSession, openAdmin, readTasks, sessionExists, sessionPaths, viewOf, type TaskView } from './session-access.js';
import { lockedError, type SessionCommonFlags } from './session-errors.js';
import { shortPath } from './session-display.js';
import { planTarget, refuseExisting, refuseSpecialFile } from './target-file.js';

/** The options of `add`. */
export interface SessionAddFlags extends SessionCommonFlags {
  output?: string;
  priority?: number;
  id?: string;
  header?: string[];
  integrity?: string;
  force?: boolean;
}

/** Opens the session to change it (nothing runs), or explains that a `run` holds it. */
async function administer<T>(id: string, dir: string | undefined, action: 'add' | 'cancel', work: (session: TransferSession) => Promise<T>): Promise<T> {
  let session: TransferSession;
  try {
    session = await openAdmin(id, dir);
  } catch (error) {
    if (isSessionLockedError(error)) throw lockedError(id, error.ownerPid, action, error.detail);
    throw error;
  }
  try {
    return await work(session);
  } finally {
    // Nothing ran: the inert transfers stop, and the tasks stay as they are stored.
    await session.close();
  }
}

/** The ids of the tasks a session holds, read without its lock (none when it does not exist). */
async function storedTaskIds(id: string, dir: string | undefined): Promise<Set<string>> {
  try {
    const paths = await sessionPaths(id, dir);
    if (!(await sessionExists(paths))) return new Set();
    return new Set((await readTasks(paths)).map((t) => t.id));
  } catch {
    return new Set();
  }
}

/** A task as stored: in an administrator's session nothing runs, so `running` means queued. */
function stored(task: TaskRecord): TaskRecord {
  return task.state === 'running' ? { ...task, state: 'queued' } : task;
}

/** `add <url>`: persists a download task and prints its id; nothing is downloaded until `run`. */
export async function runSessionAdd(id: string, rawUrl: string, flags: SessionAddFlags, streams: CliStreams): Promise<number> {
  const parsed = parseHttpUrl(rawUrl);
  const headers = headersFrom(flags.header);
  const url = withExplicitAuthorization(parsed, headers);
  const paths = await sessionPaths(id, flags.dir);
  const plan = await planTarget(url, flags.output, false, 'session add');
  // Refused before the session is opened (no session is created for it); an id that exists is
  // checked again below, where adding it changes nothing whatever is at its file.
  const known = flags.id !== undefined && (await storedTaskIds(id, flags.dir)).has(flags.id);
  // A directory, device, FIFO or socket at the name: no run could put the file there, --force or
  // not (the task would only fail), as get refuses it before any request.
  if (!known) await refuseSpecialFile(plan.path, 'session add');
  if (!flags.force && !known) await refuseExisting(plan.path);
  // The task runs later, maybe from another directory: its file's directory must exist by then.
  await mkdir(dirname(resolve(plan.path)), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new CliError('usage', `cannot create the directory of ${plan.path}: ${error.code ?? error.message}`, { cause: error });
  });
  const fresh = !(await sessionExists(paths));
  const { task, existed } = await administer(id, flags.dir, 'add', async (session) => {
    const before = flags.id !== undefined ? session.task(flags.id) : undefined;
    // Checked again under the lock: another `add` may have made (or the id not have) it meanwhile.
    if (before === undefined && !flags.force) await refuseExisting(plan.path);
    if (before === undefined) refuseSharedTarget(session, id, resolve(plan.path));
    try {
      const added = await session.download(url.href, {
        to: plan.path,
        ...(flags.id !== undefined ? { id: flags.id } : {}),
        ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
        ...(Object.keys(headers).length > 0 ? { headers } : {}),
        ...(flags.integrity !== undefined ? { integrity: flags.integrity } : {}),
        // Checked now, and again when the task runs and completes: a file that appears at the
        // name meanwhile is not replaced either, unless --force.
        ...(flags.force ? {} : { overwrite: false }),
      });
      return { task: stored(added), existed: before !== undefined };
    } catch (error) {
      if (error instanceof TypeError) throw new CliError('usage', error.message);
      throw error;
    }
  }).catch(async (error: unknown) => {
    // Opening made the session's directory: a first `add` that fails leaves no session behind.
    if (fresh) await removeIfEmpty(paths.dir);
    throw error;
  });
  if (flags.json) writeJsonLine(streams, { ...(await viewOf(task)) });
  else streams.stdout.write(`${task.id}\n`);
  if (existed && !flags.json) streams.stderr.write(`rxtransfer: task "${printable(task.id)}" was already in session "${printable(id)}" (${task.state}); nothing added\n`);
  return ExitCode.ok;
}

/**
 * Refuses a second unfinished task writing the same file: the two would take turns at one
 * `<to>.partial`, and the one that runs second fails (`invalid`) while the other holds it.
 */
function refuseSharedTarget(session: TransferSession, id: string, to: string): void {
  const other = session.tasks().find((t) => t.kind === 'download' && t.to === to && !['completed', 'failed', 'cancelled'].includes(t.state));
  if (other) throw new CliError('usage', `task "${printable(other.id)}" of session "${printable(id)}" already downloads to ${to} (${stored(other).state}); cancel it first, or choose another file`);
}

/** Removes a directory if nothing is in it (another command may have just begun using it). */
async function removeIfEmpty(dir: string): Promise<void> {
  await rmdir(dir).catch(() => undefined);
}

/** `list`: every task, read without taking the lock (works while a `run` holds it). */
export async function runSessionList(id: string, flags: SessionCommonFlags, streams: CliStreams): Promise<number> {
  const paths = await sessionPaths(id, flags.dir);
  if (!(await sessionExists(paths))) throw noSession(id, paths);
  const owner = await lockOwner(paths);
  const views = await Promise.all((await readTasks(paths)).map((t) => viewOf(t, { owner })));
  if (flags.json) {
    for (const view of views) writeJsonLine(streams, { ...view });
    return ExitCode.ok;
  }
  streams.stdout.write(`session "${printable(id)}": ${views.length} task${views.length === 1 ? '' : 's'}${owner ? `, running in process ${owner.pid}${owner.detail === undefined ? '' : ` (${printable(owner.detail)})`}` : ''}\n`);
  if (views.length === 0) return ExitCode.ok;
  const rows = views.map((v) => [printable(v.id), v.state, progressText(v), target(v)]);
  const header = ['ID', 'STATE', 'PROGRESS', 'FILE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) streams.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
  for (const v of views) if (v.error) streams.stdout.write(`  ${printable(v.id)}: ${v.error.message}\n`);
  return ExitCode.ok;
}

/** `cancel <task>`: the task ends as cancelled and its partial file is removed. */
export async function runSessionCancel(id: string, taskId: string, flags: SessionCommonFlags, streams: CliStreams): Promise<number> {
  const paths = await sessionPaths(id, flags.dir);
  if (!(await sessionExists(paths))) throw noSession(id, paths);
  const outcome = await administer(id, flags.dir, 'cancel', async (session) => {
    const task = session.task(taskId);
    if (!task) throw new CliError('usage', `session "${id}" has no task "${taskId}" (see rxtransfer session ${id} list)`);
    const cancelled = await session.cancel(taskId);
    return { cancelled, task: stored(session.task(taskId) ?? task) };
  });
  if (flags.json) writeJsonLine(streams, { ...(await viewOf(outcome.task)) });
  else if (outcome.cancelled) streams.stderr.write(`cancelled task "${printable(taskId)}" of session "${printable(id)}"\n`);
  else streams.stderr.write(`task "${printable(taskId)}" had already ended (${outcome.task.state}); nothing to cancel\n`);
  return ExitCode.ok;
}

/** `42% 1.2 MiB/2.9 MiB`, or the bytes alone when the total is unknown. */
export function progressText(v: TaskView): string {
  if (v.total === undefined) return v.bytes > 0 ? formatBytes(v.bytes) : '-';
  return `${String(v.percent ?? 0).padStart(3)}% ${formatBytes(v.bytes)}/${formatBytes(v.total)}`;
}

function target(v: TaskView): string {
  // The view's URL is masked already, as in the library's messages (a presigned URL's signature, an access_token).
  return printable(v.kind === 'download' ? (v.to !== undefined ? shortPath(v.to) : v.url) : `${v.source !== undefined ? shortPath(v.source) : '?'} → ${v.url}`);
}
