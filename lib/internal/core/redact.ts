/**
 * URL hygiene shared by errors, redirects and results: credentials never leave this module
 * in a string meant for people.
 */

/** A URL as text with any `user:password@` removed; input that is not a URL is summarised. */
export function redactUrl(url: string | URL | undefined): string {
  if (url === undefined) return '(no url)';
  try {
    const u = new URL(String(url));
    if (u.username || u.password) {
      u.username = '';
      u.password = '';
    }
    return u.href;
  } catch {
    const text = String(url);
    // Not a URL: still strip anything that looks like userinfo.
    return text.replace(/\/\/[^/@\s]*@/, '//').slice(0, 200);
  }
}

/** The origin (scheme, host, port) of a URL, for comparing redirect hops. */
export function originOf(url: string): string {
  return new URL(url).origin;
}
