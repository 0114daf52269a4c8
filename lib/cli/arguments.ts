/**
 * Parsers for option values, shared by the commands. Number parsers throw commander's
 * `InvalidArgumentError` (commander reports it, value included, as a usage error). Headers and
 * URLs are checked in the command instead, with a `CliError` that never echoes the value: it may
 * hold a token or a password.
 */
import { InvalidArgumentError } from 'commander';
import { CliError } from './exit-codes.js';
import { isSendableHeaderValue } from '../internal/core/headers.js';
import { redactText, redactUrl } from '../internal/core/redact.js';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Collects repeated `-H 'Name: value'` options; {@link headersFrom} checks them. */
export function collectHeader(raw: string, previous: string[] = []): string[] {
  return [...previous, raw];
}

/** Splits `Name: value`; throws on a bad name or a value that cannot be sent as it is. */
export function parseHeader(raw: string): [string, string] {
  const colon = raw.indexOf(':');
  const name = colon < 0 ? raw.trim() : raw.slice(0, colon).trim();
  if (colon < 0 || !TOKEN.test(name)) {
    throw new CliError('usage', "-H expects 'Name: value' with a valid header name (the value is not shown: it may be a secret)");
  }
  const value = raw.slice(colon + 1).trim();
  if (!isSendableHeaderValue(value)) throw new CliError('usage', `-H: the value of header "${name}" must be Latin-1 text without CR, LF, NUL or other control characters but tab (the value is not shown)`);
  return [name, value];
}

/** The headers object for the library, from the collected `-H` options (a later one wins). */
export function headersFrom(raw: readonly string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of raw ?? []) {
    const [name, value] = parseHeader(entry);
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    }
    headers[name] = value;
  }
  return headers;
}

/** A positive number of seconds (fractions allowed), returned in ms. */
export function parseSeconds(raw: string): number {
  const value = Number(raw);
  // Decimal only: Number() would also take `0x10` (16), `1e3` or `Infinity`.
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(raw) || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return Math.max(1, Math.round(value * 1000));
}

/** A whole number >= 0. */
export function parseCount(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) throw new InvalidArgumentError('expected a whole number >= 0');
  return value;
}

/** An `http:` or `https:` URL, parsed; throws a message without the URL's credentials. */
export function parseHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('usage', 'the URL is not a valid absolute URL (expected http://… or https://…)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('usage', `unsupported URL scheme ${url.protocol} (only http: and https:)`);
  return url;
}

/**
 * The URL to ask, given the `-H` headers: an `Authorization` of the caller's own wins over the
 * URL's `user:password@`, as with curl (axios would replace the header with Basic credentials
 * from the URL); the credentials are then left out of the request.
 */
export function withExplicitAuthorization(url: URL, headers: Readonly<Record<string, string>>): URL {
  if (!(url.username || url.password) || !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) return url;
  return new URL(redactUrl(url));
}

/**
 * Commander's message without what may be a secret it quotes from the command line: a URL's
 * `user:password@` and secret query values (`rxtransfer 'https://u:pw@host/x?access_token=…'`,
 * the command forgotten: "unknown command '…'"), as the library's messages mask them
 * (`redactText`), and the value of an unknown `--option=value` (`--headr='Authorization: Bearer …'`).
 */
export function withoutSecrets(message: string): string {
  return redactText(message).replace(/(unknown option '-[^'=\s]*)=[^']*'/g, "$1=…'");
}
