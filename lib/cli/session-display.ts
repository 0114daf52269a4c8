/**
 * What `rxtransfer session … run` and `watch` show: several progress bars at once on a terminal
 * (cli-progress's MultiBar, one bar per running task), plain lines otherwise, or `--json` lines.
 */
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { TaskRecord, TransferProgress } from '../index.node.js';
import { formatBytes, formatRate, printable } from './format.js';
import type { CliStreams, OutputMode } from './output.js';
import { barOptions, formatProgressLine, RESTORE_TERMINAL, type Payload } from './progress-bar.js';


/** A short name for a task: its file (relative to the current directory when below it). */
export function taskLabel(task: Pick<TaskRecord, 'id' | 'kind' | 'to' | 'source'>): string {
  const file = task.kind === 'download' ? task.to : task.source;
  return printable(file !== undefined ? shortPath(file) : task.id);
}

/**
 * The file a download that got a 304 (the caller's own `If-None-Match`) kept as it is: `to`, when
 * a file is there (none when the validator was for a copy since removed).
 */
export function keptFile(to: string | undefined): string | undefined {
  return to !== undefined && existsSync(to) ? to : undefined;
}

/** What a 304 did, `kept` from {@link keptFile}: `rxtransfer get`, `session run` and `watch` say it alike. */
export function notModifiedText(kept: string | undefined): string {
  return kept !== undefined ? `not modified (304): ${printable(shortPath(kept))} kept as it is` : 'not modified (304): nothing downloaded';
}

/** A path relative to the current directory when it is below it, for messages. */
export function shortPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel && !rel.startsWith('..') ? rel : resolve(path);
}

/** `64.0 KiB in 0.3 s, 213.3 KiB/s`. */
export function sizeAndRate(bytes: number, seconds: number | undefined): string {
  if (seconds === undefined) return formatBytes(bytes);
  const s = Math.max(0.001, seconds);
  return `${formatBytes(bytes)} in ${s.toFixed(1)} s, ${formatRate(bytes / s)}`;
}

/**
 * Bars for several tasks on stderr, when it is a terminal: one line per running task, redrawn
 * at most BAR_FPS (progress-bar.ts) times a second, cursor hidden while they run. Lines logged meanwhile
 * (a task's summary) are printed above the bars. In any other mode nothing is drawn.
 */
export class TaskBars {
  private readonly multi: cliProgress.MultiBar | undefined;
  private readonly bars = new Map<string, { bar: cliProgress.SingleBar; label: string; event: TransferProgress | undefined }>();
  private used = false;
  /**
   * A process that exits while bars are drawn (a second Ctrl-C exits at once) gives the terminal
   * back its cursor and line wrapping, which the bars turned off.
   */
  private readonly restoreTerminal = () => {
    if (this.used) this.streams.stderr.write(RESTORE_TERMINAL);
  };

  constructor(
    mode: OutputMode,
    private readonly streams: CliStreams,
  ) {
    // Stopping clears what is drawn below the lines logged (stop() logs the bars still running
    // first): no bar is left half drawn or at another bar's row, and no blank row is left.
    this.multi = mode === 'bar' ? new cliProgress.MultiBar({ ...barOptions(streams.stderr), clearOnComplete: true }) : undefined;
  }

  /** Shows (or updates) the bar of a task. */
  update(taskId: string, label: string, event: TransferProgress | undefined): void {
    if (!this.multi) return;
    let entry = this.bars.get(taskId);
    if (!entry) {
      entry = { bar: this.multi.create(1, 0, { label, event: undefined } satisfies Payload), label, event: undefined };
      this.bars.set(taskId, entry);
      if (!this.used) process.once('exit', this.restoreTerminal);
      this.used = true;
    }
    if (event) {
      entry.event = event;
      entry.bar.update(event.loaded, { label: entry.label, event } satisfies Payload);
    }
  }

  /** Removes a task's bar and prints `line` above the others (or writes it on stderr when no bar is drawn). */
  finish(taskId: string, line: string | undefined): void {
    const entry = this.bars.get(taskId);
    if (!this.multi || !this.used) {
      if (line !== undefined) this.streams.stderr.write(`${printable(line)}\n`);
      return;
    }
    if (line !== undefined) this.multi.log(`${printable(line)}\n`);
    if (entry) {
      this.bars.delete(taskId);
      this.multi.remove(entry.bar);
    } else if (line !== undefined) {
      this.multi.update();
    }
  }

  /** A line above the bars (or on stderr without bars). */
  log(line: string): void {
    if (this.multi && this.used) this.multi.log(`${printable(line)}\n`);
    else this.streams.stderr.write(`${printable(line)}\n`);
  }

  /**
   * Stops drawing: the lines logged and not drawn yet are written, each bar still running stays
   * as a line of its last state, the cursor comes back below them. Safe to call twice.
   */
  stop(): void {
    if (!this.multi || !this.used) return;
    this.used = false;
    process.off('exit', this.restoreTerminal);
    for (const { label, event } of this.bars.values()) this.multi.log(`${formatProgressLine(label, event, (this.streams.stderr as { columns?: number }).columns)}\n`);
    this.bars.clear();
    // Writes the logged lines; then stop() (clearOnComplete) clears the bars under them and leaves the cursor there.
    this.multi.update();
    this.multi.stop();
  }
}
