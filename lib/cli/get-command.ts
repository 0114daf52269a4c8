/** `rxtransfer get <url>`: a download to a file, with progress, resume and safe names. */
import { resolve, join } from 'node:path';
import { download, isTransferError, type DownloadOptions, type TimeoutOptions } from '../index.node.js';
import { PARTIAL_SUFFIX } from '../node/index.js';
import { headersFrom, parseHttpUrl, withExplicitAuthorization } from './arguments.js';
import { filenameFromContentDisposition } from './content-disposition.js';
import { sentCredentials } from './error-body.js';
import { CliError, ExitCode, exitCodeFor } from './exit-codes.js';
import { formatBytes, formatRate } from './format.js';
import { listenForInterrupt, outputFailure, type Interrupt } from './interrupt.js';
import { outputMode, TransferView, type CliStreams } from './output.js';
import { elapsedSeconds, runTransfer } from './run-transfer.js';
import { completeFile } from './complete-file.js';
import { FALLBACK_NAME, nameFromUrl, safeBaseName } from './safe-name.js';
import { existsError, partialState, placeFile, planTarget, refuseExisting, refuseSpecialFile, type TargetPlan } from './target-file.js';
import { isLocalFileError, isTargetExistsError } from '../internal/node/file-sink.js';
import { keptFile, notModifiedText, shortPath } from './session-display.js';

/** The options of `get`, as commander parses them. */
export interface GetFlags {
  output?: string;
  resume?: boolean;
  retry?: number;
  timeout?: number;
  idleTimeout?: number;
  connectTimeout?: number;
  header?: string[];
  integrity?: string;
  json?: boolean;
  quiet?: boolean;
  force?: boolean;
  contentDisposition?: boolean;
}

/** Timeouts from the `--*timeout` flags (already in ms), only those given. */
export function timeoutsFrom(flags: { timeout?: number; idleTimeout?: number; connectTimeout?: number }): TimeoutOptions | undefined {
  const t: TimeoutOptions = {};
  if (flags.timeout !== undefined) t.total = flags.timeout;
  if (flags.idleTimeout !== undefined) t.idle = flags.idleTimeout;
  if (flags.connectTimeout !== undefined) t.connect = flags.connectTimeout;
  return Object.keys(t).length > 0 ? t : undefined;
}

/** Response headers fit to print: without `set-cookie`, which may carry a session. */
export function printableHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (name !== 'set-cookie') out[name] = value;
  return out;
}

