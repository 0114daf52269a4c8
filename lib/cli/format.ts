/** Human units for the command line: sizes, rates, durations. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

/** `2097152` → `2.00 MiB/s`. */
export function formatRate(bytesPerSecond: number | undefined): string {
  return bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond) ? '-- /s' : `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Seconds as `0:05`, `12:34` or `1:02:03`; `--:--` when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Seconds left at the current rate, when both the total and a rate are known. */
export function etaSeconds(loaded: number, total: number | undefined, bytesPerSecond: number | undefined): number | undefined {
  if (total === undefined || !bytesPerSecond || bytesPerSecond <= 0) return undefined;
  return Math.max(0, (total - loaded) / bytesPerSecond);
}

/** Removes control characters (escape sequences included) from text meant for a terminal. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '').replace(/[\r\n\t]+/g, ' ');
}

/** Removes control characters but keeps lines and tabs: server text shown on a terminal. */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}
