// `npm run bench` — issue 6: rxtransfer against curl, node:http, axios, got and undici, plus the
// event pipeline, the EAP adapters, G12's memory ceilings and sessions (scenario 7).
//
// Every transfer runs as its own process against a loopback server in another process
// (server.mjs), so each figure is the whole client process: wall time from spawn to exit and
// peak RSS from GNU time. The tools of a scenario run in rounds, side by side, the order rotated
// each round; ratios are rxtransfer ÷ tool (the median of each over the median of the other,
// and the ratio of each pair of runs of one round). See scenarios.mjs for what runs. A peer that
// cannot run here (got, undici not installed; no curl) is named in a note, never silently dropped.
//
//   npm run bench                      full: 1 GiB / 256 MiB / 2000 small / 2 GiB memory / sessions of 1 GiB, 5 rounds;
//                                      prints the table and rewrites the generated part of docs/performance.md
//                                      (only such a run does, of at least 5 rounds: see docsSkipped() in report.mjs)
//   npm run bench -- --quick           small sizes, 2 rounds, < 1 minute (CI); does not touch docs/
//   npm run bench -- --rounds 3 --only upload --tools rxtransfer,curl --lib dist --no-check
//   npm run bench -- --lib /tmp/patched/lib   (bundle a patched copy of lib/ instead of lib/)
//   npm run bench -- --compare /tmp/patched/lib --only download   (lib/ and a patched copy side by side)
//
// Writes spec/.output/bench.json, and exits 1 when a transfer breaks or a G12 ceiling is missed
// (unless --no-check; with --quick only the 150 MB ceiling is enforced, never a ratio). Before each
// run the runner calls `sync` (not timed; --no-sync skips it). Temporary files live in
// os.tmpdir() (or --tmp) and are removed at the end.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { buildRxtransferClient } from './build-client.mjs';
import { GNU_TIME, measure, killRunning } from './measure.mjs';
import { readFile } from 'node:fs/promises';
import { availableTools, toolsFor, notRun } from './tools.mjs';
import { allScenarios, label, MiB } from './scenarios.mjs';
import { summarize, g12Verdicts, targetChecks, journalFigures, splitFigures, formatTable, docSection, docsSkipped, DOC_BEGIN, DOC_END } from './report.mjs';

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
    'no-docs': { type: 'boolean', default: false },
    docs: { type: 'string', default: join(root, 'docs', 'performance.md') },
    tmp: { type: 'string' },
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

/** The bytes of <dir>/0.bin … <dir>/<count - 1>.bin, what a `files` run downloaded (a missing file throws). */
async function filesSize(dir, count) {
  const sizes = await Promise.all(Array.from({ length: count }, (_, i) => stat(join(dir, `${i}.bin`))));
  return sizes.reduce((sum, s) => sum + s.size, 0);
}

function version(argv) {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).split('\n')[0].trim();
  } catch {
    return undefined;
  }
}

