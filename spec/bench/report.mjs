// Turns measured runs into the printed table, the G12 verdicts, the issue 6 target checks and
// the generated part of docs/performance.md.
import { G12, TARGETS, TARGET_PEAK_MB, SPLITS, GiB, label } from './scenarios.mjs';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const mb = (kib) => (kib * 1024) / 1e6;
const fmtS = (ms) => (ms / 1000).toFixed(2);
/** A pairRatio() result as text: `1.23× (per round 1.10–1.40: 1.10, 1.40, 1.23)`, each pair's ratio in round order. */
const fmtRatio = (x) => `${x.value.toFixed(2)}× (per round ${x.min.toFixed(2)}–${x.max.toFixed(2)}: ${x.pairs.map((r) => r.toFixed(2)).join(', ')})`;

/** The figure compared for a run: the client's own time for microbenchmarks, else the process' wall time. */
export const figure = (scenario, run) => (scenario.kind === 'micro' ? run.clientMs : run.wallMs);

/**
 * The runs `mine` over the runs `theirs` on `value`: median over median (`value`), and the ratio
 * of each pair of runs made in the same round, side by side (`pairs`, in round order), with their
 * median (`pairMedian`) and range (`min`, `max`).
 */
export function pairRatio(mine, theirs, value) {
  const pairs = mine
    .map((a) => [a, theirs.find((b) => b.round === a.round)])
    .filter(([, b]) => b)
    .sort(([a], [b]) => a.round - b.round)
    .map(([a, b]) => value(a) / value(b));
  return { value: median(mine.map(value)) / median(theirs.map(value)), pairMedian: median(pairs), min: Math.min(...pairs), max: Math.max(...pairs), pairs };
}

/**
 * Summaries per scenario and tool: medians, ranges, peak RSS, and ratios of the scenario's
 * subject (its first tool) to each other tool: median over median, and the range of the
 * per-round ratios of runs made side by side.
 */
export function summarize(scenarios, runs) {
  const rows = [];
  for (const scenario of scenarios) {
    const here = runs.filter((r) => r.scenario === scenario.id);
    const toolNames = [...new Set(here.map((r) => r.tool))];
    const subject = toolNames.find((t) => t === scenario.tools[0]);
    const mine = here.filter((r) => r.tool === subject);
    for (const tool of toolNames) {
      const theirs = here.filter((r) => r.tool === tool);
      const values = theirs.map((r) => figure(scenario, r));
      const rss = theirs.map((r) => r.maxRssKiB).filter((v) => Number.isFinite(v));
      const row = {
        scenario: scenario.id,
        kind: scenario.kind,
        group: scenario.group,
        tool,
        runs: theirs.length,
        ms: { median: median(values), min: Math.min(...values), max: Math.max(...values) },
        opsPerSecond: scenario.kind === 'micro' ? median(theirs.map((r) => (scenario.count * 1000) / r.clientMs)) : undefined,
        cpuS: theirs.every((r) => Number.isFinite(r.userS)) ? median(theirs.map((r) => r.userS + r.sysS)) : undefined,
        // The client's own time, from after its imports to its last byte (clients/common.mjs): no
        // process start-up, no module loading. None for curl (and the micro kinds report it as `ms`).
        inProcessMs: scenario.kind !== 'micro' && theirs.every((r) => Number.isFinite(r.clientMs)) ? median(theirs.map((r) => r.clientMs)) : undefined,
        peakRssMB: rss.length ? { median: mb(median(rss)), max: mb(Math.max(...rss)) } : undefined,
        progressEvents: theirs[0].events >= 0 ? median(theirs.map((r) => r.events)) : undefined,
        journal: theirs[0].journal ? Object.fromEntries(Object.keys(theirs[0].journal).map((k) => [k, median(theirs.map((r) => r.journal[k]))])) : undefined,
      };
      if (tool !== subject && mine.length) {
        const ratio = (value) => pairRatio(mine, theirs, value);
        row.subjectRatio = {
          of: subject,
          ...ratio((r) => figure(scenario, r)),
          rss: rss.length ? median(mine.map((r) => r.maxRssKiB)) / median(rss) : undefined,
        };
        if (row.inProcessMs !== undefined && mine.every((r) => Number.isFinite(r.clientMs))) row.subjectRatio.inProcess = ratio((r) => r.clientMs);
      }
      rows.push(row);
    }
  }
  return rows;
}

/**
 * G12 verdicts (enforced): the highest peak of rxtransfer in any run under the ceiling, and
 * each `flatOf` scenario's median peak within G12.flatness of the smaller size's (medians: a
 * single run's peak moves with GC timing). With `flatnessAdvisory` (quick: small sizes end
 * before the GC plateau) flatness is reported but does not fail.
 */
