import { ROOT, bundleForNode } from './node-bundle';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildConfig } from './session-child';

/**
 * Runs `session-child.ts` in a child `node` process. The child is bundled once per test file
 * with esbuild (npm packages left external), as `node -r esbuild-register` cannot resolve the
 * sources' `./x.js` specifiers. {@link killAllSessionChildren} ends every child still running.
 */
let bundle: string | undefined;
const children = new Set<ChildProcess>();

function entry(): string {
  bundle ??= bundleForNode(join(ROOT, 'spec', 'helpers', 'session-child.ts'), 'session-child', 'child');
  return bundle;
}

export interface SessionChild {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves when stdout contains `text`; rejects after `ms`. */
  waitFor(text: string, ms: number): Promise<void>;
  /** Resolves with the exit code (or signal) once the process ended. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  kill9(): Promise<void>;
}

export function startSessionChild(config: ChildConfig): SessionChild {
  const child = spawn(process.execPath, [entry(), JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      for (const l of listeners) l();
      resolve(code ?? signal);
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(text, ms) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out.includes(text)) {
            done();
            resolve();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`child ended before printing ${text}: ${err.slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`child did not print ${text} within ${ms} ms; stderr: ${err.slice(-2000)}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Kills every child still running and removes this process's bundle (call in afterAll). */
export async function killAllSessionChildren(): Promise<void> {
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
  if (bundle) rmSync(bundle, { force: true });
  bundle = undefined;
}
