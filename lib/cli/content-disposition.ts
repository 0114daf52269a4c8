/**
 * Reads the file name a `Content-Disposition` header suggests (RFC 6266, with RFC 8187's
 * `filename*`). Lenient, as browsers are: a malformed header gives what can be read, never a
 * throw. The result is NOT safe yet: pass it through `safeBaseName()`.
 */

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

/** The file name a `Content-Disposition` header suggests, unsanitized; `undefined` when none. */
export function filenameFromContentDisposition(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const params = parseHeaderParams(header);
  const extended = params.get('filename*');
  const decoded = extended === undefined ? undefined : decodeExtValue(extended);
  if (decoded !== undefined) return decoded;
  const plain = params.get('filename');
  return plain === undefined ? undefined : latin1AsUtf8(plain);
}