export function g12Verdicts(scenarios, rows, { flatnessAdvisory = false } = {}) {
  const verdicts = [];
  const peak = (id) => rows.find((r) => r.scenario === id && r.tool === 'rxtransfer')?.peakRssMB;
  for (const scenario of scenarios.filter((s) => s.kind === 'download' || s.kind === 'upload')) {
    const value = peak(scenario.id);
    if (value === undefined) continue;
    verdicts.push({
      check: `${scenario.id}: peak RSS < ${G12.maxPeakBytes / 1e6} MB (highest of all runs)`,
      ok: value.max * 1e6 < G12.maxPeakBytes,
      detail: `${value.max.toFixed(1)} MB`,
    });
    const small = scenario.flatOf && peak(scenario.flatOf);
    if (small !== undefined) {
      const growth = (value.median - small.median) / small.median;
      verdicts.push({
        check: `${scenario.id} vs ${scenario.flatOf.replace('memory ', '')}: same median peak within ${G12.flatness * 100}%`,
        ok: Math.abs(growth) <= G12.flatness,
        advisory: flatnessAdvisory,
        detail: `${value.median.toFixed(1)} vs ${small.median.toFixed(1)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%)`,
      });
    }
  }
  return verdicts;
}

/** Issue 6 targets (reported, never enforced): ratios of medians and peak RSS. */
export function targetChecks(scenarios, rows) {
  const checks = [];
  for (const t of TARGETS) {
    for (const s of scenarios.filter((x) => x.kind === t.kind && !x.group)) {
      const row = rows.find((r) => r.scenario === s.id && r.tool === t.peer);
      if (!row?.subjectRatio) continue;
      const r = row.subjectRatio;
      const check = `${s.id}: ${t.what ?? `rxtransfer ÷ ${t.peer}`} ≤ ${t.max.toFixed(2)}×`;
      checks.push({ check: `${check}, whole process`, ok: r.value <= t.max, detail: fmtRatio(r) });
      if (r.inProcess) checks.push({ check: `${check}, in process`, ok: r.inProcess.value <= t.max, detail: fmtRatio(r.inProcess) });
    }
  }
  for (const s of scenarios.filter((x) => (x.kind === 'download' || x.kind === 'upload') && !x.group)) {
    const row = rows.find((r) => r.scenario === s.id && r.tool === 'rxtransfer');
    if (row?.peakRssMB) checks.push({ check: `${s.id}: rxtransfer peak RSS ≤ ${TARGET_PEAK_MB} MB`, ok: row.peakRssMB.max <= TARGET_PEAK_MB, detail: `${row.peakRssMB.median.toFixed(1)} MB median, ${row.peakRssMB.max.toFixed(1)} MB max` });
  }
  return checks;
}

/**
 * How the gaps split (scenarios.mjs, SPLITS): each control over the tool it differs from by one
 * thing, whole process and in process, with the per-round ranges. Pairs whose tools did not
 * both run are left out.
 */
export function splitFigures(scenarios, runs) {
  const figures = [];
  for (const split of SPLITS) {
    for (const s of scenarios.filter((x) => x.kind === split.kind && !x.group)) {
      const of = runs.filter((r) => r.scenario === s.id && r.tool === split.of);
      const over = runs.filter((r) => r.scenario === s.id && r.tool === split.over);
      if (!of.length || !over.length) continue;
      const whole = pairRatio(of, over, (r) => r.wallMs);
      const inProcess = [...of, ...over].every((r) => Number.isFinite(r.clientMs)) ? pairRatio(of, over, (r) => r.clientMs) : undefined;
      figures.push({
        check: `${s.id}: ${split.of} ÷ ${split.over}`,
        detail: `${fmtRatio(whole)}${inProcess ? `; in process ${fmtRatio(inProcess)}` : ''}: ${split.what}`,
      });
    }
  }
  return figures;
}

const fmtBytes = (bytes) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} KB`);

/**
 * Scenario 7 (sessions): what the session's journal took, per GiB transferred and in all (each
 * figure the median of the session's runs; clients/rxtransfer.mjs says what is counted), and
 * the session's time over the plain downloads'. Per GiB is the run's figure scaled to 1 GiB:
 * exact in a full run (1 GiB in all); with --quick (64 MiB) it overstates, as most records are
 * per task, not per byte.
 */
export function journalFigures(scenarios, rows) {
  const figures = [];
  for (const s of scenarios.filter((x) => x.kind === 'files')) {
    const mine = rows.find((r) => r.scenario === s.id && r.journal);
    if (!mine) continue;
    const j = mine.journal;
    const total = s.size * s.count;
    const peer = rows.find((r) => r.scenario === s.id && r.subjectRatio);
    figures.push({
      check: `${s.id}: journal per GiB transferred`,
      detail:
        `${fmtBytes((j.written * GiB) / total)} (${fmtBytes(j.written)} for ${label(total)}: ${j.records} records in ${j.appends} appends, ` +
        `each fdatasync'd; ${j.compactions} compactions; ${fmtBytes(j.stored)} on disk after close)` +
        (peer ? `; time ${mine.tool} ÷ ${peer.tool} ${fmtRatio(peer.subjectRatio)}` : ''),
    });
  }
  return figures;
}

