/**
 * The steps of `rxtransfer demo`, each a user of the public API against the embedded server:
 * a checked download, a streamed upload, a cancelled transfer. Each resolves with a
 * {@link StepOutcome} (never rejects) so that the tour always reaches its summary.
 * The resumed download and the EAP component are in `demo-resume.ts` and `demo-eap.ts`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { download, isCancelledError, upload, type TransferProgress } from '../index.node.js';
import { fileBody, PARTIAL_SUFFIX } from '../node/index.js';
import { StepProgress, type DemoOut, type StepOutcome } from './demo-display.js';
import { patternBody, type DemoStats } from './demo-server.js';
import { errorMessage } from './exit-codes.js';
import { formatBytes } from './format.js';
import { runTransfer } from './run-transfer.js';

export const MiB = 1024 * 1024;

/** What every step gets. */
export interface DemoContext {
  /** The embedded server, `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** What the server saw. */
  readonly stats: DemoStats;
  /** A fresh temporary directory, removed after the tour. */
  readonly dir: string;
  readonly out: DemoOut;
  /** Live bars (a terminal) or plain lines. */
  readonly bars: boolean;
  /** Aborted by the safety timer. */
  readonly signal: AbortSignal;
}

/** Every transfer of the demo gives up after this long. */
export const STEP_TIMEOUT = { total: 20_000, idle: 5_000, connect: 5_000 };

/** `sha256-<base64>` from a hex digest. */
export function sriFromHex(hex: string): string {
  return `sha256-${Buffer.from(hex, 'hex').toString('base64')}`;
}

export async function sha256OfFile(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** Polls `condition` every 20 ms for up to `ms`; resolves with its last answer. */
export async function eventually(condition: () => boolean, ms: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline && !signal.aborted) await pause(20, signal);
  return condition();
}

/** Runs `body`; a throw becomes a failed outcome with the error's message. */
export async function step(name: string, body: () => Promise<StepOutcome>): Promise<StepOutcome> {
  try {
    return await body();
  } catch (error) {
    return { step: name, ok: false, detail: errorMessage(error) };
  }
}

/** 1. Download 8 MiB to a file, checked against its sha256 before it is renamed into place. */
export function downloadStep(ctx: DemoContext): Promise<StepOutcome> {
  return step('download', async () => {
    const size = 8 * MiB;
    const expected = patternBody(size).sha256;
    const to = join(ctx.dir, 'download.bin');
    const integrity = sriFromHex(expected);
    const view = new StepProgress(ctx.out, 'download', ctx.bars);
    try {
      const result = await runTransfer(
        download(`${ctx.origin}/api/bytes?size=${size}&id=download&delay=5`, { to, integrity, timeout: STEP_TIMEOUT, signal: ctx.signal }),
        (e) => view.update(e),
      );
      const onDisk = (await stat(to)).size;
      const digest = await sha256OfFile(to);
      // The library checked the digest (result.integrity), and the file on disk is that body.
      const ok = result.integrity === integrity && onDisk === size && digest === expected && !existsSync(to + PARTIAL_SUFFIX);
      view.end(`saved ${formatBytes(result.size)} to ${to}, integrity ${result.integrity ?? 'unchecked'}`);
      return { step: 'download', ok, detail: `${formatBytes(onDisk)} to a temp file, sha256 ${ok ? 'verified' : 'WRONG'} (integrity: sha256-…)` };
    } finally {
      view.close();
    }
  });
}

/** 2. Upload 4 MiB streamed from a file (PUT); the server counts and hashes what arrives. */
export function uploadStep(ctx: DemoContext): Promise<StepOutcome> {
  return step('upload', async () => {
    const bytes = randomBytes(4 * MiB);
    const expected = createHash('sha256').update(bytes).digest('hex');
    const source = join(ctx.dir, 'upload.bin');
    await writeFile(source, bytes);
    const view = new StepProgress(ctx.out, 'upload', ctx.bars, 'upload');
    try {
      const result = await runTransfer(
        upload(`${ctx.origin}/api/upload?id=upload&delay=20`, fileBody(source), {
          method: 'PUT',
          responseType: 'json',
          timeout: STEP_TIMEOUT,
          signal: ctx.signal,
        }),
        (e) => view.update(e),
      );
      const data = result.data as { received: number; sha256: string };
      const seen = ctx.stats.uploads['upload'];
      const ok = data.received === bytes.length && data.sha256 === expected && seen?.received === bytes.length;
      view.end(`HTTP ${result.status}: the server received ${formatBytes(data.received)}, sha256 ${data.sha256.slice(0, 12)}…`);
      return { step: 'upload', ok, detail: `${formatBytes(result.sent)} sent from a file, the server got ${formatBytes(seen?.received ?? 0)} (sha256 ${ok ? 'matches' : 'DIFFERS'})` };
    } finally {
      view.close();
    }
  });
}

/** 3. Cancel a slow download through an AbortSignal once 1 MiB arrived: CancelledError, the connection closes, no file. */
export function cancelStep(ctx: DemoContext): Promise<StepOutcome> {
  return step('cancel', async () => {
    const to = join(ctx.dir, 'cancelled.bin');
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, ctx.signal]);
    const view = new StepProgress(ctx.out, 'cancel', ctx.bars);
    let loaded = 0;
    const onProgress = (e: TransferProgress) => {
      loaded = e.loaded;
      view.update(e);
      if (loaded >= MiB) controller.abort();
    };
    try {
      await runTransfer(download(`${ctx.origin}/api/bytes?size=${64 * MiB}&id=cancel&delay=25`, { to, timeout: STEP_TIMEOUT, signal }), onProgress);
      view.end('finished before the cancel');
      return { step: 'cancel', ok: false, detail: 'the transfer finished before it was cancelled' };
    } catch (error) {
      if (!isCancelledError(error)) throw error;
      if (!controller.signal.aborted) {
        // Stopped by the demo (Ctrl-C, the safety timer), not by this step's own AbortSignal.
        view.end(`stopped by the demo after ${formatBytes(loaded)}, before the cancel at 1 MiB`);
        return { step: 'cancel', ok: false, detail: `stopped by the demo after ${formatBytes(loaded)}, before the cancel at 1 MiB` };
      }
      const closed = await eventually(() => ctx.stats.downloads['cancel']?.closedEarly === true, 3_000, ctx.signal);
      const leftovers = existsSync(to) || existsSync(to + PARTIAL_SUFFIX);
      view.end(`${error.name} after ${formatBytes(loaded)}: ${error.message}`);
      return {
        step: 'cancel',
        ok: closed && !leftovers,
        detail: `CancelledError after ${formatBytes(loaded)}; server saw the connection close: ${closed ? 'yes' : 'NO'}; files left: ${leftovers ? 'YES' : 'none'}`,
      };
    } finally {
      view.close();
    }
  });
}
