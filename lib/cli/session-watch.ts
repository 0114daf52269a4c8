/**
 * `rxtransfer session <id> watch`: follows a session that another process runs.
 *
 * The library lets one process own a session (S8: a second opener gets `SessionLockedError`)
 * and has no observer channel, so `watch` never opens the session: it polls what the owner
 * leaves on disk, read-only and without the lock — the journal (task states, results and the
 * progress checkpoints) and each download's `<to>.partial` file, whose size is the live byte
 * count. It works with any owner (`rxtransfer session … run` or an app using
 * `TransferSession`), and can never disturb it. A download counts as running while the process
 * that owns the session holds its partial file's lock (`<to>.partial.lock`), which a download
 * takes before its first request and keeps until it ends; an upload, while it is stored queued
 * with a progress checkpoint (its run writes one at its first progress) and the owner is live. It
 * acknowledges nothing: that is the owner's job.
 */
import { CliError, ExitCode, exitCodeForErrorCode } from './exit-codes.js';
import { listenForInterrupt, outputFailure } from './interrupt.js';
import { outputMode, writeJsonLine, type CliStreams } from './output.js';
import { lockOwner, noSession, readTasks, sessionExists, sessionPaths, viewOf, type TaskView } from './session-access.js';
import { progressText } from './session-actions.js';
import type { SessionCommonFlags } from './session-errors.js';
import { TaskBars, keptFile, notModifiedText, shortPath, taskLabel } from './session-display.js';
import { printable } from './format.js';
import type { TransferProgress } from '../index.node.js';

/** How often `watch` reads the session. */
export const WATCH_INTERVAL_MS = 250;

export interface SessionWatchFlags extends SessionCommonFlags {
  quiet?: boolean;
}

const UNFINISHED = new Set(['queued', 'running']);

/**
 * Runs `watch`; resolves with the exit code: 0, or the first failure's code (failures already
 * there at its first read included, unless it waits for a run: see below), 1 if the run stopped
 * early, 130 on Ctrl-C.
 */
