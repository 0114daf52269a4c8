import { originOf } from './redact.js';

/** Statuses that carry a `Location` to follow. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Headers that are credentials: dropped when a redirect leaves the origin (G11). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
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
 * credentials dropped once the chain leaves the first origin, 303 (and 301/302 after a POST)
 * become GET without a body, as browsers do.
 */
export function nextHop(current: Hop, firstOrigin: string, status: number, location: string): Hop | string {
  let target: URL;
  try {
    target = new URL(location, current.url);
  } catch {
    return `redirect to an invalid location "${location.slice(0, 100)}"`;
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return `refused redirect to a ${target.protocol} URL`;
  if (new URL(current.url).protocol === 'https:' && target.protocol === 'http:') return 'refused redirect from https to http';
  target.hash = '';
  const toGet = status === 303 ? current.method !== 'HEAD' : (status === 301 || status === 302) && current.method === 'POST';
  const leaves = originOf(target.href) !== firstOrigin;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(current.headers)) {
    const lower = name.toLowerCase();
    if (leaves && CREDENTIAL_HEADERS.has(lower)) continue;
    if (toGet && BODY_HEADERS.has(lower)) continue;
    headers[name] = value;
  }
  return { url: target.href, method: toGet ? 'GET' : current.method, headers, withBody: toGet ? false : current.withBody, crossOrigin: current.crossOrigin === true || leaves };
}
