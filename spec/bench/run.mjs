// `npm run bench` — the G12 memory benchmark (and the frame the full benchmark grows in).
//
// Every transfer runs as its own process against a loopback server in another process
// (server.mjs), so each figure is the whole client process: wall time from spawn to exit and
// peak RSS from GNU time. rxtransfer and its peers (node:http, axios, curl) run in rounds,
// side by side, the order rotated each round; ratios are rxtransfer ÷ peer.
//
//   npm run bench                      1 GiB / 256 MiB download, 256 MiB / 64 MiB upload, 5 rounds
//   npm run bench -- --quick           64 / 16 MiB download, 16 / 4 MiB upload, 2 rounds (CI)
//   npm run bench -- --rounds 3 --only upload --tools rxtransfer,curl --lib dist --no-check
//   npm run bench -- --lib /tmp/patched/lib   (bundle a patched copy of lib/ instead of lib/)
//   npm run bench -- --compare /tmp/patched/lib --tools node:http   (lib/ and a patched copy side by side)
//
// Prints a table, writes spec/.output/bench.json, and exits 1 when a G12 target is missed
// (unless --no-check; with --quick only the 150 MB ceiling is enforced). Before each run the runner calls `sync` (not timed; --no-sync skips it).
// Temporary files live in os.tmpdir() and are removed at the end.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { buildRxtransferClient } from './build-client.mjs';
import { GNU_TIME, measure, killRunning } from './measure.mjs';
import { availableTools } from './tools.mjs';
import { memoryScenarios, label, MiB } from './scenarios.mjs';
import { summarize, g12Verdicts, formatTable } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    pairs: { type: 'string' },
    only: { type: 'string' },
    tools: { type: 'string' },
    lib: { type: 'string', default: 'src' },
    compare: { type: 'string' },
    out: { type: 'string', default: join(root, 'spec', '.output', 'bench.json') },
    'no-check': { type: 'boolean', default: false },
    'no-sync': { type: 'boolean', default: false },
  },
});
const rounds = Number(opts.rounds ?? opts.pairs ?? (opts.quick ? 2 : 5));
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds must be a whole number >= 1, got ${opts.rounds}`);
if (opts.lib !== 'src' && opts.lib !== 'dist' && !existsSync(join(opts.lib, 'index.node.ts'))) {
  throw new Error(`--lib must be src, dist or a directory holding index.node.ts, got ${opts.lib}`);
}
if (opts.compare !== undefined && !existsSync(join(opts.compare, 'index.node.ts'))) {
  throw new Error(`--compare must be a directory holding index.node.ts, got ${opts.compare}`);
}

const log = (line) => process.stderr.write(line + '\n');

/** Starts server.mjs as its own process; resolves with {child, port}. */
async function startServer() {
  const child = spawn(process.execPath, [join(here, 'server.mjs'), '--exit-with-stdin'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdout.setEncoding('utf8');
  let buffered = '';
  const port = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before listening`)));
    child.stdout.on('data', (s) => {
      buffered += s;
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n')) resolve(JSON.parse(line).port);
    });
  });
  child.removeAllListeners('exit');
  return { child, port };
}

