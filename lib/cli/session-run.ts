/**
 * `rxtransfer session <id> run`: opens the session as its owner, runs its queued tasks within
 * the limits, reports and acknowledges every completion, and exits once the queue is drained.
 */
import { firstValueFrom, race, map, filter, type Subscription } from 'rxjs';
import { isSessionLockedError, type SessionEvent, type TaskCompletion, type TimeoutOptions, type TransferSession } from '../index.node.js';
import { CliError, ExitCode, exitCodeForErrorCode } from './exit-codes.js';
import { listenForInterrupt, outputFailure } from './interrupt.js';
import { jsonError, jsonProgress, outputMode, printError, writeJsonLine, type CliStreams, type OutputMode } from './output.js';
import { noSession, openOwner, sessionExists, sessionPaths } from './session-access.js';
import { lockedError, type SessionCommonFlags } from './session-errors.js';
import { keptFile, notModifiedText, sizeAndRate, TaskBars, taskLabel } from './session-display.js';
import { printableHeaders } from './get-command.js';
import { printable } from './format.js';
import { redactUrl } from '../internal/core/redact.js';

/** The options of `run`, as commander parses them. */
export interface SessionRunFlags extends SessionCommonFlags {
  maxConcurrent?: number;
  maxPerHost?: number;
  retry?: number;
  timeout?: number;
  idleTimeout?: number;
  connectTimeout?: number;
  quiet?: boolean;
}

/** Runs `run`; resolves with the exit code. */
export async function runSessionRun(id: string, flags: SessionRunFlags, streams: CliStreams): Promise<number> {
  const mode = outputMode(flags, streams);
  const paths = await sessionPaths(id, flags.dir);
  if (!(await sessionExists(paths))) throw noSession(id, paths);
  const timeout: TimeoutOptions = {};
  if (flags.timeout !== undefined) timeout.total = flags.timeout;
  if (flags.idleTimeout !== undefined) timeout.idle = flags.idleTimeout;
  if (flags.connectTimeout !== undefined) timeout.connect = flags.connectTimeout;

  const interrupt = listenForInterrupt(streams.stdout);
  let session: TransferSession;
  try {
    session = await openOwner({
      id,
      ...(flags.dir !== undefined ? { directory: flags.dir } : {}),
      ...(flags.maxConcurrent !== undefined ? { maxConcurrent: flags.maxConcurrent } : {}),
      ...(flags.maxPerHost !== undefined ? { maxPerHost: flags.maxPerHost } : {}),
      ...(flags.retry !== undefined ? { retry: flags.retry } : {}),
      ...(Object.keys(timeout).length > 0 ? { timeout } : {}),
    }, interrupt.signal);
  } catch (error) {
    interrupt.dispose();
    // Ctrl-C (or SIGTERM) while waiting for a lock an add holds for moments: the signal's code, not 7.
    if (isSessionLockedError(error) && interrupt.received) {
      const message = `interrupted while waiting for session "${id}" (locked by ${error.ownerPid === undefined ? 'another process' : `process ${error.ownerPid}`}); nothing was run`;
      if (mode === 'json') writeJsonLine(streams, { type: 'error', code: 'cancelled', message });
      printError(streams, new Error(message));
      return interrupt.exitCode;
    }
    if (isSessionLockedError(error)) throw lockedError(id, error.ownerPid, 'run', error.detail);
    throw error;
  }

  const report = new RunReport(mode, streams, session);
  const subs: Subscription[] = [];
  try {
    subs.push(session.events$.subscribe((event) => report.event(event)));
    let earlier = true;
    subs.push(session.completions$.subscribe((completion) => report.completion(completion, earlier)));
    earlier = false;
    const work = session.tasks().some((t) => t.state === 'queued');
    if (work) {
      const aborted = new Promise<'interrupted'>((resolve) => {
        if (interrupt.signal.aborted) resolve('interrupted');
        interrupt.signal.addEventListener('abort', () => resolve('interrupted'), { once: true });
      });
      const ended = await Promise.race([
        firstValueFrom(race(session.finished$.pipe(map(() => 'drained' as const)), session.invalidated$.pipe(filter((i) => i.reason === 'store-failed'), map(() => 'store-failed' as const))), { defaultValue: 'store-failed' as const }),
        aborted,
      ]);
      if (ended === 'interrupted') {
        report.interrupted(outputFailure(interrupt));
        await session.close();
        return interrupt.exitCode;
      }
      if (ended === 'store-failed') {
        const why = await firstValueFrom(session.invalidated$, { defaultValue: undefined });
        const failure = new CliError('io', `session "${id}" could not be written${why?.error instanceof Error ? `: ${why.error.message}` : ''}`);
        // With --json, every task shown gets its one end, and the failure is an error object too.
        report.abandoned('the session could not be written');
        report.stop();
        if (mode === 'json') writeJsonLine(streams, jsonError(failure));
        printError(streams, failure, 'run it again: unfinished tasks continue');
        await session.close();
        return ExitCode.failure;
      }
    }
    await report.acknowledged();
    await session.close();
    report.summary(id, work);
    return report.exitCode;
  } finally {
    for (const sub of subs) sub.unsubscribe();
    report.stop();
    interrupt.dispose();
    await session.close().catch(() => undefined);
  }
}

