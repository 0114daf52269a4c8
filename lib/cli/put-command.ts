/** `rxtransfer put <file> <url>`: a file upload streamed from disk, with progress. */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { upload, isTransferError, type UploadBody } from '../index.node.js';
import { fileBody } from '../node/index.js';
import { headersFrom, parseHttpUrl, withExplicitAuthorization, withoutSecrets } from './arguments.js';
import { CliError, ExitCode, exitCodeFor } from './exit-codes.js';
import { sentCredentials } from './error-body.js';
import { formatBytes, formatRate, terminalSafe } from './format.js';
import { outputLost, printableHeaders, timeoutsFrom } from './get-command.js';
import { listenForInterrupt, type Interrupt } from './interrupt.js';
import { outputMode, TransferView, type CliStreams } from './output.js';
import { elapsedSeconds, runTransfer } from './run-transfer.js';

/** The options of `put`, as commander parses them. */
export interface PutFlags {
  method?: string;
  retry?: number;
  timeout?: number;
  idleTimeout?: number;
  connectTimeout?: number;
  header?: string[];
  json?: boolean;
  quiet?: boolean;
  /** False with `--no-expect`: no `Expect: 100-continue`. */
  expect?: boolean;
}

/** The methods `put` sends with. */
export const PUT_METHODS = ['PUT', 'POST'] as const;

/**
 * The URL to send `file` to: a path that ends in `/` (a directory, `http://host/dir/`) gets the
 * file's base name, URL-encoded, as with curl's `-T`.
 */
export function withFileName(url: URL, file: string): URL {
  const name = basename(file);
  if (!url.pathname.endsWith('/') || name === '' || name === '.' || name === '..') return url;
  const named = new URL(url.href);
  named.pathname += encodeURIComponent(name);
  return named;
}

/** Runs `put`; resolves with the exit code. Never throws. */
export async function runPut(file: string, rawUrl: string, flags: PutFlags, streams: CliStreams): Promise<number> {
  const mode = outputMode(flags, streams);
  const view = new TransferView(mode, streams, basename(file), 'upload');
  let interrupt: Interrupt | undefined;
  let sent: string[] = [];
  try {
    const parsed = parseHttpUrl(rawUrl);
    const headers = headersFrom(flags.header);
    sent = sentCredentials(parsed, headers);
    const url = withFileName(withExplicitAuthorization(parsed, headers), file);
    const method = (flags.method ?? 'PUT').toUpperCase();
    if (!(PUT_METHODS as readonly string[]).includes(method)) throw new CliError('usage', `--method must be PUT or POST, got ${method.slice(0, 20)}`);
    if (file === '-') throw new CliError('usage', "- (standard input) is not supported: put sends a file, with its size (./- names a file '-')");
    let body: UploadBody;
    try {
      body = fileBody(file);
      // Opened once now: a file this user may not read (EACCES) is refused as one that does not
      // exist (2, before any request), not failed as a read error while it is sent (1).
      // Not waiting (O_NONBLOCK): a FIFO put at the name since fileBody() looked is refused by its first attempt, not waited on here.
      await (await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))).close();
    } catch (error) {
      throw new CliError('usage', `cannot read ${withoutSecrets(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }

    interrupt = listenForInterrupt(streams.stdout);
    const started = Date.now();
    view.start();
    const result = await runTransfer(
      upload(url, body, {
        method,
        headers,
        signal: interrupt.signal,
        ...(flags.retry !== undefined ? { retry: flags.retry } : {}),
        ...(timeoutsFrom(flags) ? { timeout: timeoutsFrom(flags) } : {}),
        ...(flags.expect === false ? { expectContinue: false } : {}),
      }),
      (e) => view.progress(e),
    );
    const seconds = elapsedSeconds(started);
    view.done(
      { url: result.url, status: result.status, headers: printableHeaders(result.headers), sent: result.sent, data: result.data },
      `sent ${basename(file)} (${formatBytes(result.sent)} in ${seconds.toFixed(1)} s, ${formatRate(result.sent / seconds)}): HTTP ${result.status}`,
    );
    // Like curl, the server's answer goes to stdout (not with --json: it is in the done object).
    if (mode !== 'json' && result.data.length > 0) {
      const text = streams.stdout.isTTY ? terminalSafe(result.data) : result.data;
      streams.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
    return ExitCode.ok;
  } catch (error) {
    view.error(outputLost(interrupt, error) ?? error, undefined, sent);
    return interrupt?.received && isTransferError(error) && error.code === 'cancelled' ? interrupt.exitCode : exitCodeFor(error);
  } finally {
    view.close();
    interrupt?.dispose();
  }
}
