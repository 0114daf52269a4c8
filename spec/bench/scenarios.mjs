// The scenarios of a run. Each is a transfer of `size` bytes in one direction, measured for
// every tool; `quarterOf` names the scenario whose size is four times this one, for the
// flatness check of G12 (peak RSS must not grow with the file's size).
export const MiB = 1 << 20;
export const GiB = 1 << 30;

function pair(mode, size) {
  const big = { id: `${mode} ${label(size)}`, mode, size };
  const quarter = { id: `${mode} ${label(size / 4)}`, mode, size: size / 4, quarterOf: big.id };
  return [big, quarter];
}

/** Human size: 1 GiB, 256 MiB, 16 KiB. */
export function label(bytes) {
  if (bytes >= GiB && bytes % GiB === 0) return `${bytes / GiB} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return `${bytes / 1024} KiB`;
}

/** G12: a download to a file and an upload from a file, each also at a quarter of the size. */
export function memoryScenarios({ quick }) {
  return quick ? [...pair('download', 64 * MiB), ...pair('upload', 16 * MiB)] : [...pair('download', GiB), ...pair('upload', 256 * MiB)];
}

/** G12 targets: peak RSS under this many bytes, and within this fraction of the quarter-size peak. */
export const G12 = { maxPeakBytes: 150e6, flatness: 0.1 };
