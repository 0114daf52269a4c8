/**
 * Reads the file name a `Content-Disposition` header suggests (RFC 6266, with RFC 8187's
 * `filename*`). Lenient, as browsers are: a malformed header gives what can be read, never a
 * throw. The result is NOT safe yet: pass it through `safeBaseName()`.
 */
import { safeBaseName } from './safe-name.js';

/** Parameters of a header such as `attachment; filename="a.txt"; filename*=UTF-8''a.txt`, names lower-cased. */
export function parseHeaderParams(header: string): Map<string, string> {
  const params = new Map<string, string>();
  let i = header.indexOf(';');
  if (i < 0) return params;
  while (i < header.length) {
    while (i < header.length && /[\s;]/.test(header[i]!)) i++;
    const eq = header.indexOf('=', i);
    const semi = header.indexOf(';', i);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      i = semi < 0 ? header.length : semi;
      continue;
    }
    const name = header.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (i < header.length && /\s/.test(header[i]!)) i++;
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < header.length && header[i] !== '"') {
        if (header[i] === '\\' && i + 1 < header.length) i++;
        value += header[i];
        i++;
      }
      i++;
    } else {
      const end = header.indexOf(';', i);
      value = header.slice(i, end < 0 ? header.length : end).trim();
      i = end < 0 ? header.length : end;
    }
    if (name && !params.has(name)) params.set(name, value);
  }
  return params;
}

/** Decodes an RFC 8187 extended value (`UTF-8''na%C3%AFve.txt`); `undefined` when it cannot. */
export function decodeExtValue(value: string): string | undefined {
  const m = /^([A-Za-z0-9!#$%&+^_`{}~-]+)'[^']*'(.*)$/.exec(value);
  if (!m) return undefined;
  const charset = m[1]!.toLowerCase();
  const encoding = charset === 'utf-8' ? 'utf-8' : charset === 'iso-8859-1' ? 'latin1' : undefined;
  if (!encoding) return undefined;
  const bytes: number[] = [];
  const text = m[2]!;
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  try {
    return new TextDecoder(encoding, { fatal: encoding === 'utf-8' }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Node reads header bytes as Latin-1; servers often send UTF-8 in a plain `filename`. When the
 * text re-read as UTF-8 is valid, that was the intent.
 */
function latin1AsUtf8(value: string): string {
  const codes = Array.from(value, (ch) => ch.codePointAt(0)!);
  if (!codes.some((c) => c >= 0x80) || codes.some((c) => c > 0xff)) return value;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/**
 * The values of a `Content-Disposition` that came as several headers, which HTTP clients join
 * with `, ` (`attachment; filename=a.txt, attachment; filename=b.txt`): split at each comma outside
 * quotes that another disposition begins after (a known type, or any token with a parameter).
 */
export function dispositionValues(header: string): string[] {
  const values: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const c = header[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',' && startsDisposition(header, i + 1)) {
      values.push(header.slice(start, i));
      start = i + 1;
    }
  }
  values.push(header.slice(start));
  return values;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** Sticky: matched where a comma left off, never by copying the rest of the header. */
const NEXT_DISPOSITION = new RegExp(`\\s*(?:(?:attachment|inline|form-data)\\s*(?:;|$)|${TOKEN}\\s*;\\s*${TOKEN}\\s*=)`, 'iy');

function startsDisposition(header: string, at: number): boolean {
  NEXT_DISPOSITION.lastIndex = at;
  return NEXT_DISPOSITION.test(header);
}

/**
 * The file name a `Content-Disposition` header suggests, unsanitized; `undefined` when none. Sent
 * twice (or more) with names that differ, it names nothing: browsers refuse such a response, and
 * which one the sender meant cannot be told, so the caller falls back to the URL's name.
 */
export function filenameFromContentDisposition(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const values = dispositionValues(header);
  if (values.length > 1) {
    const names = new Set(values.map((value) => filenameOf(value)));
    return names.size === 1 ? [...names][0] : undefined;
  }
  return filenameOf(header);
}

/** The file name one `Content-Disposition` value suggests. */
function filenameOf(header: string): string | undefined {
  const params = parseHeaderParams(header);
  const extended = params.get('filename*');
  const decoded = extended === undefined ? undefined : decodeExtValue(extended);
  // An empty `filename*` (`UTF-8''`), or one that leaves no name, does not hide a usable `filename`.
  if (decoded !== undefined && safeBaseName(decoded) !== undefined) return decoded;
  const plain = params.get('filename');
  return plain === undefined ? decoded : latin1AsUtf8(plain);
}
