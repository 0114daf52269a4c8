import cliProgress from 'cli-progress';
import type { TransferProgress } from '../index.node.js';
import { displayWidth, etaSeconds, formatBytes, formatDuration, formatRate, graphemes, graphemeWidth } from './format.js';

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
    // cli-progress's maxWidth: the stream's columns (80 on a terminal that does not say).
    format: (_options, params, payload: Payload) => formatProgressLine(payload.label, payload.event, params.maxWidth),
  };
}

/** Narrowest bar drawn: below it, the label is shortened first, then the bar left out. */
const MIN_BAR_WIDTH = 10;
/** Shortest a label is made (start…end, so its extension stays) to keep the numbers in sight. */
const MIN_LABEL = 12;

/**
 * One line of progress: `label [█████░░░░] 42% 1.2 MiB/2.9 MiB 3.1 MiB/s ETA 0:01`.
 * With an unknown total there is no bar, percent or ETA, only the bytes and the rate.
 *
 * Fitted to `width` columns (the terminal's), the line being drawn without wrapping: the numbers
 * are what a narrow terminal keeps, so the bar narrows (down to {@link MIN_BAR_WIDTH}), then the
 * label is shortened in its middle, then the bar is left out. One column is kept free.
 */
export function formatProgressLine(label: string, event: TransferProgress | undefined, width = Infinity): string {
  const room = width - 1;
  if (!event) return `${shorten(label, room - ' connecting…'.length)} connecting…`;
  const rate = formatRate(event.bytesPerSecond);
  if (event.total === undefined || event.percent === undefined) {
    const tail = ` ${formatBytes(event.loaded)} ${rate}`;
    return `${shorten(label, room - tail.length)}${tail}`;
  }
  const eta = formatDuration(etaSeconds(event.loaded, event.total, event.bytesPerSecond));
  const tail = ` ${String(event.percent).padStart(3)}% ${formatBytes(event.loaded)}/${formatBytes(event.total)} ${rate} ETA ${eta}`;
  // What label, ` [`, the bar and `]` may take.
  const free = room - tail.length;
  const fits = Math.min(BAR_WIDTH, free - displayWidth(label) - 3);
  const barWidth = fits >= MIN_BAR_WIDTH ? fits : free - 3 - MIN_BAR_WIDTH >= MIN_LABEL ? MIN_BAR_WIDTH : 0;
  if (barWidth === 0) return `${shorten(label, free)}${tail}`;
  const filled = Math.round((barWidth * event.percent) / 100);
  const bar = '█'.repeat(filled) + '░'.repeat(barWidth - filled);
  return `${shorten(label, free - 3 - barWidth)} [${bar}]${tail}`;
}

/** `label` in at most `max` columns (never under {@link MIN_LABEL}): its start and end around `…`, never a character cut in two. */
function shorten(label: string, max: number): string {
  const keep = Math.max(MIN_LABEL, max);
  if (displayWidth(label) <= keep) return label;
  const parts = graphemes(label);
  const endRoom = Math.floor((keep - 1) / 2);
  let startRoom = keep - 1 - endRoom;
  let start = 0;
  while (start < parts.length && graphemeWidth(parts[start]!) <= startRoom) startRoom -= graphemeWidth(parts[start++]!);
  let end = parts.length;
  let room = endRoom + startRoom; // a column the start could not use (half a wide character) goes to the end
  while (end > start && graphemeWidth(parts[end - 1]!) <= room) room -= graphemeWidth(parts[--end]!);
  return `${parts.slice(0, start).join('')}…${parts.slice(end).join('')}`;
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
