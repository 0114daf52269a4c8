import { ROOT, bundleForNode } from './node-bundle';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TransferError, type TransferErrorCode } from 'rxtransfer';
import type { Notification } from 'rxtransfer/testing';

/**
 * Runs the `rxtransfer` command as a user would: a child `node` process on the CLI's entry
 * point, with pipes (not a terminal) for stdout and stderr.
 *
 * The entry is bundled once per test file with esbuild (`lib/cli/main.ts` and the library
 * sources it imports, npm packages left external): `node -r esbuild-register lib/cli/main.ts`
 * cannot resolve the sources' `./x.js` specifiers to `./x.ts`, and `dist/` depends on a build.
 * Every wait is bounded; {@link killAllClis} ends any child still running (call it in afterAll).
 */

let entry: string | undefined;
const children = new Set<ChildProcess>();

/**
 * The script to run: `RXTRANSFER_CLI` when set (e.g. `bin/rxtransfer` after `npm run build`, to
 * test the built command), else a bundle of `lib/cli/main.ts` made once per process.
 */
export function cliEntry(): string {
  if (process.env['RXTRANSFER_CLI']) return resolve(process.env['RXTRANSFER_CLI']);
  entry ??= bundleForNode(join(ROOT, 'lib', 'cli', 'main.ts'), 'cli-bin', 'main');
  return entry;
}

/** Removes this process's bundle. */
export function removeCliEntry(): void {
  if (entry) rmSync(entry, { force: true });
  entry = undefined;
}

export interface CliRun {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits (code, or null and the signal). */
  readonly exited: Promise<CliResult>;
  /** Resolves when stdout satisfies `test`, or rejects after `ms`. */
  waitForStdout(test: (stdout: string) => boolean, ms?: number): Promise<void>;
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How a test runs the command: where, how long at most, with what environment and limits. */
export interface CliOptions {
  readonly cwd: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The largest file the process may write, in KiB (`ulimit -f`, with SIGXFSZ ignored): a write
   * past it fails with EFBIG, as on a full or quota-limited disk.
   */
  readonly fileSizeLimitKiB?: number;
}

/** Starts `rxtransfer <args>` in `cwd`. The child is killed if still running after `timeoutMs`. */
export function startCli(args: readonly string[], options: CliOptions): CliRun {
  const command = [process.execPath, cliEntry(), ...args];
  const limit = options.fileSizeLimitKiB;
  // `ulimit -f` counts 1024-byte blocks in bash; an ignored signal stays ignored across exec.
  const [file, ...argv] = limit === undefined ? command : ['bash', '-c', `trap '' XFSZ; ulimit -f ${Math.floor(limit)}; exec "$@"`, 'bash', ...command];
  const child = spawn(file!, argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000);
  const exited = new Promise<CliResult>((resolvePromise) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      children.delete(child);
      resolvePromise({ code, signal, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout: (test, ms = 10_000) =>
      new Promise<void>((resolvePromise, reject) => {
        const started = Date.now();
        const poll = () => {
          if (test(out)) return resolvePromise();
          if (child.exitCode !== null || Date.now() - started > ms) return reject(new Error(`stdout condition not met in ${ms} ms; stdout:\n${out}\nstderr:\n${err}`));
          setTimeout(poll, 10);
        };
        poll();
      }),
  };
}

/** Runs `rxtransfer <args>` to its end. */
export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  return startCli(args, options).exited;
}

/** Kills every child still running. */
export function killAllClis(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/** Parses `--json` output: one object per line; throws on any line that is not JSON. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${JSON.stringify(line)}`);
      }
    });
}

/**
 * Maps `--json` lines back into the notifications a subscriber saw: progress and done are
 * `next`, done is followed by `complete`, an error object becomes `error(TransferError)`.
 */
export function toNotifications(lines: ReadonlyArray<Record<string, unknown>>): Notification<unknown>[] {
  const trace: Notification<unknown>[] = [];
  for (const line of lines) {
    if (line['type'] === 'error') {
      trace.push({ kind: 'error', error: new TransferError(line['code'] as TransferErrorCode, String(line['message'])) });
    } else {
      trace.push({ kind: 'next', value: line as never });
      if (line['type'] === 'done') trace.push({ kind: 'complete' });
    }
  }
  return trace;
}
