import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * The benchmark harness (spec/bench, `npm run bench`): its ES modules are loaded in a child
 * `node` (jest's CommonJS cannot import them), and the runner itself is run on a small scenario.
 */

const ROOT = resolve(__dirname, '..', '..');
const BENCH = join(ROOT, 'spec', 'bench');

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rxtransfer-bench-harness-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs `code` as an ES module in `node` (cwd: the repo), with `env` over the environment; returns what it prints as JSON. */
function evaluate(code: string, env: NodeJS.ProcessEnv = {}): unknown {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`node exited with ${r.status ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const moduleUrl = (name: string) => JSON.stringify(`file://${join(BENCH, name)}`);

/** Runs spec/bench/run.mjs with `args`; resolves with its exit code and output (killed after 120 s). */
function runBench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(BENCH, 'run.mjs'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((done) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe('bench tools: a peer missing here is named with the reason, not silently dropped', () => {
  it('without curl on PATH: curl is listed as not run (not found on PATH), and is not among the tools that run', () => {
    const got = evaluate(
      `import { availableTools, toolsFor, notRun } from ${moduleUrl('tools.mjs')};
       import { allScenarios } from ${moduleUrl('scenarios.mjs')};
       const tools = availableTools({ rxtransferClient: 'r.mjs', microClient: 'm.mjs' });
       const download = allScenarios({ quick: true }).find((s) => s.kind === 'download');
       console.log(JSON.stringify({ running: toolsFor(download, tools).map((t) => t.name), notRun: notRun(download, tools) }));`,
      { PATH: tmp },
    ) as { running: string[]; notRun: Array<{ tool: string; reason: string }> };
    expect(got.running).not.toContain('curl');
    expect(got.running).toContain('node:http');
    expect(got.notRun).toEqual([{ tool: 'curl', reason: 'not found on PATH' }]);
  });

  it('the runner prints a note for the peer it cannot run, records it, and refuses an unknown --tools name', async () => {
    const out = join(tmp, 'bench.json');
    const work = join(tmp, 'work');
    mkdirSync(work);
    // PATH without curl (nor `sync`: --no-sync); 1 round of the quick 16 MiB upload, rxtransfer and curl.
    const r = await runBench(['--quick', '--only', 'upload 16 MiB', '--rounds', '1', '--tools', 'curl', '--no-sync', '--out', out, '--tmp', work], { PATH: tmp });
    expect(r.stderr).toContain('note: upload 16 MiB: curl not run: not found on PATH');
    expect(r.stdout).toContain('note  upload 16 MiB: curl not run: not found on PATH');
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8')).notRun).toEqual([{ scenario: 'upload 16 MiB', tool: 'curl', reason: 'not found on PATH' }]);
    expect(readdirSync(work)).toEqual([]); // temporary files removed

    const typo = await runBench(['--quick', '--only', 'upload 16 MiB', '--rounds', '1', '--tools', 'nodehttp', '--no-sync', '--out', out, '--tmp', work]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('--tools: no tool named nodehttp');
    expect(readdirSync(work)).toEqual([]);
  }, 240_000);
});

describe('bench report', () => {
  it('keeps the ratio of each pair (runs of one round), their median and range, beside the median over median', () => {
    const got = evaluate(
      `import { pairRatio } from ${moduleUrl('report.mjs')};
       const mine = [{ round: 1, ms: 30 }, { round: 0, ms: 10 }, { round: 2, ms: 20 }];
       const theirs = [{ round: 0, ms: 5 }, { round: 1, ms: 30 }, { round: 2, ms: 10 }];
       console.log(JSON.stringify(pairRatio(mine, theirs, (r) => r.ms)));`,
    );
    // Median over median 20 / 10 = 2; pairs by round: 10/5, 30/30, 20/10.
    expect(got).toEqual({ value: 2, pairMedian: 2, min: 1, max: 2, pairs: [2, 1, 2] });
  });

  it('the targets give the ratio of each pair, in round order', () => {
    const got = evaluate(
      `import { summarize, targetChecks } from ${moduleUrl('report.mjs')};
       import { allScenarios } from ${moduleUrl('scenarios.mjs')};
       const scenario = allScenarios({ quick: true }).find((s) => s.kind === 'upload');
       const run = (tool, round, wallMs) => ({ scenario: scenario.id, tool, round, wallMs, maxRssKiB: 1000, events: -1 });
       const runs = [run('rxtransfer', 0, 10), run('node:http', 0, 10), run('node:http', 1, 10), run('rxtransfer', 1, 15), run('rxtransfer', 2, 12), run('node:http', 2, 10)];
       console.log(JSON.stringify(targetChecks([scenario], summarize([scenario], runs)).map((t) => t.detail)));`,
    ) as string[];
    expect(got[0]).toBe('1.20× (per round 1.00–1.50: 1.00, 1.50, 1.20)');
  });

  it('the table says its ratio is of time (the micro rows show ops/s, the inverse)', () => {
    const got = evaluate(
      `import { formatTable } from ${moduleUrl('report.mjs')};
       console.log(JSON.stringify(formatTable([]).split('\\n')[0]));`,
    ) as string;
    expect(got).toContain('rxtransfer ÷ tool, time');
  });

  it('docs/performance.md is rewritten only by a full run of lib/ with 5 pairs at least (issue 6)', () => {
    const got = evaluate(
      `import { docsSkipped } from ${moduleUrl('report.mjs')};
       const full = { lib: 'src', rounds: 5 };
       console.log(JSON.stringify([
         docsSkipped(full), docsSkipped({ ...full, lib: 'dist', rounds: 7 }),
         docsSkipped({ ...full, rounds: 2 }), docsSkipped({ ...full, quick: true }), docsSkipped({ ...full, only: 'upload' }),
         docsSkipped({ ...full, tools: 'curl' }), docsSkipped({ ...full, compare: '/tmp/x/lib' }), docsSkipped({ ...full, lib: '/tmp/x/lib' }),
         docsSkipped({ ...full, 'no-sync': true }), docsSkipped({ ...full, 'no-docs': true }),
       ]));`,
    ) as Array<string | null>;
    expect(got.slice(0, 2)).toEqual([null, null]);
    expect(got.slice(2).every((reason) => typeof reason === 'string' && reason.length > 0)).toBe(true);
    expect(got[2]).toMatch(/2 rounds/);
  });
});

describe('bench measure', () => {
  it('a client that runs past the time limit is killed and reported as such', async () => {
    const started = Date.now();
    const got = evaluate(
      `import { measure } from ${moduleUrl('measure.mjs')};
       try {
         await measure([process.execPath, '-e', 'setTimeout(() => {}, 30000)'], { timeoutMs: 300, statsFile: ${JSON.stringify(join(tmp, 'time.txt'))} });
         console.log(JSON.stringify('resolved'));
       } catch (e) {
         console.log(JSON.stringify(e.message));
       }`,
    ) as string;
    expect(got).toMatch(/ran past the 0\.3 s time limit and was killed/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
