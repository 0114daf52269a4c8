/**
 * How `rxtransfer demo` shows its steps on stdout: a live bar per transfer on a terminal
 * (cli-progress, through {@link ProgressBar}), plain lines at each quarter otherwise, and the
 * closing summary.
 */
import type { TransferProgress } from '../index.node.js';
import { formatBytes, formatRate, printable } from './format.js';
import { ProgressBar } from './progress-bar.js';

/** The stream the demo writes to. */
export type DemoOut = NodeJS.WritableStream & { isTTY?: boolean };

/** Whether `out` gets live bars: a terminal, and not `TERM=dumb`. */
export function wantsBars(out: DemoOut, env: NodeJS.ProcessEnv = process.env): boolean {
  return out.isTTY === true && env['TERM'] !== 'dumb';
}

const LABEL_WIDTH = 9;

/** `label` padded so the steps' lines line up. */
export function stepLabel(label: string): string {
  return label.padEnd(LABEL_WIDTH);
}

/** The live view of one transfer of a demo step. */
export class StepProgress {
  private readonly bar: ProgressBar | undefined;
  private quarter = -1;

  constructor(
    private readonly out: DemoOut,
    private readonly label: string,
    bars: boolean,
    private readonly direction: 'upload' | 'download' = 'download',
  ) {
    this.bar = bars ? new ProgressBar(out, stepLabel(label)) : undefined;
  }

  /** Shows one progress event (other directions are ignored). */
  update(event: TransferProgress): void {
    if (event.direction !== this.direction) return;
    if (this.bar) return this.bar.update(event);
    const percent = event.percent ?? 0;
    const quarter = Math.min(4, Math.floor(percent / 25));
    if (quarter === this.quarter) return;
    this.quarter = quarter;
    const total = event.total === undefined ? '' : `/${formatBytes(event.total)}`;
    this.out.write(`${stepLabel(this.label)} ${String(percent).padStart(3)}%  ${formatBytes(event.loaded)}${total}  ${formatRate(event.bytesPerSecond)}\n`);
  }

  /** Ends the bar (its last state stays on screen) and prints `line` under the step's label. */
  end(line: string): void {
    this.bar?.stop();
    this.out.write(`${stepLabel(this.label)} ${printable(line)}\n`);
  }

  /** Stops the bar whatever happened (restores the cursor). */
  close(): void {
    this.bar?.stop();
  }
}

/** One line of the summary. */
export interface StepOutcome {
  readonly step: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** The summary: one `ok`/`FAIL` line per step, then `N of M ok in S s`. */
export function formatSummary(outcomes: readonly StepOutcome[], seconds: number): string {
  const lines = outcomes.map((o) => `  ${o.ok ? 'ok  ' : 'FAIL'}  ${stepLabel(o.step)} ${printable(o.detail)}`);
  const good = outcomes.filter((o) => o.ok).length;
  return `Summary\n${lines.join('\n')}\n${good} of ${outcomes.length} ok in ${seconds.toFixed(1)} s\n`;
}
