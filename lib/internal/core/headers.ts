import type { ResponseHeaders } from './events.js';

/**
 * Whether a header value can be sent as it is: Latin-1, no control character but tab (what
 * Node's `http` accepts; a browser refuses CR, LF, NUL and anything past U+00FF). axios drops the
 * other characters without a word, so `Bearer tok€n` went out as `Bearer tokn`.
 */
export function isSendableHeaderValue(value: string): boolean {
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(value);
}

/** Whether request `headers` hold `name` (lower case) in any case. */
export function hasHeader(headers: Readonly<Record<string, string>>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name);
}

/** Copies headers of any common shape (plain object, axios' AxiosHeaders, arrays of values) into a lower-case record. */
export function lowerCaseHeaders(headers: unknown): ResponseHeaders {
  const out: Record<string, string> = {};
  if (typeof headers !== 'object' || headers === null) return out;
  const plain = typeof (headers as { toJSON?: unknown }).toJSON === 'function' ? (headers as { toJSON(): object }).toJSON() : headers;
  for (const [name, value] of Object.entries(plain as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/** Parses the text block of `XMLHttpRequest.getAllResponseHeaders()`. */
export function parseHeaderBlock(block: string): ResponseHeaders {
  const out: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}