async function stopServer(server) {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/** Writes a file of `size` bytes (one random 1 MiB block, repeated) without holding it. */
async function makeFile(path, size) {
  const block = randomBytes(MiB);
  const out = createWriteStream(path, { highWaterMark: 4 * MiB });
  for (let at = 0; at < size; at += MiB) {
    if (!out.write(at + MiB <= size ? block : block.subarray(0, size - at))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function version(argv) {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).split('\n')[0].trim();
  } catch {
    return undefined;
  }
}

async function main(state) {
  let scenarios = memoryScenarios({ quick: opts.quick });
  if (opts.only) scenarios = scenarios.filter((s) => s.id.includes(opts.only) || s.mode === opts.only);
  if (scenarios.length === 0) throw new Error(`--only ${opts.only} matches no scenario`);

  state.tmp = await mkdtemp(join(os.tmpdir(), 'rxt-bench-'));
  const needed = Math.max(...scenarios.map((s) => s.size)) + scenarios.filter((s) => s.mode === 'upload').reduce((a, s) => a + s.size, 0) + 64 * MiB;
  const fsStats = await statfs(state.tmp);
  if (fsStats.bavail * fsStats.bsize < needed) throw new Error(`${state.tmp} has ${label(fsStats.bavail * fsStats.bsize)} free; this run needs ${label(needed)}`);

  const client = opts.lib === 'dist' ? join(here, 'clients', 'rxtransfer.mjs') : await buildRxtransferClient(opts.lib === 'src' ? undefined : resolve(opts.lib));
  const compareClient = opts.compare ? await buildRxtransferClient(resolve(opts.compare), join(root, 'spec', '.output', 'bench-compare')) : undefined;
  let tools = availableTools(client, { compareClient });
  if (opts.tools) {
    const wanted = opts.tools.split(',');
    tools = tools.filter((t) => t.subject || wanted.includes(t.name) || t.name === 'rxtransfer@compare');
  }
  if (!GNU_TIME) log('note: GNU time not found; peak RSS is what node clients report, none for curl');

  state.server = await startServer();
  const base = `http://127.0.0.1:${state.server.port}`;
  const sources = new Map();
  for (const s of scenarios.filter((s) => s.mode === 'upload')) {
    const path = join(state.tmp, `up-${s.size}.bin`);
    await makeFile(path, s.size);
    sources.set(s.id, path);
  }

  const statsFile = join(state.tmp, 'time.txt');
  const timeoutMs = opts.quick ? 60_000 : 600_000;
  // Flush dirty pages before each run (outside its time), so one run's writeback does not land in the next.
  const settle = !opts['no-sync'] && process.platform !== 'win32';
  const runOnce = async (tool, mode, size, source) => {
    const target = join(state.tmp, `down-${tool.name.replace(/\W/g, '')}.bin`);
    const [url, file] = mode === 'download' ? [`${base}/bytes/${size}`, target] : [`${base}/sink`, source];
    try {
      if (settle) execFileSync('sync');
      const m = await measure(tool.argv(mode, url, file), { timeoutMs, statsFile });
      if (tool.reports && !m.client) {
        throw new Error(`${tool.name} ${mode} exited 0 without its result line: the transfer neither completed nor failed (nothing kept the process alive)`);
      }
      const moved = mode === 'download' ? (await stat(target)).size : m.client?.bytes ?? JSON.parse(m.stdout).received;
      if (moved !== size) throw new Error(`${tool.name} ${mode} moved ${moved} bytes, expected ${size}`);
      return m;
    } finally {
      if (mode === 'download') await rm(target, { force: true });
    }
  };

  // Warm-up (not recorded): every tool once, small, which also proves each one works here.
  const warmSource = join(state.tmp, 'warm.bin');
  await makeFile(warmSource, MiB);
  for (const tool of tools) {
    await runOnce(tool, 'download', MiB);
    await runOnce(tool, 'upload', MiB, warmSource);
  }

  const runs = [];
  for (const scenario of scenarios) {
    for (let round = 0; round < rounds; round++) {
      const order = tools.map((_, i) => tools[(i + round) % tools.length]);
      for (const tool of order) {
        const m = await runOnce(tool, scenario.mode, scenario.size, sources.get(scenario.id));
        runs.push({ scenario: scenario.id, tool: tool.name, round, wallMs: m.wallMs, maxRssKiB: m.maxRssKiB, userS: m.userS, sysS: m.sysS, clientMs: m.client?.ms, events: m.client?.events ?? -1 });
        log(`${scenario.id.padEnd(16)} ${tool.name.padEnd(10)} round ${round + 1}/${rounds}  ${(m.wallMs / 1000).toFixed(2)} s  ${((m.maxRssKiB * 1024) / 1e6).toFixed(1)} MB`);
      }
    }
  }

  const subject = tools.find((t) => t.subject).name;
  const rows = summarize(scenarios, tools, runs);
  const verdicts = g12Verdicts(scenarios, rows, subject, { flatnessAdvisory: opts.quick });
  console.log(`\nrxtransfer G12 memory benchmark (${opts.quick ? 'quick' : 'full'}, ${rounds} rounds, lib from ${opts.lib}${opts.compare ? `, compared with ${opts.compare}` : ''}); MB = 10^6 bytes\n`);
  console.log(formatTable(rows, subject));
  console.log('');
  for (const v of verdicts) console.log(`${v.ok ? 'PASS' : v.advisory ? 'note' : 'FAIL'}  G12 ${v.check}: ${v.detail}${v.advisory && !v.ok ? ' (not enforced with --quick: small sizes end before the GC plateau)' : ''}`);

  const record = {
    date: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'full',
    rounds,
    lib: opts.lib,
    compare: opts.compare,
    machine: { platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryBytes: os.totalmem() },
    versions: {
      node: process.version,
      axios: JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("axios/package.json").version)'], { cwd: root, encoding: 'utf8' })),
      curl: tools.some((t) => t.name === 'curl') ? version(['curl', '--version']) : undefined,
      commit: version(['git', '-C', root, 'rev-parse', 'HEAD']),
    },
    scenarios,
    rows,
    verdicts,
    runs,
  };
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, JSON.stringify(record, null, 2) + '\n');
  console.log(`\nwrote ${opts.out}`);
  return verdicts.every((v) => v.ok || v.advisory) || opts['no-check'] ? 0 : 1;
}

const state = {};
const cleanup = async () => {
  killRunning();
  await stopServer(state.server);
  if (state.tmp) await rm(state.tmp, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanup().finally(() => process.exit(130));
  });
}
let exitCode = 1;
try {
  exitCode = await main(state);
} catch (error) {
  log(`bench failed: ${error && error.stack ? error.stack : String(error)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