/** Prints what a run does, counts its outcomes and acknowledges what it reported. */
class RunReport {
  private readonly bars: TaskBars;
  private readonly started = new Map<string, number>();
  private readonly acks: Promise<void>[] = [];
  private readonly counts = { completed: 0, failed: 0, cancelled: 0 };
  private firstFailure: number | undefined;
  /** With --json: tasks whose transfer lines began (progress) and have not ended (done/error). */
  private readonly open = new Set<string>();
  /** With --json: tasks ended here (the run stopped under them): nothing more is printed for them. */
  private readonly abandonedIds = new Set<string>();

  constructor(
    private readonly mode: OutputMode,
    private readonly streams: CliStreams,
    private readonly session: TransferSession,
  ) {
    this.bars = new TaskBars(mode, streams);
  }

  get exitCode(): number {
    return this.firstFailure ?? ExitCode.ok;
  }

  /** One event of `events$`: a line with `--json`, a bar on a terminal, a line when a task starts otherwise. */
  event(event: SessionEvent): void {
    const task = this.session.task(event.taskId);
    const label = task ? taskLabel(task) : event.taskId;
    if (this.mode === 'json') {
      if (this.abandonedIds.has(event.taskId)) return;
      if (event.type === 'progress') this.open.add(event.taskId);
      else if (event.type === 'done' || event.type === 'error') this.open.delete(event.taskId);
      if (event.type === 'progress') {
        const p = jsonProgress(event);
        writeJsonLine(this.streams, { type: p['type'], taskId: event.taskId, ...p });
      } else if (event.type === 'state') writeJsonLine(this.streams, { type: 'state', taskId: event.taskId, state: event.state });
      else if (event.type === 'done') writeJsonLine(this.streams, { type: 'done', taskId: event.taskId, result: jsonResult(event.result) });
      else writeJsonLine(this.streams, { type: 'error', taskId: event.taskId, ...jsonFailure(event.error) });
      return;
    }
    if (event.type === 'state' && event.state === 'running') {
      if (!this.started.has(event.taskId)) this.started.set(event.taskId, Date.now());
      if (this.mode === 'bar') this.bars.update(event.taskId, label, undefined);
      else if (this.mode === 'plain' && task) {
        // A line for people (and CI logs), as the library's messages: a presigned URL's signature or an access_token masked, as its failure line masks them.
        const url = redactUrl(task.url, { secrets: true });
        this.streams.stderr.write(`${printable(`[${event.taskId}] ${task.kind === 'download' ? `downloading ${url} to ${label}` : `uploading ${label} to ${url}`}`)}\n`);
      }
    } else if (event.type === 'progress' && this.mode === 'bar' && task && event.direction === task.kind) {
      this.bars.update(event.taskId, label, event);
    }
  }

  /** A completion (`earlier`: it finished before this run): reported, counted and acknowledged. */
  completion(c: TaskCompletion, earlier: boolean): void {
    this.counts[c.state]++;
    if (c.state === 'failed' && this.firstFailure === undefined) this.firstFailure = exitCodeForErrorCode(c.error?.code ?? 'failure');
    const label = taskLabel(c.task);
    const started = this.started.get(c.taskId);
    const seconds = started === undefined ? undefined : (Date.now() - started) / 1000;
    const when = earlier ? ' (earlier)' : '';
    let line: string;
    if (c.state === 'completed') {
      const size = c.result?.size ?? 0;
      // A 304 (the task's own If-None-Match) saved nothing: the file, if any, is kept as it is.
      if (c.task.kind === 'download' && c.result?.status === 304) line = `[${c.taskId}] ${notModifiedText(keptFile(c.task.to))}${when}`;
      else line = `[${c.taskId}] ${c.task.kind === 'download' ? `saved ${label}` : `sent ${label}: HTTP ${c.result?.status ?? '?'}`} (${sizeAndRate(size, seconds)})${when}`;
    } else if (c.state === 'failed') {
      line = `[${c.taskId}] failed${when}: ${c.error?.message ?? 'unknown error'}`;
    } else {
      line = `[${c.taskId}] cancelled${when}`;
    }
    // Task ids, file names and server messages are other people's text: no escape codes on stderr.
    line = printable(line);
    if (this.mode === 'json') {
      if (earlier) {
        if (c.state === 'completed' && c.result) writeJsonLine(this.streams, { type: 'done', taskId: c.taskId, result: jsonResult(c.result) });
        else if (c.state === 'failed' && c.error) writeJsonLine(this.streams, { type: 'error', taskId: c.taskId, ...jsonFailure(c.error) });
        else writeJsonLine(this.streams, { type: 'state', taskId: c.taskId, state: c.state });
      }
      if (c.state === 'failed') this.streams.stderr.write(`rxtransfer: ${line}\n`);
    } else if (this.mode === 'quiet') {
      if (c.state === 'failed') this.streams.stderr.write(`rxtransfer: ${line}\n`);
    } else {
      this.bars.finish(c.taskId, c.state === 'failed' ? `rxtransfer: ${line}` : line);
    }
    this.acks.push(c.ack().catch(() => undefined));
  }

