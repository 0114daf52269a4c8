/**
 * Step 4 of `rxtransfer demo`: a download interrupted part-way and resumed. The first run is
 * stopped at 40% with its partial file kept (`resume: true`); the second continues it with
 * `Range` + `If-Range` from the bytes on disk, and the whole file is checked against its sha256.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { download, isCancelledError, type TransferProgress } from '../index.node.js';
import { PARTIAL_SUFFIX } from '../node/index.js';
import { StepProgress, type StepOutcome } from './demo-display.js';
import { patternBody } from './demo-server.js';
import { formatBytes } from './format.js';
import { runTransfer } from './run-transfer.js';
import { MiB, sha256OfFile, sriFromHex, step, STEP_TIMEOUT, type DemoContext } from './demo-steps.js';

export function resumeStep(ctx: DemoContext): Promise<StepOutcome> {
  return step('resume', async () => {
    const size = 6 * MiB;
    const expected = patternBody(size).sha256;
    const url = `${ctx.origin}/api/bytes?size=${size}&id=resume&delay=8`;
    const to = join(ctx.dir, 'resumed.bin');

    // First run: stopped at 40%, as Ctrl-C would; `resume: true` keeps `<to>.partial`.
    const controller = new AbortController();
    const first = new StepProgress(ctx.out, 'resume', ctx.bars);
    try {
      await runTransfer(
        download(url, { to, resume: true, timeout: STEP_TIMEOUT, signal: AbortSignal.any([controller.signal, ctx.signal]) }),
        (e: TransferProgress) => {
          first.update(e);
          if ((e.percent ?? 0) >= 40) controller.abort();
        },
      );
      first.end('finished before the interruption');
      return { step: 'resume', ok: false, detail: 'the first run was not interrupted' };
    } catch (error) {
      if (!isCancelledError(error) || ctx.signal.aborted) throw error;
      first.end(`interrupted; ${formatBytes((await stat(to + PARTIAL_SUFFIX)).size)} kept in ${to}${PARTIAL_SUFFIX}`);
    } finally {
      first.close();
    }

    // Second run: the same call continues the partial file.
    const kept = (await stat(to + PARTIAL_SUFFIX)).size;
    let firstLoaded: number | undefined;
    const second = new StepProgress(ctx.out, 'resume', ctx.bars);
    try {
      const result = await runTransfer(
        download(url, { to, resume: true, integrity: sriFromHex(expected), timeout: STEP_TIMEOUT, signal: ctx.signal }),
        (e: TransferProgress) => {
          firstLoaded ??= e.loaded;
          second.update(e);
        },
      );
      const rangeStart = ctx.stats.downloads['resume']?.rangeStart;
      const digest = await sha256OfFile(to);
      const ok = rangeStart === kept && kept > 0 && digest === expected && result.size === size && !existsSync(to + PARTIAL_SUFFIX);
      second.end(`resumed from ${formatBytes(firstLoaded ?? 0)} (server: Range from byte ${rangeStart ?? '-'}), ${formatBytes(result.size)} checked`);
      return {
        step: 'resume',
        ok,
        detail: `interrupted at ${formatBytes(kept)}, resumed with Range from byte ${rangeStart ?? '-'}; sha256 ${digest === expected ? 'verified' : 'WRONG'}`,
      };
    } finally {
      second.close();
    }
  });
}
