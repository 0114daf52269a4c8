/**
 * URL hygiene shared by errors, redirects and results: credentials never leave this module
 * in a string meant for people.
 */

/** Query parameters whose values are secrets often enough to be hidden from messages (presigned URLs, tokens). */
const SECRET_PARAM = /token|sig|secret|passw|pwd|key|auth|credential|session|code|jwt|x-amz-|x-goog-/i;

/** True for a query parameter (or header) name whose value is hidden from messages: `X-Amz-Signature`, `access_token`, `api_key`. */
export function isSecretName(name: string): boolean {
  return SECRET_PARAM.test(name);
}

/**
 * A URL as text with any `user:password@` removed; with `secrets: true` (error messages), the
 * values of query parameters that look like secrets are masked too, and the fragment (an OAuth
 * `#access_token=…`) is dropped. Input that is not a URL is summarised; so is a URL without a host
 * (`user:password@host/x`, written without its `http://`, parses as the scheme `user:`), to its
 * scheme.
 */
export function redactUrl(url: string | URL | undefined, options: { secrets?: boolean } = {}): string {
  if (url === undefined) return '(no url)';
  let text: string;
  try {
    text = String(url);
  } catch {
    return '(a URL that cannot be read)';
  }
  try {
    const u = new URL(text);
    if (u.host === '' && u.protocol !== 'file:') return `${u.protocol}…`;
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    if (options.secrets) {
      u.hash = '';
      for (const name of [...new Set(u.searchParams.keys())]) {
        if (isSecretName(name)) u.searchParams.set(name, 'REDACTED');
      }
    }
    return u.href;
  } catch {
    // Not a URL: still strip anything that could be userinfo — up to the last `@`, whatever the
    // password holds (`/`, `?`, `#`, spaces; taking too much from a message is harmless) — and
    // cut it short.
    return text.replace(/\/\/.*@/s, '//').replace(/\?.*$/s, options.secrets ? '?…' : '$&').replace(/#.*$/s, options.secrets ? '' : '$&').slice(0, 200);
  }
}

/** A URL quoted in a message, up to the first character that cannot be part of one. */
const QUOTED_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/**
 * A message written by someone else (a custom transport's failure, a platform's error) with every
 * URL it quotes redacted as in {@link redactUrl} with `secrets`, and any other `//user:password@`
 * removed, up to the last `@` before the path (a password may hold an unencoded `@`): Node's
 * fetch, for one, quotes the whole URL, credentials and all.
 */
export function redactText(text: string): string {
  return text.replace(QUOTED_URL, quotedUrl).replace(/\/\/[^/?#\s]*@/g, '//');
}

/** A quoted URL redacted; as it was written when nothing is taken out (not normalized: `http://localhost` stays). */
function quotedUrl(url: string): string {
  const redacted = redactUrl(url, { secrets: true });
  try {
    return redacted === new URL(url).href ? url : redacted;
  } catch {
    return redacted;
  }
}

/** The origin (scheme, host, port) of a URL, for comparing redirect hops. */
export function originOf(url: string): string {
  return new URL(url).origin;
}