  /** Ctrl-C: the running tasks stop, stay queued, and keep their partial files. */
  /** The run was stopped: by a signal, or by `outputLost` (stdout could not be written). */
  interrupted(outputLost?: string): void {
    const running = this.session.tasks().filter((t) => t.state === 'running');
    this.bars.stop();
    if (this.mode === 'json') {
      for (const task of running) {
        writeJsonLine(this.streams, { type: 'error', taskId: task.id, code: 'cancelled', message: `interrupted: the task stays queued${leftBehind(task.kind)}` });
      }
    }
    const left = this.session.tasks().filter((t) => t.state === 'queued' || t.state === 'running');
    const why = outputLost === undefined ? 'interrupted' : `${outputLost}; the run was stopped`;
    // An upload keeps nothing: it is sent again from the start.
    const kept = left.some((t) => t.kind === 'download') ? ' (partial files kept)' : '';
    printError(this.streams, new Error(`${why}: ${left.length} task${left.length === 1 ? '' : 's'} left in session "${this.session.id}"${kept}`), `run \`rxtransfer session ${this.session.id} run\` again to resume`);
  }

  /**
   * The run stops under its tasks (the session could not be written): with --json, each task
   * whose transfer lines began gets its one end, a `cancelled` error (the task stays queued).
   */
  abandoned(message: string): void {
    if (this.mode !== 'json') return;
    for (const taskId of this.open) {
      this.abandonedIds.add(taskId);
      writeJsonLine(this.streams, { type: 'error', taskId, code: 'cancelled', message: `${message}: the task stays queued${leftBehind(this.session.task(taskId)?.kind)}` });
    }
    this.open.clear();
  }

  /** Resolves once every reported completion is acknowledged. */
  async acknowledged(): Promise<void> {
    await Promise.all(this.acks);
  }

  summary(id: string, work: boolean): void {
    this.bars.stop();
    if (this.mode === 'json' || this.mode === 'quiet') return;
    const { completed, failed, cancelled } = this.counts;
    if (!work && completed + failed + cancelled === 0) {
      this.streams.stderr.write(`session "${id}": nothing to run\n`);
      return;
    }
    const suspended = this.session.tasks().filter((t) => t.state === 'suspended').length;
    const parts = [`${completed} completed`, `${failed} failed`];
    if (cancelled > 0) parts.push(`${cancelled} cancelled`);
    if (suspended > 0) parts.push(`${suspended} suspended`);
    this.streams.stderr.write(`session "${id}": ${parts.join(', ')}\n`);
  }

  stop(): void {
    this.bars.stop();
  }
}

/** A task's result as printed: no in-memory data for downloads, no `set-cookie`. */
function jsonResult(result: { status: number; url: string; size: number; path?: string; integrity?: string; headers?: Readonly<Record<string, string>>; data?: unknown }): Record<string, unknown> {
  return {
    url: redactUrl(result.url, { secrets: true }),
    status: result.status,
    ...(result.headers ? { headers: printableHeaders(result.headers) } : {}),
    size: result.size,
    ...(result.path !== undefined ? { path: result.path } : {}),
    ...(result.integrity !== undefined ? { integrity: result.integrity } : {}),
    ...(result.data !== undefined ? { data: result.data } : {}),
  };
}

function jsonFailure(error: { code: string; message: string; status?: number }): Record<string, unknown> {
  return { code: error.code, message: error.message, ...(error.status !== undefined ? { status: error.status } : {}) };
}

/** What a task stopped in its run leaves: a download its partial file; an upload, nothing. */
function leftBehind(kind: 'download' | 'upload' | undefined): string {
  return kind === 'upload' ? '; run again to send it again from the start' : ' (its partial file kept); run again to resume';
}
