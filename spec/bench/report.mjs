// Turns measured runs into the printed table, the G12 verdicts and the JSON record.
import { G12, label } from './scenarios.mjs';

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const mb = (kib) => (kib * 1024) / 1e6;
const fmtS = (ms) => (ms / 1000).toFixed(2);

/**
 * Summaries per scenario and tool: medians, ranges, peak RSS, and ratios of the subject to each
 * peer (median over median, and the range of the per-round ratios of runs made side by side).
 */
export function summarize(scenarios, tools, runs) {
  const subject = tools.find((t) => t.subject)?.name;
  const rows = [];
  for (const scenario of scenarios) {
    const mine = runs.filter((r) => r.scenario === scenario.id && r.tool === subject);
    for (const tool of tools) {
      const theirs = runs.filter((r) => r.scenario === scenario.id && r.tool === tool.name);
      if (theirs.length === 0) continue;
      const walls = theirs.map((r) => r.wallMs);
      const rss = theirs.map((r) => r.maxRssKiB).filter((v) => Number.isFinite(v));
      const row = {
        scenario: scenario.id,
        tool: tool.name,
        runs: theirs.length,
        wallMs: { median: median(walls), min: Math.min(...walls), max: Math.max(...walls) },
        cpuS: theirs.every((r) => Number.isFinite(r.userS)) ? median(theirs.map((r) => r.userS + r.sysS)) : undefined,
        peakRssMB: rss.length ? { median: mb(median(rss)), max: mb(Math.max(...rss)) } : undefined,
        progressEvents: theirs[0].events >= 0 ? median(theirs.map((r) => r.events)) : undefined,
      };
      if (tool.name !== subject && mine.length) {
        const perRound = mine
          .map((a) => [a, theirs.find((b) => b.round === a.round)])
          .filter(([, b]) => b)
          .map(([a, b]) => a.wallMs / b.wallMs);
        row.subjectRatio = {
          wall: median(mine.map((r) => r.wallMs)) / row.wallMs.median,
          min: Math.min(...perRound),
          max: Math.max(...perRound),
          rss: rss.length ? median(mine.map((r) => r.maxRssKiB)) / median(rss) : undefined,
        };
      }
      rows.push(row);
    }
  }
  return rows;
}

/**
 * G12 verdicts for the subject: the highest peak of any run under the target, and the median
 * peak flat against the quarter size (medians: a single run's peak moves with GC timing).
 * With `flatnessAdvisory` (the quick sizes end before the GC plateau) flatness is reported but
 * does not fail.
 */
export function g12Verdicts(scenarios, rows, subject, { flatnessAdvisory = false } = {}) {
  const verdicts = [];
  const peak = (id) => rows.find((r) => r.scenario === id && r.tool === subject)?.peakRssMB;
  for (const scenario of scenarios) {
    const value = peak(scenario.id);
    if (value === undefined) continue;
    verdicts.push({
      check: `${scenario.id}: peak RSS < ${G12.maxPeakBytes / 1e6} MB (highest of all runs)`,
      ok: value.max * 1e6 < G12.maxPeakBytes,
      detail: `${value.max.toFixed(1)} MB`,
    });
    const quarter = scenarios.find((s) => s.quarterOf === scenario.id);
    const small = quarter && peak(quarter.id);
    if (small !== undefined) {
      const growth = (value.median - small.median) / small.median;
      verdicts.push({
        check: `${scenario.id} vs ${quarter.id}: same median peak within ${G12.flatness * 100}%`,
        ok: Math.abs(growth) <= G12.flatness,
        advisory: flatnessAdvisory,
        detail: `${value.median.toFixed(1)} vs ${small.median.toFixed(1)} MB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%)`,
      });
    }
  }
  return verdicts;
}

/** The table as text. */
export function formatTable(rows, subject) {
  const header = ['scenario', 'tool', 'wall s (median)', 'min–max', 'cpu s', 'peak RSS MB (median/max)', `${subject} ÷ tool: wall (per-round range)`, 'rss'];
  const lines = rows.map((r) => [
    r.scenario,
    r.tool,
    fmtS(r.wallMs.median),
    `${fmtS(r.wallMs.min)}–${fmtS(r.wallMs.max)}`,
    r.cpuS === undefined ? '' : r.cpuS.toFixed(2),
    r.peakRssMB ? `${r.peakRssMB.median.toFixed(1)} / ${r.peakRssMB.max.toFixed(1)}` : '',
    r.subjectRatio ? `${r.subjectRatio.wall.toFixed(2)}× (${r.subjectRatio.min.toFixed(2)}–${r.subjectRatio.max.toFixed(2)})` : '—',
    r.subjectRatio?.rss ? `${r.subjectRatio.rss.toFixed(2)}×` : '—',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => '| ' + cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ') + ' |';
  return [fmt(header), '|' + widths.map((w, i) => (i >= 2 ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|', ...lines.map(fmt)].join('\n');
}

export { label };
