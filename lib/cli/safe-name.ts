/**
 * File names that come from the network (a URL's last segment, `Content-Disposition`) reduced to
 * a safe base name: one path segment, no traversal, no drive letter, no control, bidi or other
 * invisible characters, not hidden, not a Windows device name, not one of a download's side files
 * (`.partial`, `.partial.json`, `.partial.lock`), never empty, bounded in length.
 */

/** The name used when nothing usable is left. */
export const FALLBACK_NAME = 'download';

/** Longest name created, in UTF-8 bytes: 255 is the usual limit, minus room for `.partial.json`. */
export const MAX_NAME_BYTES = 200;

/**
 * C0, DEL and C1 controls, line and paragraph separators, and every character Unicode says to
 * draw as nothing (Default_Ignorable_Code_Point): the bidi and zero-width controls that can
 * disguise an extension, and the soft hyphen, Hangul fillers, variation selectors and tag
 * characters that make two names look alike (`\ufe0f.bashrc` listed as `.bashrc`).
 */
const UNSAFE_CHARS = /[\p{Cc}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;
/** Characters Windows refuses in names; `:` would also address an NTFS stream. */
const WINDOWS_RESERVED_CHARS = /[<>:"|?*]/g;
/** Device names, which Windows matches before any extension and ignoring spaces before it. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)\s*(\..*)?$/i;
/**
 * A download's side files (lib/internal/node/file-sink.ts): a name from the network must not be
 * one, or it could plant a partial file, a validator record or a lock beside another download.
 */
const SIDE_FILE = /\.partial(\.json|\.lock(\.(stale-)?[a-z0-9]{8})?)?$/i;

/**
 * Reduces any text to a safe base name, or `undefined` when nothing usable is left.
 *
 * @example
 * ```ts
 * safeBaseName('../../etc/passwd'); // 'passwd'
 * safeBaseName('C:\\evil.exe');      // 'evil.exe'
 * safeBaseName('..');                // undefined
 * ```
 */
export function safeBaseName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // Normalized once the invisible characters are gone: one between a letter and its accent
  // (`e\u200b\u0301`) would leave a decomposed name, a look-alike of the composed one.
  let name = raw.replace(UNSAFE_CHARS, '').normalize('NFC');
  // Only the last segment, whichever separator the sender meant.
  name = name.split(/[/\\]/).pop() ?? '';
  name = name.replace(/^[A-Za-z]:/, '');
  name = name.replace(WINDOWS_RESERVED_CHARS, '_');
  name = trimEnds(name);
  if (name.length === 0) return undefined;
  // Shortened first: the name it keeps is the one checked (cutting `con` + spaces + `x…` leaves a device name).
  name = trimEnds(truncateName(name, MAX_NAME_BYTES));
  if (WINDOWS_DEVICE.test(name)) name = `_${trimEnds(truncateName(name, MAX_NAME_BYTES - 1))}`;
  // Upper-cased too: a case-insensitive file system folds `ſ` to `s` and `ı` to `i`, which `/i` does not.
  if (SIDE_FILE.test(name) || SIDE_FILE.test(name.toUpperCase())) name = `${trimEnds(truncateName(name, MAX_NAME_BYTES - 1))}_`;
  return name;
}

/** No hidden files, no `.`/`..`, no trailing dots or spaces (Windows drops them). */
function trimEnds(name: string): string {
  return name.replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
}

/** Shortens a name to `maxBytes` of UTF-8, keeping a short extension and whole characters. */
export function truncateName(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name) <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const budget = maxBytes - Buffer.byteLength(ext);
  let base = '';
  let bytes = 0;
  for (const ch of name.slice(0, name.length - ext.length)) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > budget) break;
    base += ch;
    bytes += size;
  }
  return base + ext;
}

/** The safe name a URL suggests: its last path segment, percent-decoded; `undefined` when none. */
export function nameFromUrl(url: string | URL): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(String(url)).pathname;
  } catch {
    return undefined;
  }
  const segment = pathname.split('/').pop() ?? '';
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // Malformed escapes: keep the segment as written.
  }
  return safeBaseName(decoded);
}
