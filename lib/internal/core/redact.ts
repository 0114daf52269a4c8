/**
 * URL hygiene shared by errors, redirects and results: credentials never leave this module
 * in a string meant for people.
 */

/** Query parameters whose values are secrets often enough to be hidden from messages (presigned URLs, tokens). */
const SECRET_PARAM = /token|sig|secret|passw|pwd|key|auth|credential|session|code|jwt|x-amz-|x-goog-/i;

/**
 * A URL as text with any `user:password@` removed; with `secrets: true` (error messages), the
 * values of query parameters that look like secrets are masked too. Input that is not a URL is
 * summarised.
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
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    if (options.secrets) {
      for (const name of [...new Set(u.searchParams.keys())]) {
        if (SECRET_PARAM.test(name)) u.searchParams.set(name, 'REDACTED');
      }
    }
    return u.href;
  } catch {
    // Not a URL: still strip anything that could be userinfo — up to the last `@`, whatever the
    // password holds (`/`, `?`, `#`, spaces; taking too much from a message is harmless) — and
    // cut it short.
    return text.replace(/\/\/.*@/s, '//').replace(/\?.*$/, options.secrets ? '?…' : '$&').slice(0, 200);
  }
}

/** The origin (scheme, host, port) of a URL, for comparing redirect hops. */
export function originOf(url: string): string {
  return new URL(url).origin;
}
