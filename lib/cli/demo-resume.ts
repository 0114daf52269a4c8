/**
 * Step 4 of `rxtransfer demo`: a background session interrupted and resumed. A session (files
 * in the demo's temp directory) takes a download task; at 40% the app "quits" (`close()`: the
 * transfer stops, its partial file and the task are kept). Opening the session again, as the
 * next run of the app would, continues the task by itself with `Range` + `If-Range` from the
 * bytes on disk; its completion is delivered, checked against its sha256, and acknowledged.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TransferSession, type SessionEvent, type TaskCompletion } from '../index.node.js';
import { PARTIAL_SUFFIX } from '../node/index.js';
import { StepProgress, type StepOutcome } from './demo-display.js';
import { patternBody } from './demo-server.js';
import { formatBytes } from './format.js';
import { MiB, sha256OfFile, sriFromHex, step, STEP_TIMEOUT, type DemoContext } from './demo-steps.js';

const SESSION_ID = 'rxtransfer-demo';
const TASK_ID = 'big-file';

/** Resolves with `promise`, or rejects when `signal` aborts first. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('stopped before the session finished'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error)),
    );
  });
}

const isTaskProgress = (e: SessionEvent): e is Extract<SessionEvent, { type: 'progress' }> => e.type === 'progress' && e.taskId === TASK_ID;

export function resumeStep(ctx: DemoContext): Promise<StepOutcome> {
  return step('session', async () => {
    const size = 6 * MiB;
    const expected = patternBody(size).sha256;
    const url = `${ctx.origin}/api/bytes?size=${size}&id=session&delay=8`;
    const to = join(ctx.dir, 'session.bin');
    const options = { id: SESSION_ID, directory: join(ctx.dir, 'sessions'), timeout: STEP_TIMEOUT, retry: 2 };

    // The first run of the app: open the session, add a task, quit at 40%.
    const first = await TransferSession.open(options);
    const before = new StepProgress(ctx.out, 'session', ctx.bars);
    try {
      // 40%, or the task's end if it comes first (an error: the step fails with it, at once).
      const reached40 = new Promise<void>((resolve, reject) => {
        first.events$.subscribe((e) => {
          if (e.taskId !== TASK_ID) return;
          if (e.type === 'error') reject(new Error(`the first run of the task failed: ${e.error.message}`));
          else if (e.type === 'done') reject(new Error('the task finished before the app could quit at 40%'));
          if (!isTaskProgress(e)) return;
          before.update(e);
          if ((e.percent ?? 0) >= 40) resolve();
        });
      });
      reached40.catch(() => undefined); // handled below; it may fail before it is awaited
      await first.download(url, { to, id: TASK_ID, integrity: sriFromHex(expected) });
      await unlessAborted(reached40, ctx.signal);
    } finally {
      before.close();
      await first.close();
    }
    const kept = (await stat(to + PARTIAL_SUFFIX)).size;
    before.end(`the app quit (session.close()): task '${TASK_ID}' kept, ${formatBytes(kept)} in ${to}${PARTIAL_SUFFIX}`);

    // The next run: open the same session; the task continues by itself.
    const second = await TransferSession.open(options);
    const after = new StepProgress(ctx.out, 'session', ctx.bars);
    try {
      const queued = second.task(TASK_ID)?.state;
      second.events$.subscribe((e) => {
        if (isTaskProgress(e)) after.update(e);
      });
      const completion = await unlessAborted(
        new Promise<TaskCompletion>((resolve) => {
          second.completions$.subscribe((c) => {
            if (c.taskId === TASK_ID) resolve(c);
          });
        }),
        ctx.signal,
      );
      await completion.ack();
      const rangeStart = ctx.stats.downloads['session']?.rangeStart;
      const digest = completion.state === 'completed' ? await sha256OfFile(to) : undefined;
      const ok = completion.state === 'completed' && rangeStart === kept && kept > 0 && digest === expected && second.task(TASK_ID)?.acked === true;
      after.end(
        completion.state === 'completed'
          ? `reopened (task was ${queued ?? '?'}): resumed with Range from byte ${rangeStart ?? '-'}, completed, ${formatBytes(completion.result?.size ?? 0)}, acknowledged`
          : `reopened: the task ${completion.state}: ${completion.error?.message ?? ''}`,
      );
      return {
        step: 'session',
        ok,
        detail: `TransferSession closed at ${formatBytes(kept)}, reopened, resumed with Range from byte ${rangeStart ?? '-'}; sha256 ${digest === expected ? 'verified' : 'WRONG'}`,
      };
    } finally {
      after.close();
      await second.close();
    }
  });
}
