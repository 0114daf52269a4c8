/**
 * The server's reason for an HTTP error, as `get` and `put` show it: a short excerpt of the error
 * response's body (`HttpStatusError.body`), without control characters and without any credential
 * the command sent, which a server that echoes the request would otherwise put on the terminal.
 */
import { isHttpStatusError } from '../index.node.js';
import { isSecretName, redactText } from '../internal/core/redact.js';
import { terminalSafe } from './format.js';

/** Longest excerpt shown, in characters (the library keeps up to 1024). */
export const BODY_SHOWN_CHARS = 300;
/** Most lines shown of it. */
export const BODY_SHOWN_LINES = 5;
/** Shorter pieces of a credential are not looked for: they would match ordinary text (`1`, `en`). */
const MIN_SECRET = 4;
const REDACTED = 'REDACTED';

/** Headers whose values are credentials, beside names that look secret (`X-Api-Key`, `Private-Token`). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * Every credential the command sends, in the forms a server may echo: the values of the `-H`
 * headers `Authorization`, `Proxy-Authorization`, `Cookie` and those whose names look secret
 * (their credential after the scheme, a Basic one decoded, each cookie's value); the URL's user
 * and password, and the Basic credentials made from them; the values of the URL's query
 * parameters whose names look secret (as the library's error messages mask them).
 */
export function sentCredentials(url: URL, headers: Readonly<Record<string, string>>): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!CREDENTIAL_HEADERS.has(lower) && !isSecretName(lower)) continue;
    found.push(value);
    if (lower === 'cookie') {
      for (const pair of value.split(';')) {
        // Also as a server reads it (and may echo it): unquoted, percent-decoded (Express's cookie-parser).
        const cookie = pair.slice(pair.indexOf('=') + 1).trim();
        const bare = /^"(.*)"$/.exec(cookie)?.[1] ?? cookie;
        found.push(cookie, bare, decoded(bare));
      }
    }
    const scheme = /^(\S+)\s+(\S.*)$/.exec(value);
    if (scheme) {
      found.push(scheme[2]!);
      // The pair's bytes as UTF-8 (what most clients and servers take them for), and as Latin-1.
      const pair = Buffer.from(scheme[2]!, 'base64');
      if (scheme[1]!.toLowerCase() === 'basic') found.push(...userAndPassword(pair.toString('utf8')), ...userAndPassword(pair.toString('latin1')));
    }
  }
  if (url.username || url.password) {
    const user = decoded(url.username);
    const password = decoded(url.password);
    found.push(url.username, url.password, user, password, `${user}:${password}`, Buffer.from(`${user}:${password}`).toString('base64'));
  }
  for (const part of url.search.slice(1).split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0 || !isSecretName(decoded(part.slice(0, eq).replace(/\+/g, ' ')))) continue;
    found.push(part.slice(eq + 1), decoded(part.slice(eq + 1).replace(/\+/g, ' ')));
  }
  return [...new Set(found.map((s) => s.trim()).filter((s) => s.length >= MIN_SECRET))];
}

/** `user:password` and each of its parts. */
function userAndPassword(pair: string): string[] {
  const colon = pair.indexOf(':');
  return colon < 0 ? [pair] : [pair, pair.slice(0, colon), pair.slice(colon + 1)];
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * `text` with every occurrence of a secret replaced by `REDACTED`: as sent, percent-encoded however
 * (any character as `%XX`, in either case, a space as `+`), JSON-escaped (`\/`, `\u00e4`).
 */
export function withoutCredentials(text: string, secrets: readonly string[]): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    const json = JSON.stringify(secret).slice(1, -1);
    // `\/` as PHP writes it, `\u00e4` as Python's json.dumps does.
    const ascii = json.replace(/[^\u0020-\u007e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
    for (const form of [secret, json, json.replace(/\//g, '\\/'), ascii]) if (form.length >= MIN_SECRET) forms.add(form);
  }
  // The longest first: a whole header value before its credential alone.
  const sorted = [...forms].sort((a, b) => b.length - a.length).map((form) => Array.from(form, spellings));
  let out = text;
  for (const chars of sorted) out = replaceEach(out, chars);
  return redactText(out);
}

/** How one character of a secret may be written: its UTF-8 bytes percent-encoded (lower-cased: compared so), itself, and a space as `+`. */
function spellings(ch: string): string[] {
  const encoded = Array.from(Buffer.from(ch, 'utf8'), (byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  return [encoded, ch, ...(ch === ' ' ? ['+'] : [])];
}

/**
 * `text` with each occurrence of the secret spelled by `chars` replaced, and a start of it (at
 * least {@link MIN_SECRET} characters) that ends `text`: the library cuts the body at 1024 bytes,
 * maybe within a credential (or within one of its `%XX`), and its start is no safer.
 */
function replaceEach(text: string, chars: readonly (readonly string[])[]): string {
  let out = '';
  let at = 0;
  for (let i = 0; i < text.length; ) {
    const end = matchAt(text, i, chars);
    if (end < 0) {
      i++;
      continue;
    }
    out += `${text.slice(at, i)}${REDACTED}`;
    at = i = end;
    if (end === text.length) break;
  }
  return out + text.slice(at);
}

/** Where the secret spelled by `chars` ends when it starts at `from` in `text` (or a start of it ends `text`); -1 if not there. */
function matchAt(text: string, from: number, chars: readonly (readonly string[])[]): number {
  let i = from;
  for (let n = 0; n < chars.length; n++) {
    if (i === text.length) return n >= MIN_SECRET ? i : -1;
    // The `%XX` form in either case; the others as they are.
    const spelled = chars[n]!.find((form, k) => (k === 0 ? text.slice(i, i + form.length).toLowerCase() === form : text.startsWith(form, i)));
    if (spelled !== undefined) {
      i += spelled.length;
      continue;
    }
    // Cut within a character's `%XX`.
    const rest = text.slice(i).toLowerCase();
    return n >= MIN_SECRET && rest.length < chars[n]![0]!.length && chars[n]![0]!.startsWith(rest) ? text.length : -1;
  }
  return i;
}

/**
 * The excerpt of an HTTP error's body to show (status 400 or more), or undefined when there is none
 * or it is not text: credentials removed ({@link withoutCredentials}), then control characters
 * (tabs become spaces, blank lines go), then cut to {@link BODY_SHOWN_LINES} lines and
 * {@link BODY_SHOWN_CHARS} characters, `…` marking a cut.
 */
export function errorBody(error: unknown, secrets: readonly string[]): string | undefined {
  if (!isHttpStatusError(error) || error.status < 400 || typeof error.body !== 'string') return undefined;
  // A character cut in two by the library's byte limit decodes as one U+FFFD at the end.
  const body = error.body.replace(/\uFFFD$/, '');
  // eslint-disable-next-line no-control-regex -- a NUL (or undecodable bytes) means binary
  if (/[\u0000\uFFFD]/.test(body)) return undefined;
  const lines = terminalSafe(withoutCredentials(body.replace(/\r\n?/g, '\n'), secrets))
    .split('\n')
    .map((line) => line.replace(/\t/g, ' ').trimEnd())
    .filter((line) => line.trim() !== '');
  if (lines.length === 0) return undefined;
  let shown = lines.slice(0, BODY_SHOWN_LINES).join('\n');
  let cut = lines.length > BODY_SHOWN_LINES;
  if (shown.length > BODY_SHOWN_CHARS) {
    shown = shown.slice(0, BODY_SHOWN_CHARS).replace(/[\uD800-\uDBFF]$/, '').trimEnd();
    cut = true;
  }
  return cut ? `${shown}…` : shown;
}