async function main(state) {
  let scenarios = allScenarios({ quick: opts.quick });
  if (opts.only) scenarios = scenarios.filter((s) => opts.only.split(',').some((o) => s.id.includes(o) || s.kind === o || s.group === o));
  if (scenarios.length === 0) throw new Error(`--only ${opts.only} matches no scenario`);

  state.tmp = await mkdtemp(join(opts.tmp ?? os.tmpdir(), 'rxt-bench-'));
  const transfers = scenarios.filter((s) => s.kind === 'download' || s.kind === 'upload' || s.kind === 'files');
  const onDisk = (s) => s.size * (s.kind === 'files' ? s.count : 1);
  const needed = Math.max(0, ...transfers.map(onDisk)) + transfers.filter((s) => s.kind === 'upload').reduce((a, s) => a + s.size, 0) + 64 * MiB;
  const fsStats = await statfs(state.tmp);
  if (fsStats.bavail * fsStats.bsize < needed) throw new Error(`${state.tmp} has ${label(fsStats.bavail * fsStats.bsize)} free; this run needs ${label(needed)}`);

  const libDir = opts.lib === 'src' || opts.lib === 'dist' ? undefined : resolve(opts.lib);
  const rxtransferClient = opts.lib === 'dist' ? join(here, 'clients', 'rxtransfer.mjs') : await buildRxtransferClient(libDir);
  const microClient = await buildRxtransferClient(libDir, undefined, 'micro');
  const compareOut = join(root, 'spec', '.output', 'bench-compare');
  const compareClient = opts.compare ? await buildRxtransferClient(resolve(opts.compare), compareOut) : undefined;
  const compareMicro = opts.compare ? await buildRxtransferClient(resolve(opts.compare), compareOut, 'micro') : undefined;
  let tools = availableTools({ rxtransferClient, microClient, compareClient, compareMicro });
  if (opts.tools) {
    const wanted = opts.tools.split(',');
    const unknown = wanted.filter((name) => !tools.some((t) => t.name === name));
    if (unknown.length) throw new Error(`--tools: no tool named ${unknown.join(', ')} (tools: ${tools.map((t) => t.name).join(', ')})`);
    tools = tools.map((t) => (t.subject || t.compare || t.unavailable || wanted.includes(t.name) ? t : { ...t, unwanted: true }));
  }
  // A peer that cannot run here (got or undici not installed, no curl) is named, not silently dropped.
  // (What --tools leaves out is not noted: it was asked for.)
  const notRunHere = scenarios.flatMap((s) => notRun(s, tools).map((x) => ({ scenario: s.id, ...x })));
  for (const x of notRunHere) log(`note: ${x.scenario}: ${x.tool} not run: ${x.reason}`);
  if (!GNU_TIME) log('note: GNU time not found; peak RSS is what node clients report, none for curl');

  state.server = await startServer();
  const base = `http://127.0.0.1:${state.server.port}`;
  const sources = new Map();
  for (const s of scenarios.filter((s) => s.kind === 'upload')) {
    if (sources.has(s.size)) continue;
    const path = join(state.tmp, `up-${s.size}.bin`);
    await makeFile(path, s.size);
    sources.set(s.size, path);
  }

  const statsFile = join(state.tmp, 'time.txt');
  const timeoutMs = opts.quick ? 60_000 : 600_000;
  // Flush dirty pages before each run (outside its time), so one run's writeback does not land in the next.
  const settle = !opts['no-sync'] && process.platform !== 'win32';
  const runOnce = async (tool, scenario) => {
    const { kind, size } = scenario;
    // A download's file, or the directory of a `files` run (its downloads and its session store).
    const target = join(state.tmp, `down-${tool.name.replace(/\W/g, '')}${kind === 'files' ? '' : '.bin'}`);
    const url = kind === 'upload' ? `${base}/sink` : `${base}/bytes/${size}`;
    const file = kind === 'download' || kind === 'files' ? target : sources.get(size);
    try {
      if (kind === 'files') await mkdir(target);
      if (settle && kind !== 'micro') execFileSync('sync');
      const m = await measure(tool.argv(scenario, url, file), { timeoutMs, statsFile });
      if (tool.reports && !m.client) {
        throw new Error(`${tool.name} ${scenario.id} exited 0 without its result line: the transfer neither completed nor failed (nothing kept the process alive)`);
      }
      const expected = kind === 'small' || kind === 'files' ? size * scenario.count : kind === 'micro' ? scenario.count : size;
      const moved =
        kind === 'download' ? (await stat(target)).size : kind === 'files' ? await filesSize(target, scenario.count) : (m.client?.bytes ?? JSON.parse(m.stdout).received);
      if (moved !== expected) throw new Error(`${tool.name} ${scenario.id} moved ${moved} bytes, expected ${expected}`);
      return m;
    } finally {
      if (kind === 'download' || kind === 'files') await rm(target, { recursive: true, force: true });
    }
  };

  // Warm-up (not recorded): every tool once, small, which also proves each one works here.
  const warmSource = join(state.tmp, 'warm.bin');
  await makeFile(warmSource, MiB);
  sources.set(MiB, warmSource);
  const warm = new Map();
  for (const s of scenarios) {
    const small = s.kind === 'micro' ? { ...s, count: 10 } : s.kind === 'small' ? { ...s, count: 16 } : s.kind === 'files' ? { ...s, size: MiB, count: 2 } : { ...s, size: MiB };
    for (const tool of toolsFor(s, tools)) {
      const key = `${tool.name} ${s.kind} ${s.variant ?? ''}`;
      if (warm.has(key)) continue;
      warm.set(key, true);
      await runOnce(tool, small);
    }
  }

  const runs = [];
  for (const scenario of scenarios) {
    const here = toolsFor(scenario, tools);
    for (let round = 0; round < rounds; round++) {
      const order = here.map((_, i) => here[(i + round) % here.length]);
      for (const tool of order) {
        const m = await runOnce(tool, scenario);
        runs.push({ scenario: scenario.id, tool: tool.name, round, wallMs: m.wallMs, maxRssKiB: m.maxRssKiB, userS: m.userS, sysS: m.sysS, clientMs: m.client?.ms, events: m.client?.events ?? -1, journal: m.client?.journal });
        log(`${scenario.id.padEnd(26)} ${tool.name.padEnd(24)} round ${round + 1}/${rounds}  ${(m.wallMs / 1000).toFixed(2)} s  ${((m.maxRssKiB * 1024) / 1e6).toFixed(1)} MB`);
      }
    }
  }

  const rows = summarize(scenarios, runs);
  const verdicts = g12Verdicts(scenarios, rows, { flatnessAdvisory: opts.quick });
  const targets = targetChecks(scenarios, rows);
  const journals = journalFigures(scenarios, rows);
  const splits = splitFigures(scenarios, runs);
  const table = formatTable(rows);
  console.log(`\nrxtransfer benchmark (${opts.quick ? 'quick' : 'full'}, ${rounds} rounds, lib from ${opts.lib}${opts.compare ? `, compared with ${opts.compare}` : ''}); MB = 10^6 bytes\n`);
  console.log(table);
  console.log('');
  for (const v of verdicts) console.log(`${v.ok ? 'PASS' : v.advisory ? 'note' : 'FAIL'}  G12 ${v.check}: ${v.detail}${v.advisory && !v.ok ? ' (not enforced with --quick: small sizes end before the GC plateau)' : ''}`);
  for (const t of targets) console.log(`${t.ok ? 'met ' : 'miss'}  target ${t.check}: ${t.detail}`);
  for (const x of splits) console.log(`split ${x.check}: ${x.detail}`);
  for (const j of journals) console.log(`info  ${j.check}: ${j.detail}`);
  for (const x of notRunHere) console.log(`note  ${x.scenario}: ${x.tool} not run: ${x.reason}`);

  const packageVersion = (name) => {
    try {
      return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return undefined;
    }
  };
  const record = {
    date: new Date().toISOString(),
    mode: opts.quick ? 'quick' : 'full',
    rounds,
    lib: opts.lib,
    compare: opts.compare,
    machine: { platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryBytes: os.totalmem(), tmpdir: state.tmp.replace(/\/rxt-bench-.*$/, '') },
    versions: {
      node: process.version,
      axios: packageVersion('axios'),
      got: packageVersion('got'),
      undici: packageVersion('undici'),
      rxjs: packageVersion('rxjs'),
      curl: tools.some((t) => t.name === 'curl' && !t.unavailable && !t.unwanted) ? version(['curl', '--version']) : undefined,
      commit: version(['git', '-C', root, 'rev-parse', 'HEAD']),
    },
    scenarios,
    rows,
    verdicts,
    targets,
    journals,
    splits,
    notRun: notRunHere,
    runs,
  };
  await mkdir(dirname(opts.out), { recursive: true });
  await writeFile(opts.out, JSON.stringify(record, null, 2) + '\n');
  console.log(`\nwrote ${opts.out}`);
  // Only a full run of every scenario, issue 6's 5 pairs at least, of lib/ (or its build) describes the library.
  const skipDocs = docsSkipped({ ...opts, rounds });
  if (skipDocs) {
    if (!opts.quick && !opts['no-docs']) console.log(`${opts.docs} not rewritten: ${skipDocs}`);
  } else {
    const section = docSection(record, table, verdicts, targets, journals, splits);
    let doc = existsSync(opts.docs) ? await readFile(opts.docs, 'utf8') : `# Performance\n\n${DOC_BEGIN}\n${DOC_END}\n`;
    const a = doc.indexOf(DOC_BEGIN);
    const b = doc.indexOf(DOC_END);
    doc = a >= 0 && b > a ? doc.slice(0, a) + section + doc.slice(b + DOC_END.length) : `${doc.trimEnd()}\n\n${section}\n`;
    await writeFile(opts.docs, doc);
    console.log(`wrote ${opts.docs}`);
  }
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
