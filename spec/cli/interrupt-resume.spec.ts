import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { assertTransferGrammar } from 'rxtransfer/testing';
import { bodyBytes, sha256 } from '../helpers/cli-server.js';
import { cliFixture } from '../helpers/cli-fixture.js';
import { cliEntry, jsonLines, runCli, startCli, toNotifications } from '../helpers/cli-run.js';

const fixture = cliFixture('rxtransfer-cli-int-');
const freshDir = () => fixture.freshDir();

const SIZE = 2 * 1024 * 1024;
/** 16 KiB every 20 ms without Range (about 2.6 s for the whole body); a ranged request is fast. */
const SLOW = `/data/big.bin?size=${SIZE}&chunk=16384&every=20`;

/** Starts a slow download and sends `signal` once some bytes arrived; resolves with its result. */
async function interruptMidway(args: string[], cwd: string, signal: NodeJS.Signals = 'SIGINT') {
  const run = startCli(['get', fixture.server.url(SLOW), '--json', ...args], { cwd });
  await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) >= 64 * 1024));
  run.child.kill(signal);
  return run.exited;
}

describe('rxtransfer get: Ctrl-C then --resume', () => {
  it('SIGINT aborts the request, keeps the partial file, exits 130; --resume finishes with the right sha256', async () => {
    const cwd = freshDir();
    const first = await interruptMidway([], cwd);
    expect(first.code).toBe(130);
    const lines = jsonLines(first.stdout);
    assertTransferGrammar(toNotifications(lines));
    expect(lines.at(-1)).toMatchObject({ type: 'error', code: 'cancelled' });
    expect(first.stderr).toMatch(/kept in big\.bin\.partial: run the same command with --resume to continue\n$/);
    expect(first.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(cwd, 'big.bin'))).toBe(false);
    const kept = statSync(join(cwd, 'big.bin.partial')).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(SIZE);

    const before = fixture.server.requests.length;
    const second = await runCli(['get', fixture.server.url(SLOW), '--resume', '--json'], { cwd });
    expect(second.code).toBe(0);
    const resumed = jsonLines(second.stdout);
    assertTransferGrammar(toNotifications(resumed));
    expect(resumed[0]).toMatchObject({ type: 'progress' });
    expect(resumed[0]!['loaded'] as number).toBeGreaterThanOrEqual(kept);
    const ranged = fixture.server.requests.slice(before);
    expect(ranged.map((r) => r.headers.range)).toEqual([`bytes=${kept}-`]);
    expect(ranged[0]!.headers['if-range']).toBe(`"${SIZE}"`);
    expect(sha256(readFileSync(join(cwd, 'big.bin')))).toBe(sha256(bodyBytes(SIZE)));
    expect(readdirSync(cwd)).toEqual(['big.bin']);
  });

  it('SIGHUP (the terminal closed) ends it the same way: the partial file kept, its lock released, exit 129; --resume finishes it', async () => {
    const cwd = freshDir();
    const first = await interruptMidway([], cwd, 'SIGHUP');
    expect(first.code).toBe(129);
    expect(jsonLines(first.stdout).at(-1)).toMatchObject({ type: 'error', code: 'cancelled' });
    expect(readdirSync(cwd).sort()).toEqual(['big.bin.partial', 'big.bin.partial.json']);
    expect((await runCli(['get', fixture.server.url(SLOW), '--resume'], { cwd })).code).toBe(0);
    expect(sha256(readFileSync(join(cwd, 'big.bin')))).toBe(sha256(bodyBytes(SIZE)));
  });

  it('`--json | head`: stdout closed by its reader ends the run quietly (exit 141, one line on stderr, partial kept, lock released)', async () => {
    const cwd = freshDir();
    const run = startCli(['get', fixture.server.url(SLOW), '--json', '-o', 'piped.bin'], { cwd });
    await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) >= 64 * 1024));
    run.child.stdout!.destroy(); // the reader goes away, as `head -2` does
    const ended = await run.exited;
    expect(ended.code).toBe(141);
    expect(ended.stderr).not.toMatch(/Unhandled|EPIPE|\n\s+at /);
    expect(ended.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(cwd, 'piped.bin'))).toBe(false);
    expect(statSync(join(cwd, 'piped.bin.partial')).size).toBeGreaterThan(0);
    expect(existsSync(join(cwd, 'piped.bin.partial.lock'))).toBe(false);
    // and --resume continues it
    const resumed = await runCli(['get', fixture.server.url(SLOW), '-o', 'piped.bin', '--resume'], { cwd });
    expect(resumed.code).toBe(0);
    expect(sha256(readFileSync(join(cwd, 'piped.bin')))).toBe(sha256(bodyBytes(SIZE)));
  });

  it('from a server that compresses when asked: the file is asked for as it is held (identity), so SIGINT still keeps what --resume continues', async () => {
    const cwd = freshDir();
    const before = fixture.server.requests.length;
    const run = startCli(['get', fixture.server.url(`${SLOW}&gzip=1`), '--json'], { cwd });
    await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) >= 64 * 1024));
    run.child.kill('SIGINT');
    const first = await run.exited;
    expect(first.code).toBe(130);
    expect(fixture.server.requests[before]!.headers['accept-encoding']).toBe('identity');
    expect(first.stderr).toMatch(/kept in big\.bin\.partial: run the same command with --resume to continue\n$/);
    const second = await runCli(['get', fixture.server.url(`${SLOW}&gzip=1`), '--resume'], { cwd });
    expect(second.code).toBe(0);
    expect(sha256(readFileSync(join(cwd, 'big.bin')))).toBe(sha256(bodyBytes(SIZE)));
  });

  it('without --resume the next run starts over (and still ends right)', async () => {
    const cwd = freshDir();
    expect((await interruptMidway(['-o', 'again.bin'], cwd)).code).toBe(130);
    expect(existsSync(join(cwd, 'again.bin.partial'))).toBe(true);
    const before = fixture.server.requests.length;
    const r = await runCli(['get', fixture.server.url(`/data/big.bin?size=${SIZE}`), '-o', 'again.bin'], { cwd });
    expect(r.code).toBe(0);
    expect(fixture.server.requests.slice(before).map((q) => q.headers.range)).toEqual([undefined]);
    expect(sha256(readFileSync(join(cwd, 'again.bin')))).toBe(sha256(bodyBytes(SIZE)));
    expect(readdirSync(cwd)).toEqual(['again.bin']);
  });

  it('with --content-disposition the side file is resumed under the same name', async () => {
    const cwd = freshDir();
    const cd = encodeURIComponent('attachment; filename="named.bin"');
    const url = fixture.server.url(`${SLOW}&cd=${cd}`);
    const run = startCli(['get', url, '-J', '--json'], { cwd });
    await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) >= 64 * 1024));
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(130);
    expect(readdirSync(cwd).some((f) => f.endsWith('.download.partial'))).toBe(true);
    expect(existsSync(join(cwd, 'named.bin'))).toBe(false);
    const r = await runCli(['get', url, '-J', '--resume'], { cwd });
    expect(r.code).toBe(0);
    expect(readdirSync(cwd)).toEqual(['named.bin']);
    expect(sha256(readFileSync(join(cwd, 'named.bin')))).toBe(sha256(bodyBytes(SIZE)));
  });

  /** Runs the command with stdout on /dev/full (every write fails with ENOSPC, as on a full disk under `> file`). */
  async function runToFullDisk(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
    const out = openSync('/dev/full', 'w');
    try {
      const child = spawn(process.execPath, [cliEntry(), ...args], { cwd, stdio: ['ignore', out, 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const [code] = (await once(child, 'close')) as [number | null];
      clearTimeout(killer);
      return { code, stderr };
    } finally {
      closeSync(out);
    }
  }

  (existsSync('/dev/full') ? it : it.skip)('`--json > file` on a full disk: one line and exit 1, not a crash; the partial kept and its lock released; put says its answer is lost', async () => {
    const cwd = freshDir();
    const r = await runToFullDisk(['get', fixture.server.url(SLOW), '--json', '-o', 'full.bin'], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rxtransfer: cannot write to standard output: ENOSPC; the transfer was stopped; .* kept in full\.bin\.partial: run the same command with --resume to continue\n$/);
    expect(existsSync(join(cwd, 'full.bin'))).toBe(false);
    expect(existsSync(join(cwd, 'full.bin.partial.lock'))).toBe(false);
    const resumed = await runCli(['get', fixture.server.url(SLOW), '-o', 'full.bin', '--resume'], { cwd });
    expect(resumed.code).toBe(0);
    expect(sha256(readFileSync(join(cwd, 'full.bin')))).toBe(sha256(bodyBytes(SIZE)));

    // put: sent, but the server's answer could not be written: not a silent 0.
    const put = await runToFullDisk(['put', join(cwd, 'full.bin'), fixture.server.url('/upload')], cwd);
    expect(put.code).toBe(1);
    expect(put.stderr).toMatch(/^sent full\.bin .*: HTTP 201\nrxtransfer: cannot write to standard output: ENOSPC\n$/);
  });

  (existsSync('/dev/full') ? it : it.skip)('`session run --json > file` and `session watch --json > file` on a full disk say that stdout failed (exit 1); the task stays queued', async () => {
    const cwd = freshDir();
    const session = (action: string) => ['session', 'full', action, '--json', '--dir', join(cwd, 'sessions')];
    expect((await runCli(['session', 'full', 'add', fixture.server.url(SLOW), '-o', 'full.bin', '--id', 'f', '--dir', join(cwd, 'sessions')], { cwd })).code).toBe(0);
    const watched = await runToFullDisk(session('watch'), cwd);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toBe('rxtransfer: cannot write to standard output: ENOSPC; stopped watching session "full" (its run goes on)\n');
    const ran = await runToFullDisk(session('run'), cwd);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^rxtransfer: cannot write to standard output: ENOSPC; the run was stopped: 1 task left in session "full" \(partial files kept\)/);
    const listed = await runCli(['session', 'full', 'list', '--json', '--dir', join(cwd, 'sessions')], { cwd });
    expect(jsonLines(listed.stdout)).toEqual([expect.objectContaining({ id: 'f', state: 'queued' })]);
  });

  it('the server sees the connection close promptly after SIGINT', async () => {
    const cwd = freshDir();
    const before = fixture.server.requests.length;
    const run = startCli(['get', fixture.server.url(SLOW), '--json', '-o', 'prompt.bin'], { cwd });
    await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) >= 64 * 1024));
    const interrupted = Date.now();
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(130);
    const request = fixture.server.requests[before]!;
    // The whole body would take ~2.6 s more; the connection closes right after the signal.
    expect(request.closedAt).toBeDefined();
    expect(request.closedAt! - interrupted).toBeLessThan(1000);
  });
});
