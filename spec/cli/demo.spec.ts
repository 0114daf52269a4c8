/**
 * `rxtransfer demo` as a user runs it (`npm start`): a child process, stdout a pipe. The tour
 * must finish by itself, exit 0 and print its summary, well within a minute; `--web` serves the
 * page until interrupted. The page itself is tested in Chromium by spec/e2e/browser/demo.spec.ts.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAllClis, removeCliEntry, runCli, startCli } from '../helpers/cli-run.js';

let cwd: string;

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'rxtransfer-cli-demo-'));
});
afterAll(() => {
  killAllClis();
  removeCliEntry();
  rmSync(cwd, { recursive: true, force: true });
});

describe('rxtransfer demo', () => {
  it('runs the tour by itself: every step ok, a summary, exit 0, in well under a minute', async () => {
    const started = Date.now();
    const r = await runCli(['demo'], { cwd, timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(seconds).toBeLessThan(60);
    expect(r.stdout).toMatch(/^rxtransfer demo: a loopback server at http:\/\/127\.0\.0\.1:\d+, files in /);
    for (const step of ['download', 'upload', 'cancel', 'session', 'eap']) {
      expect(r.stdout).toMatch(new RegExp(`^  ok    ${step}\\s`, 'm'));
    }
    expect(r.stdout).toMatch(/^5 of 5 ok in [\d.]+ s$/m);
    expect(r.stdout).not.toContain('FAIL');
    // What each step shows.
    expect(r.stdout).toMatch(/sha256 verified/);
    expect(r.stdout).toMatch(/server saw the connection close: yes; files left: none/);
    expect(r.stdout).toMatch(/TransferSession closed at .+, reopened, resumed with Range from byte [1-9]\d*; sha256 verified/);
    expect(r.stdout).toMatch(/downloadProgressChanged +100%/);
    expect(r.stdout).toMatch(/downloadCompleted +cancelled=false error=null result\.size=3\.00 MiB {2}userState=report/);
    // Not a terminal: plain lines, no escape codes; and nothing left behind in the working directory.
    // eslint-disable-next-line no-control-regex -- looking for escape codes is the point
    expect(r.stdout).not.toMatch(/\u001b/);
    expect(readdirSync(cwd)).toEqual([]);
  }, 65_000);

  it('--help shows the options and examples', async () => {
    const r = await runCli(['demo', '--help'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--web');
    expect(r.stdout).toContain('--no-open');
    expect(r.stdout).toContain('$ rxtransfer demo --web --port 8080 --no-open');
  });

  it('2: --port without --web, or a port that is not a number', async () => {
    const a = await runCli(['demo', '--port', '8080'], { cwd });
    expect(a.code).toBe(2);
    expect(a.stderr).toBe('rxtransfer: --port and --no-open go with --web (see rxtransfer demo --help)\n');
    const b = await runCli(['demo', '--web', '--port', 'http'], { cwd });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^rxtransfer: .*not a port number: http/);
  });

  it('--web serves the page and its endpoints on 127.0.0.1 until Ctrl-C (exit 130)', async () => {
    const run = startCli(['demo', '--web', '--port', '0', '--no-open'], { cwd, timeoutMs: 30_000 });
    const printed = /the browser demo is at (http:\/\/127\.0\.0\.1:\d+)\//;
    await run.waitForStdout((out) => printed.test(out), 20_000);
    const origin = printed.exec(run.stdout())![1]!;
    const page = await fetch(`${origin}/`, { signal: AbortSignal.timeout(5_000) });
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script type="module" src="/demo.js">');
    const script = await fetch(`${origin}/demo.js`, { signal: AbortSignal.timeout(5_000) });
    expect(script.status).toBe(200);
    expect((await script.text()).length).toBeGreaterThan(10_000);
    const bytes = await fetch(`${origin}/api/bytes?size=1000&id=t`, { signal: AbortSignal.timeout(5_000) });
    expect((await bytes.arrayBuffer()).byteLength).toBe(1000);
    const stats = (await (await fetch(`${origin}/api/stats`, { signal: AbortSignal.timeout(5_000) })).json()) as { downloads: Record<string, unknown> };
    expect(stats.downloads['t']).toMatchObject({ sent: 1000, complete: true });
    run.child.kill('SIGINT');
    const result = await run.exited;
    expect(result.code).toBe(130);
    expect(result.stderr).toBe('rxtransfer demo: stopped\n');
  }, 40_000);
});
