/**
 * A process that writes a session's journal through the file store, for the spec of an append cut
 * short by the disk. Run under `ulimit -f` (RLIMIT_FSIZE: a write past the limit stores what fits,
 * and the next one fails with EFBIG; Node ignores SIGXFSZ), bundled by `node-bundle.ts` and started
 * as `node <bundle> <config json>`. Opens the session, writes `first`, then writes each of
 * `grouped` at once (one append for all of them), prints `{"first":…,"grouped":[…]}` (`ok` or
 * the error's code for each write), then closes the session and exits (`end: 'close'`) or waits to
 * be killed (`end: 'kill'`, for at most 30 s).
 */
import { fileSessionStore } from '../../lib/internal/node/session-file-store';
import type { TaskRecord } from '../../lib/internal/session/session-task';

export interface JournalAppendChildConfig {
  directory: string;
  id: string;
  first: TaskRecord;
  grouped: TaskRecord[];
  end: 'close' | 'kill';
}

const outcome = (write: Promise<void>) => write.then(
  () => 'ok',
  (error: NodeJS.ErrnoException) => error.code ?? error.message,
);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as JournalAppendChildConfig;
  const handle = await fileSessionStore({ directory: config.directory }).open(config.id);
  const first = await outcome(handle.write([{ type: 'put', task: config.first }]));
  const grouped = await Promise.all(config.grouped.map((task) => outcome(handle.write([{ type: 'put', task }]))));
  process.stdout.write(JSON.stringify({ first, grouped }) + '\n');
  if (config.end === 'close') {
    await handle.close();
    return;
  }
  setTimeout(() => process.exit(3), 30_000);
}

main().catch((error: unknown) => {
  process.stderr.write(String((error as Error)?.stack ?? error) + '\n');
  process.exit(2);
});
