// Runs one client as a whole process and measures it from outside: wall time from spawn to
// exit, and peak RSS from GNU time (`/usr/bin/time`, getrusage of the child), falling back to
// the client's own `process.resourceUsage().maxRSS` when GNU time is missing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

export const GNU_TIME = ['/usr/bin/time', '/bin/time'].find((p) => existsSync(p));

/** Processes still running, so the runner can stop them on error or Ctrl-C. */
const running = new Set();

/** Kills `child` and its process group (GNU time's child); where groups cannot be signalled (Windows), the child. */
function kill(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL'); // a no-op when it is already gone
  }
}

/** Kills every measured process still running (each is its own process group). */
export function killRunning() {
  for (const child of running) kill(child);
  running.clear();
}

/**
 * Runs `argv` (a command and its arguments). Resolves with {wallMs, maxRssKiB, userS, sysS,
 * stdout, client} where `client` is the client's JSON line when it printed one; rejects when
 * the process fails or runs past `timeoutMs`.
 */
export async function measure(argv, { timeoutMs, statsFile }) {
  const command = GNU_TIME ? [GNU_TIME, '-f', '%M %U %S', '-o', statsFile, ...argv] : argv;
  const started = performance.now();
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s.slice(0, 4000)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(child);
  }, timeoutMs);
  const code = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode, signal) => resolve(signal ?? exitCode));
  }).finally(() => {
    clearTimeout(timer);
    running.delete(child);
  });
  const wallMs = performance.now() - started;
  if (timedOut) throw new Error(`${argv.join(' ')} ran past the ${timeoutMs / 1000} s time limit and was killed${stderr ? `:\n${stderr.trim()}` : ''}`);
  if (code !== 0) throw new Error(`${argv.join(' ')} exited with ${code}${stderr ? `:\n${stderr.trim()}` : ''}`);
  const lastLine = stdout.trim().split('\n').pop() ?? '';
  let client;
  try {
    client = JSON.parse(lastLine);
  } catch {
    client = undefined;
  }
  let maxRssKiB = client?.maxRssKiB;
  let userS;
  let sysS;
  if (GNU_TIME) {
    const stats = (await readFile(statsFile, 'utf8')).trim().split('\n').pop().split(' ');
    await rm(statsFile, { force: true });
    maxRssKiB = Number(stats[0]);
    userS = Number(stats[1]);
    sysS = Number(stats[2]);
  }
  return { wallMs, maxRssKiB, userS, sysS, stdout, client };
}
