import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { jsonLines, runCli, startCli, type CliResult, type CliRun } from './cli-run.js';

/**
 * `rxtransfer session <id> …` in child processes, each against its own temporary sessions
 * directory (`--dir`) and working directory, so no test touches ~/.rxtransfer.
 */
export interface SessionCli {
  readonly id: string;
  /** The working directory of every command (relative `-o` paths land here). */
  readonly cwd: string;
  /** The sessions directory given as `--dir`. */
  readonly dir: string;
  run(args: readonly string[], timeoutMs?: number): Promise<CliResult>;
  start(args: readonly string[], timeoutMs?: number): CliRun;
  /** `list --json`, parsed: one task object per line. */
  list(): Promise<Array<Record<string, unknown>>>;
}

export function sessionCli(id: string, makeDir: () => string): SessionCli {
  const cwd = makeDir();
  const dir = mkdtempSync(join(cwd, 'sessions-'));
  const args = (rest: readonly string[]) => ['session', id, ...rest, '--dir', dir];
  return {
    id,
    cwd,
    dir,
    run: (rest, timeoutMs) => runCli(args(rest), { cwd, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }),
    start: (rest, timeoutMs) => startCli(args(rest), { cwd, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }),
    async list() {
      const r = await runCli(args(['list', '--json']), { cwd });
      if (r.code !== 0) throw new Error(`list exited ${r.code}: ${r.stderr}`);
      return jsonLines(r.stdout);
    },
  };
}

/** Groups `--json` lines by their `taskId`, keeping only the transfer events (progress, done, error). */
export function transferLinesByTask(lines: ReadonlyArray<Record<string, unknown>>): Map<string, Array<Record<string, unknown>>> {
  const byTask = new Map<string, Array<Record<string, unknown>>>();
  for (const line of lines) {
    if (line['type'] !== 'progress' && line['type'] !== 'done' && line['type'] !== 'error') continue;
    const id = String(line['taskId']);
    const { taskId: _taskId, ...event } = line;
    byTask.set(id, [...(byTask.get(id) ?? []), event]);
  }
  return byTask;
}

/** Resolves once `test()` holds, polling every 20 ms; rejects after `ms` with `what`. */
export async function waitFor(test: () => boolean, what: () => string, ms = 10_000): Promise<void> {
  const started = Date.now();
  while (!test()) {
    if (Date.now() - started > ms) throw new Error(`not met in ${ms} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