export async function runSessionWatch(id: string, flags: SessionWatchFlags, streams: CliStreams): Promise<number> {
  const mode = outputMode(flags, streams);
  let paths = await sessionPaths(id, flags.dir);
  if (!(await sessionExists(paths))) throw noSession(id, paths);
  const interrupt = listenForInterrupt(streams.stdout);
  const bars = new TaskBars(mode, streams);
  const seen = new Map<string, TaskView>();
  let firstFailure: number | undefined;
  /** The process that runs the session: held its lock over two polls, or while tasks ran or ended. */
  let ownerSeen: number | undefined;
  /** The process that held the lock at the last poll: maybe an `add` or `cancel`, which hold it for moments. */
  let lastHolder: number | undefined;
  let waitingSaid = false;
  let polledAt = 0;
  let introduced = false;
  const rates = new Map<string, number>();
  const say = (line: string) => {
    if (mode === 'plain' || mode === 'bar') bars.log(line);
  };
  /** A task's end, as a line (failures only with -q; none with --json: its task object says it). */
  const sayEnd = (view: TaskView) => {
    const line = endLine(view);
    if (mode === 'quiet') {
      if (view.state === 'failed') streams.stderr.write(`rxtransfer: ${line}\n`);
    } else if (mode !== 'json') bars.finish(view.id, view.state === 'failed' ? `rxtransfer: ${line}` : line);
  };
  try {
    for (;;) {
      if (interrupt.signal.aborted) {
        const lost = outputFailure(interrupt);
        if (lost !== undefined) streams.stderr.write(`rxtransfer: ${lost}; stopped watching session "${printable(id)}" (its run goes on)\n`);
        return interrupt.exitCode;
      }
      // The lock first, then the journal: once the lock is gone, the journal read after it is final.
      const owner = await lockOwner(paths);
      const now = Date.now();
      const views = await Promise.all((await readTasks(paths)).map((t) => viewOf(t, { owner })));
      // A directory of 0.1.0, moved to its new name by the run's open meanwhile: read it there.
      const moved = await sessionPaths(id, flags.dir);
      if (moved.dir !== paths.dir) {
        paths = moved;
        continue;
      }
      // Deleted under it: the empty journal read is no queue drained (it would exit 0, as if done).
      if (!(await sessionExists(paths))) {
        const now = await sessionPaths(id, flags.dir);
        if (now.dir !== paths.dir) {
          paths = now; // moved from its 0.1.0 name just now
          continue;
        }
        throw new CliError('io', `session "${id}" was removed while being watched (${paths.dir} is gone)`);
      }
      if (!introduced) {
        introduced = true;
        const open = views.filter((v) => UNFINISHED.has(v.state)).length;
        say(`watching session "${printable(id)}": ${views.length} task${views.length === 1 ? '' : 's'}, ${open} unfinished${owner ? `, run by process ${owner.pid}` : ''}`);
        // Failures already there (a fast one lands before this first read): they count unless
        // watch is to wait for a run, which it then follows from its start — only the failures
        // that run reports count then, as for `run` itself: those of its tasks, and those not yet
        // acknowledged. While a run holds the session, or once no task is left to run, which
        // failures are whose cannot be told: every failed task counts (a failure is not missed).
        // The lock is read again: a run that took it after the first read may have failed a task
        // (and acknowledged it) before the journal was read.
        const waiting = owner === undefined && open > 0 && (await lockOwner(paths)) === undefined;
        for (const view of views) {
          if (view.state !== 'failed' || (waiting && view.acked)) continue;
          firstFailure ??= exitCodeForErrorCode(view.error?.code ?? 'failure');
          sayEnd(view);
        }
      }
      let ran = false;
      for (const found of views) {
        const before = seen.get(found.id);
        // Like a transfer's progress, the count never goes back while the task is unfinished (the
        // partial file renamed into place, or a restart from zero, would otherwise show less).
        const view = before && UNFINISHED.has(found.state) && found.bytes < before.bytes ? { ...found, bytes: before.bytes, ...(before.total !== undefined ? { total: before.total } : {}), ...(before.percent !== undefined ? { percent: before.percent } : {}) } : found;
        seen.set(view.id, view);
        const ended = before !== undefined && before.state !== view.state && !UNFINISHED.has(view.state);
        if (ended && view.state === 'failed' && firstFailure === undefined) firstFailure = exitCodeForErrorCode(view.error?.code ?? 'failure');
        if (view.state === 'running' || (ended && view.state !== 'cancelled')) ran = true;
        if (before && view.bytes > before.bytes && now > polledAt) {
          const rate = ((view.bytes - before.bytes) * 1000) / (now - polledAt);
          const old = rates.get(view.id);
          rates.set(view.id, old === undefined ? rate : 0.3 * rate + 0.7 * old);
        }
        if (mode === 'json') {
          if (!before || before.state !== view.state || before.bytes !== view.bytes || before.total !== view.total) writeJsonLine(streams, { ...view });
        } else if (ended) {
          sayEnd(view);
        } else if (UNFINISHED.has(view.state) && (view.state === 'running' || view.bytes > 0)) {
          // Named by its file, a download's or an upload's (taskLabel), as `run` and `list` name it.
          if (mode === 'bar') bars.update(view.id, taskLabel(view), progressOf(view, rates.get(view.id)));
          else if (mode === 'plain' && before?.state !== view.state && view.state === 'running') say(printable(`[${view.id}] running: ${progressText(view)}`));
        }
      }
      polledAt = now;
      const open = views.filter((v) => UNFINISHED.has(v.state));
      if (open.length === 0) {
        bars.stop();
        say(`session "${printable(id)}": no task left to run`);
        return firstFailure ?? ExitCode.ok;
      }
      if (owner) {
        // An `add` or `cancel` holds the lock for a few milliseconds and runs nothing: it is not
        // a run, and its going away is no run stopping.
        if (ran || owner.pid === lastHolder || owner.pid === ownerSeen) {
          ownerSeen = owner.pid;
          waitingSaid = false;
        }
        lastHolder = owner.pid;
      } else if (ownerSeen !== undefined) {
        bars.stop();
        const stopped = `the run of session "${printable(id)}" (process ${ownerSeen}) stopped with ${open.length} task${open.length === 1 ? '' : 's'} unfinished`;
        // With --json, errors are JSON objects on stdout too.
        if (mode === 'json') writeJsonLine(streams, { type: 'error', code: 'stopped', message: stopped, unfinished: open.length });
        streams.stderr.write(`rxtransfer: ${stopped}; \`rxtransfer session ${printable(id)} run\` continues them\n`);
        return ExitCode.failure;
      } else {
        lastHolder = undefined;
        if (!waitingSaid) {
          waitingSaid = true;
          say(`nobody runs session "${printable(id)}" now: waiting for \`rxtransfer session ${printable(id)} run\` (Ctrl-C to stop watching)`);
        }
      }
      await sleep(WATCH_INTERVAL_MS, interrupt.signal);
    }
  } finally {
    bars.stop();
    interrupt.dispose();
  }
}

function endLine(view: TaskView): string {
  if (view.state === 'completed') {
    if (view.kind === 'upload') return printable(`[${view.id}] sent ${taskLabel(view)}: HTTP ${view.status ?? '?'} (${progressText(view).trim()})`);
    if (view.status === 304) return printable(`[${view.id}] ${notModifiedText(keptFile(view.to))}`);
    return printable(`[${view.id}] saved ${view.to !== undefined ? shortPath(view.to) : view.url} (${progressText(view).trim()})`);
  }
  if (view.state === 'failed') return printable(`[${view.id}] failed: ${view.error?.message ?? 'unknown error'}`);
  return printable(`[${view.id}] ${view.state}`);
}

/** A progress event for the bar, from what the disk shows. */
function progressOf(view: TaskView, bytesPerSecond: number | undefined): TransferProgress {
  return {
    type: 'progress',
    direction: view.kind,
    loaded: view.bytes,
    delta: 0,
    ...(view.total !== undefined ? { total: view.total } : {}),
    ...(view.percent !== undefined ? { percent: view.percent } : {}),
    ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}),
    attempt: 1,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