/** Runs `get`; resolves with the exit code. Never throws. */
export async function runGet(rawUrl: string, flags: GetFlags, streams: CliStreams): Promise<number> {
  const mode = outputMode(flags, streams);
  let view = new TransferView(mode, streams, nameFromUrl(rawUrl) ?? FALLBACK_NAME);
  let interrupt: Interrupt | undefined;
  let plan: TargetPlan | undefined;
  let sent: string[] = [];
  try {
    const parsed = parseHttpUrl(rawUrl);
    const headers = headersFrom(flags.header);
    sent = sentCredentials(parsed, headers);
    const url = withExplicitAuthorization(parsed, headers);
    // The file as the server holds it, as curl saves it: a .tgz stays gzip, and a cut or a Ctrl-C
    // leaves bytes --resume can continue (a decoded body cannot be). -H 'Accept-Encoding: …' asks otherwise.
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'accept-encoding')) headers['Accept-Encoding'] = 'identity';
    plan = await planTarget(url, flags.output, flags.contentDisposition ?? false);
    const replace = (flags.force ?? false) || (flags.resume ?? false);
    if (!plan.nameLater) await refuseSpecialFile(plan.path);
    if (!plan.nameLater && !replace) await refuseExisting(plan.path);
    if (!plan.nameLater) view = new TransferView(mode, streams, shortPath(plan.path));

    interrupt = listenForInterrupt(streams.stdout);
    const request = {
      signal: interrupt.signal,
      ...(flags.retry !== undefined ? { retry: flags.retry } : {}),
      ...(timeoutsFrom(flags) ? { timeout: timeoutsFrom(flags) } : {}),
    };
    const options: DownloadOptions & { to: string } = {
      to: plan.path,
      resume: flags.resume ?? false,
      // Kept when --resume can continue it: removed (by the download, under its lock) when its
      // bytes failed a check or cannot be proven (no validator), or there are none.
      keepPartial: 'resumable',
      overwrite: plan.nameLater ? true : replace,
      headers,
      ...request,
      ...(flags.integrity !== undefined ? { integrity: flags.integrity } : {}),
    };
    const started = Date.now();
    view.start();
    if (flags.resume && !plan.nameLater) {
      // The file is there and no partial file is left: asked for what follows it (curl's -C -).
      const complete = await completeFile(url, plan.path, headers, request, flags.integrity);
      if (complete) {
        const path = resolve(plan.path);
        view.done({ ...complete, headers: printableHeaders(complete.headers), path }, `${shortPath(path)} is complete already (${formatBytes(complete.size)}): kept as it is, nothing downloaded`);
        return ExitCode.ok;
      }
    }
    const result = await runTransfer(download(url, options), (e) => view.progress(e));
    if (result.status === 304) {
      // Not Modified (the caller's -H 'If-None-Match: …'): nothing was written, nothing is to be
      // named (with -J there is no side file to name), and the file at -o is kept as it is; with
      // no file there (the caller's validator was for a copy since removed), nothing is kept.
      const target = plan.nameLater ? undefined : (result.path ?? resolve(plan.path));
      const kept = keptFile(target);
      view.done({ url: result.url, status: result.status, headers: printableHeaders(result.headers), size: 0, ...(kept !== undefined ? { path: kept } : {}) }, notModifiedText(kept));
      return ExitCode.ok;
    }
    let path = result.path ?? resolve(plan.path);
    if (plan.nameLater) {
      const name = safeBaseName(filenameFromContentDisposition(result.headers['content-disposition'])) ?? nameFromUrl(url) ?? FALLBACK_NAME;
      path = resolve(join(plan.nameLater.dir, name));
      // The server chose this name: only --force replaces a file there (--resume continued the
      // side file, it does not hand the server an overwrite).
      await placeFile(plan.path, path, flags.force ?? false, flags.resume ?? false);
    }
    const seconds = elapsedSeconds(started);
    view.done(
      {
        url: result.url,
        status: result.status,
        headers: printableHeaders(result.headers),
        size: result.size,
        path,
        ...(result.integrity !== undefined ? { integrity: result.integrity } : {}),
      },
      `saved ${shortPath(path)} (${formatBytes(result.size)} in ${seconds.toFixed(1)} s, ${formatRate(result.size / seconds)})`,
    );
    return ExitCode.ok;
  } catch (caught) {
    const error = plan && isTargetExistsError(caught) ? await appeared(plan.path, caught) : caught;
    const hint = plan ? await afterFailure(plan.path, error) : undefined;
    view.error(outputLost(interrupt, error) ?? error, hint, sent);
    return interrupt?.received && isTransferError(error) && error.code === 'cancelled' ? interrupt.exitCode : exitCodeFor(error);
  } finally {
    view.close();
    interrupt?.dispose();
  }
}

/** The error to show when the transfer was stopped because stdout could no longer be written (not EPIPE). */
export function outputLost(interrupt: Interrupt | undefined, error: unknown): CliError | undefined {
  const why = outputFailure(interrupt);
  if (why === undefined || !isTransferError(error) || error.code !== 'cancelled') return undefined;
  return new CliError('io', `${why}; the transfer was stopped`, { cause: interrupt?.outputError });
}

/**
 * What to tell the user after a failure: where the partial file `--resume` can continue is (the
 * download itself removed one it could not, `keepPartial: 'resumable'`).
 */
async function afterFailure(to: string, error: unknown): Promise<string | undefined> {
  // The disk under the download failed (no space, a size limit): what it wrote is kept as after a cut.
  if (!isTransferError(error) || (error.code === 'invalid' && !isLocalFileError(error))) return undefined;
  const partial = await partialState(to);
  if (partial === undefined || !partial.resumable) return undefined;
  return `${formatBytes(partial.size)} kept in ${shortPath(to + PARTIAL_SUFFIX)}: run the same command with --resume to continue`;
}

/**
 * A file that appeared at the name while the download ran (it was checked before): kept, and the
 * error says where the download is, rather than leave a hidden file no one knows of.
 */
async function appeared(to: string, cause: unknown): Promise<CliError> {
  const partial = await partialState(to);
  if (partial === undefined || partial.size === 0) return existsError(shortPath(to), cause);
  return new CliError('exists', `${shortPath(to)} appeared during the download and is kept; the download is in ${shortPath(to + PARTIAL_SUFFIX)} (move it, or use --force to replace ${shortPath(to)})`, { cause });
}
