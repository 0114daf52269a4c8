import cliProgress from 'cli-progress';
import type { TransferProgress } from '../index.node.js';
import { etaSeconds, formatBytes, formatDuration, formatRate } from './format.js';

/** Shows the cursor and turns line wrapping back on: what stopping a bar does (barOptions hides and turns off both). */
export const RESTORE_TERMINAL = '\u001b[?25h\u001b[?7h';

/** Redraws per second at most: fast enough to look live, slow enough to read. */
export const BAR_FPS = 8;
const BAR_WIDTH = 24;

/** What each bar draws: its label and the latest progress event. */
export interface Payload {
  readonly label: string;
  readonly event: TransferProgress | undefined;
}

/** The cli-progress options every bar of the command line uses (single or multi). */
export function barOptions(stream: NodeJS.WritableStream): cliProgress.Options {
  return {
    stream,
    fps: BAR_FPS,
    hideCursor: true,
    linewrap: false,
    clearOnComplete: false,
    gracefulExit: false,
    format: (_options, _params, payload: Payload) => formatProgressLine(payload.label, payload.event),
  };
}

/**
 * One line of progress: `label [█████░░░░] 42% 1.2 MiB/2.9 MiB 3.1 MiB/s ETA 0:01`.
 * With an unknown total there is no bar, percent or ETA, only the bytes and the rate.
 */
export function formatProgressLine(label: string, event: TransferProgress | undefined): string {
  if (!event) return `${label} connecting…`;
  const rate = formatRate(event.bytesPerSecond);
  if (event.total === undefined || event.percent === undefined) return `${label} ${formatBytes(event.loaded)} ${rate}`;
  const filled = Math.round((BAR_WIDTH * event.percent) / 100);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const eta = formatDuration(etaSeconds(event.loaded, event.total, event.bytesPerSecond));
  return `${label} [${bar}] ${String(event.percent).padStart(3)}% ${formatBytes(event.loaded)}/${formatBytes(event.total)} ${rate} ETA ${eta}`;
}

/**
 * A progress bar on a terminal (stderr), drawn by cli-progress: it redraws at most
 * {@link BAR_FPS} times a second, crops to the terminal width and hides the cursor until stopped.
 */
export class ProgressBar {
  private readonly bar: cliProgress.SingleBar;
  private started = false;
  private payload: Payload;
  /**
   * A process that exits while the bar is drawn (a second Ctrl-C exits at once) gives the
   * terminal back its cursor and line wrapping, which the bar turned off.
   */
  private readonly restoreTerminal = () => {
    if (this.started) this.stream.write(RESTORE_TERMINAL);
  };

  constructor(
    private readonly stream: NodeJS.WritableStream,
    label: string,
  ) {
    this.payload = { label, event: undefined };
    this.bar = new cliProgress.SingleBar(barOptions(stream));
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    process.once('exit', this.restoreTerminal);
    this.bar.start(1, 0, this.payload);
  }

  update(event: TransferProgress): void {
    this.start();
    this.payload = { label: this.payload.label, event };
    this.bar.update(event.loaded, this.payload);
  }

  /** Draws the last state, ends the line and shows the cursor again. Safe to call twice. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    process.off('exit', this.restoreTerminal);
    this.bar.stop();
  }
}