/** The table as Markdown (also printed). */
export function formatTable(rows) {
  const header = ['scenario', 'tool', 'median', 'min–max', 'in process', 'cpu s', 'peak RSS MB (median / max)', 'rxtransfer ÷ tool, time (per-round range)', 'in process ÷', 'RSS ratio'];
  const lines = rows.map((r) => {
    const micro = r.kind === 'micro';
    const value = micro ? `${Math.round(r.opsPerSecond).toLocaleString('en-US')} ops/s` : `${fmtS(r.ms.median)} s`;
    const range = micro ? `${fmtS(r.ms.min)}–${fmtS(r.ms.max)} s` : `${fmtS(r.ms.min)}–${fmtS(r.ms.max)}`;
    return [
      r.scenario,
      r.tool,
      value,
      range,
      r.inProcessMs === undefined ? '' : `${fmtS(r.inProcessMs)} s`,
      r.cpuS === undefined ? '' : r.cpuS.toFixed(2),
      r.peakRssMB ? `${r.peakRssMB.median.toFixed(1)} / ${r.peakRssMB.max.toFixed(1)}` : '',
      r.subjectRatio ? `${r.subjectRatio.value.toFixed(2)}× (${r.subjectRatio.min.toFixed(2)}–${r.subjectRatio.max.toFixed(2)})` : '—',
      r.subjectRatio?.inProcess ? `${r.subjectRatio.inProcess.value.toFixed(2)}×` : '—',
      r.subjectRatio?.rss ? `${r.subjectRatio.rss.toFixed(2)}×` : '—',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => '| ' + cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ') + ' |';
  return [fmt(header), '|' + widths.map((w, i) => (i >= 2 ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|', ...lines.map(fmt)].join('\n');
}

/**
 * Why a run does not rewrite docs/performance.md (undefined: it does). The page describes lib/ at
 * its commit, every scenario and every peer, with issue 6's 5 pairs at least and a `sync` before
 * each run; --quick, --only, --tools, fewer rounds, --compare, a patched --lib or --no-sync do not.
 */
export function docsSkipped({ quick, only, tools, rounds, compare, lib, 'no-sync': noSync, 'no-docs': noDocs }) {
  if (noDocs) return '--no-docs';
  if (quick) return '--quick';
  if (only) return '--only';
  if (tools) return '--tools';
  if (rounds < 5) return `${rounds} rounds (issue 6: 5 pairs at least)`;
  if (compare) return '--compare';
  if (lib !== undefined && lib !== 'src' && lib !== 'dist') return `--lib ${lib} (not lib/ or its build)`;
  if (noSync) return '--no-sync';
  return undefined;
}

export const DOC_BEGIN = '<!-- bench:begin (generated by `npm run bench`; edit around it, not inside) -->';
export const DOC_END = '<!-- bench:end -->';

/** The generated part of docs/performance.md: machine, versions, date, the table, verdicts. */
export function docSection(record, table, verdicts, targets, journals, splits = []) {
  const m = record.machine;
  const v = record.versions;
  const line = (x) => `- ${x.ok ? 'met' : x.advisory ? 'note' : 'missed'}: ${x.check}: ${x.detail}`;
  return [
    DOC_BEGIN,
    `Run of ${record.date.slice(0, 16).replace('T', ' ')} UTC, ${record.mode}, ${record.rounds} rounds${record.compare ? `, compared with ${record.compare}` : ''}.`,
    `Machine: ${m.platform}, ${m.cpus} × ${m.cpu}, ${(m.memoryBytes / 2 ** 30).toFixed(0)} GiB RAM; temporary files in ${m.tmpdir}.`,
    `Versions: Node ${v.node}, axios ${v.axios}, got ${v.got ?? '—'}, undici ${v.undici ?? '—'}, rxjs ${v.rxjs}, ${v.curl ?? 'no curl'}; rxtransfer at ${v.commit?.slice(0, 12) ?? '?'} (lib from ${record.lib}, plus uncommitted changes if any).`,
    '',
    table,
    '',
    'G12 (enforced, exit 1 when missed):',
    ...verdicts.map(line),
    '',
    'Issue 6 targets (reported, not enforced):',
    ...targets.map(line),
    ...(splits.length ? ['', 'Where the gaps go (each control over the tool it differs from by one thing):', ...splits.map((x) => `- ${x.check}: ${x.detail}`)] : []),
    ...(journals.length ? ['', 'Sessions (issue 6, scenario 7), what the journal wrote:', ...journals.map((x) => `- ${x.check}: ${x.detail}`)] : []),
    ...(record.notRun?.length ? ['', 'Not run on this machine:', ...record.notRun.map((x) => `- ${x.scenario}: ${x.tool}: ${x.reason}`)] : []),
    DOC_END,
  ].join('\n');
}

export { label };
