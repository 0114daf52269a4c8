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

/**
 * East Asian Wide and Fullwidth code points (Unicode's EastAsianWidth.txt, its main ranges):
 * Hangul Jamo, CJK punctuation, kana, ideographs, Hangul syllables, fullwidth forms, Tangut,
 * the ideographic supplements. Emoji are told by their Unicode properties instead ({@link EMOJI}).
 */
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f200, 0x1f2ff],
  [0x20000, 0x3fffd],
];
/** A grapheme drawn as an emoji (two columns): emoji presentation, a pictograph with VS16, a flag. */
const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\uFE0F|\p{Regional_Indicator}/u;
/** A grapheme of marks, format characters (zero-width space and joiners, bidi marks) or controls only: no column. */
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}\u200b]*$/u;

const segmenter = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : undefined;

/** What a reader sees as characters: a base with its marks, an emoji sequence, a flag (code points where Intl.Segmenter is missing). */
export function graphemes(text: string): string[] {
  return segmenter ? Array.from(segmenter.segment(text), (s) => s.segment) : Array.from(text);
}

/** Columns one grapheme takes on a terminal: 2 for wide (CJK, fullwidth) and emoji, 0 for marks alone, else 1. */
export function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0;
  if (EMOJI.test(grapheme)) return 2;
  const code = grapheme.codePointAt(0)!;
  return WIDE_RANGES.some(([from, to]) => code >= from && code <= to) ? 2 : 1;
}

/** Columns `text` (without control characters) takes on a terminal: see {@link graphemeWidth}. East Asian Ambiguous characters count as one. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const g of graphemes(text)) width += graphemeWidth(g);
  return width;
}
