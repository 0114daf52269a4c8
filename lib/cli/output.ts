import type { TransferProgress } from '../index.node.js';
import { ProgressBar } from './progress-bar.js';
import { errorCode, errorDetails, errorMessage } from './exit-codes.js';
import { printable } from './format.js';
import { errorBody } from './error-body.js';
import { redactUrl } from '../internal/core/redact.js';

/**
 * How a command shows a transfer:
 * - `json`: one JSON object per line on stdout (progress, done, error) and nothing else there;
 * - `bar`: a progress bar on stderr, which is a terminal;
 * - `plain`: stderr is not a terminal: no bar and no escape codes, one summary line at the end;
 * - `quiet`: errors only.
 */
export type OutputMode = 'json' | 'bar' | 'plain' | 'quiet';

/** The streams a command writes to (process.stdout/stderr, or fakes in tests). */
export interface CliStreams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Picks the mode from the flags and whether stderr is a terminal. */
export function outputMode(flags: { json?: boolean; quiet?: boolean }, streams: CliStreams, env: NodeJS.ProcessEnv = process.env): OutputMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  return streams.stderr.isTTY === true && env['TERM'] !== 'dumb' ? 'bar' : 'plain';
}

/** Writes one error line on stderr: `rxtransfer: <what happened>[; <what to do>]`. */
export function printError(streams: CliStreams, error: unknown, hint?: string): void {
  streams.stderr.write(`rxtransfer: ${errorMessage(error)}${hint ? `; ${printable(hint)}` : ''}\n`);
}

/** One line of `--json` output. */
export function writeJsonLine(streams: CliStreams, value: Record<string, unknown>): void {
  streams.stdout.write(`${JSON.stringify(value)}\n`);
}

/** The `--json` error object; `body`: the excerpt of an HTTP error's body ({@link errorBody}), when there is one. */
export function jsonError(error: unknown, body?: string): Record<string, unknown> {
  return { type: 'error', code: errorCode(error), message: errorMessage(error), ...errorDetails(error), ...(body !== undefined ? { body } : {}) };
}

/** A progress event as plain JSON (the event's own fields, nothing else). */
export function jsonProgress(event: TransferProgress): Record<string, unknown> {
  const out: Record<string, unknown> = { type: 'progress', direction: event.direction, loaded: event.loaded, delta: event.delta };
  if (event.total !== undefined) out['total'] = event.total;
  if (event.percent !== undefined) out['percent'] = event.percent;
  if (event.bytesPerSecond !== undefined) out['bytesPerSecond'] = Math.round(event.bytesPerSecond);
  out['attempt'] = event.attempt;
  return out;
}

/** What a command shows while a transfer runs and when it ends. */
export class TransferView {
  private readonly bar: ProgressBar | undefined;

  constructor(
    readonly mode: OutputMode,
    private readonly streams: CliStreams,
    label: string,
    private readonly barDirection: 'upload' | 'download' = 'download',
  ) {
    this.bar = mode === 'bar' ? new ProgressBar(streams.stderr, printable(label)) : undefined;
  }

  start(): void {
    this.bar?.start();
  }

  progress(event: TransferProgress): void {
    if (this.mode === 'json') writeJsonLine(this.streams, jsonProgress(event));
    else if (this.bar && event.direction === this.barDirection) this.bar.update(event);
  }

  /**
   * The transfer succeeded: the `done` object for `--json`, a summary line for people. Its `url`
   * is shown as the error lines show it: without `user:password@`, secret query values masked.
   */
  done(result: Record<string, unknown>, summary: string): void {
    this.bar?.stop();
    const url = typeof result['url'] === 'string' ? { url: redactUrl(result['url'], { secrets: true }) } : {};
    if (this.mode === 'json') writeJsonLine(this.streams, { type: 'done', result: { ...result, ...url } });
    else if (this.mode !== 'quiet') this.streams.stderr.write(`${printable(summary)}\n`);
  }

  /**
   * The transfer failed: one line on stderr (with `hint`, what to do), then the server's reason
   * (an excerpt of an HTTP error's body, without the `sent` credentials), indented; and the error
   * object with `--json`, the excerpt as its `body`.
   */
  error(error: unknown, hint?: string, sent: readonly string[] = []): void {
    this.bar?.stop();
    const body = errorBody(error, sent);
    if (this.mode === 'json') writeJsonLine(this.streams, jsonError(error, body));
    printError(this.streams, error, hint);
    if (body !== undefined) this.streams.stderr.write(`${body.replace(/^/gm, '  ')}\n`);
  }

  /** Stops the bar whatever happened (restores the cursor). */
  close(): void {
    this.bar?.stop();
  }
}
