import { originOf, redactUrl } from './redact.js';

/** Statuses that carry a `Location` to follow. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Headers that are credentials: dropped when a redirect leaves the origin (G11). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
const NO_NAMES: ReadonlySet<string> = new Set();
/** Headers that describe a body: dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'transfer-encoding']);

/** The request as it stands between hops. */
export interface Hop {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly withBody: boolean;
  /** True once the chain has left its first origin (and for every hop after, even one back on it). */
  readonly crossOrigin?: boolean;
}

/**
 * The next hop after a redirect, or a reason to refuse it: only http(s), never https to http,
 * credentials (and the `sensitive` headers, lower-case names) dropped once the chain leaves the first origin, 303 (and 301/302 after a POST)
 * become GET without a body, as browsers do.
 */
export function nextHop(current: Hop, firstOrigin: string, status: number, location: string, sensitive: ReadonlySet<string> = NO_NAMES): Hop | string {
  let target: URL;
  try {
    target = new URL(location, current.url);
  } catch {
    // One location, not a message: what could be userinfo goes up to its last `@` whatever it
    // holds (a space ends no URL here), and so do the query and the fragment (G11).
    const shown = redactUrl(location, { secrets: true }).replace(/^([a-z][a-z0-9+.-]*:)?[^]*@/i, '$1');
    return `redirect to an invalid location "${shown.slice(0, 100)}"`;
  }
  const refused = refusedScheme(current.url, target);
  if (refused) return refused;
  target.hash = '';
  const toGet = status === 303 ? current.method !== 'HEAD' : (status === 301 || status === 302) && current.method === 'POST';
  const leaves = originOf(target.href) !== firstOrigin;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(current.headers)) {
    const lower = name.toLowerCase();
    if (leaves && (CREDENTIAL_HEADERS.has(lower) || sensitive.has(lower))) continue;
    if (toGet && BODY_HEADERS.has(lower)) continue;
    headers[name] = value;
  }
  return { url: target.href, method: toGet ? 'GET' : current.method, headers, withBody: toGet ? false : current.withBody, crossOrigin: current.crossOrigin === true || leaves };
}

/** Why a redirect from `from` to `target` is refused for its scheme: only http(s), never https to http. */
function refusedScheme(from: string, target: URL): string | undefined {
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return `refused redirect to a ${target.protocol} URL`;
  if (new URL(from).protocol === 'https:' && target.protocol === 'http:') return 'refused redirect from https to http';
  return undefined;
}

/** Whether two URLs name the same resource: equal but for the fragment (the browser's `responseURL` has none). */
export function sameResource(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    x.hash = '';
    y.hash = '';
    return x.href === y.href;
  } catch {
    return a === b;
  }
}

/**
 * Why the URL a transport's own redirects ended at (the browser's XHR, which cannot be stopped at
 * a hop) is refused, or undefined: any redirect with `maxRedirects: 0`, and the scheme rules of
 * {@link nextHop}. A larger `maxRedirects` cannot be counted there.
 */
export function refusedFollowed(from: string, to: string, maxRedirects: number): string | undefined {
  if (sameResource(from, to)) return undefined;
  if (maxRedirects === 0) return 'too many redirects (more than 0; the browser followed one)';
  let target: URL;
  try {
    target = new URL(to);
  } catch {
    return undefined;
  }
  const refused = refusedScheme(from, target);
  return refused && `${refused} (the browser followed it)`;
}
