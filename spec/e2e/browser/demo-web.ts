/**
 * Helpers of `demo.spec.ts`: `rxtransfer demo --web` as a child process (the CLI bundled by
 * `spec/helpers/cli-run.ts`), and what its server saw (`GET /api/stats`), every wait bounded.
 */
import { startCli, type CliRun } from '../../helpers/cli-run';
import type { DemoStats } from '../../../lib/cli/demo-server';

export interface DemoWeb {
  readonly run: CliRun;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
}

/** Starts `rxtransfer demo --web --port 0 --no-open` and reads the URL it prints. */
export async function startDemoWeb(cwd: string): Promise<DemoWeb> {
  const run = startCli(['demo', '--web', '--port', '0', '--no-open'], { cwd, timeoutMs: 180_000 });
  const printed = /the browser demo is at (http:\/\/127\.0\.0\.1:\d+)\//;
  await run.waitForStdout((out) => printed.test(out), 30_000);
  return { run, origin: printed.exec(run.stdout())![1]! };
}

/** What the demo server saw so far. */
export async function demoStats(origin: string): Promise<DemoStats> {
  const response = await fetch(`${origin}/api/stats`, { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as DemoStats;
}

/** Polls the server's stats until `test` holds; rejects after `ms`. */
export async function untilStats(origin: string, test: (stats: DemoStats) => boolean, ms: number, what: string): Promise<DemoStats> {
  const deadline = Date.now() + ms;
  for (;;) {
    const stats = await demoStats(origin);
    if (test(stats)) return stats;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; stats: ${JSON.stringify(stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Bounds a promise so that no test can hang. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
