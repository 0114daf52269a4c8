import type { FakeHead } from '../../lib/testing/index.js';
import { chunksOf, RETRY_STATUSES, type ResponsePlan, type Scenario } from './arbitraries.js';

/**
 * The oracle of the fake-transport properties: from a generated {@link Scenario} it derives the
 * driver's steps for each request and predicts, independently of the library, how the transfer
 * must end (G2, G11), which requests are made, and with which method, body and credentials.
 */

export const BASE_URL = 'https://a.test/files/r.bin';
export const LOCATIONS = {
  relative: '/moved/r.bin',
  cross: 'https://b.test/elsewhere/r.bin',
  file: 'file:///etc/passwd',
  downgrade: 'http://a.test/plain/r.bin',
} as const;

/** What the script does to a request, one driver step at a time. */
export type Step =
  | { readonly do: 'upload'; readonly loaded: number }
  | { readonly do: 'connect' }
  | { readonly do: 'fail' }
  | { readonly do: 'stall' }
  | { readonly do: 'respond'; readonly head: FakeHead }
  | { readonly do: 'progress'; readonly loaded: number }
  | { readonly do: 'chunk'; readonly bytes: Uint8Array }
  | { readonly do: 'end' };

/** What an `extra` ending sends past the body: one byte, the least a body can overflow its Content-Length by. */
export const EXTRA = new Uint8Array([1]);
const DEFAULT_PLAN: ResponsePlan = { kind: 'ok', status: 200, withLength: true, decoded: false, cuts: [0.5], ending: 'end', at: 0, buffered: false };

/** The plan for request `i` (requests past the generated list get a clean 200). */
export function planFor(sc: Scenario, i: number): ResponsePlan {
  return sc.responses[i] ?? DEFAULT_PLAN;
}

/** The steps the driver takes for one request. */
export function stepsOf(sc: Scenario, plan: ResponsePlan, withBody: boolean): Step[] {
  const steps: Step[] = [];
  if (withBody) for (const f of sc.uploadSteps) steps.push({ do: 'upload', loaded: Math.floor(f * sc.uploadSize) });
  switch (plan.kind) {
    case 'network':
      if (plan.connectFirst) steps.push({ do: 'connect' });
      steps.push({ do: 'fail' });
      return steps;
    case 'stall':
      steps.push({ do: 'stall' });
      return steps;
    case 'redirect':
      steps.push({ do: 'respond', head: { status: plan.status, headers: { location: LOCATIONS[plan.location] } } });
      return steps;
    case 'status': {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (plan.retryAfter !== undefined) headers['retry-after'] = plan.retryAfter;
      steps.push({ do: 'respond', head: { status: plan.status, headers } }, { do: 'chunk', bytes: new TextEncoder().encode(plan.excerpt) }, { do: 'end' });
      return steps;
    }
    case 'ok': {
      const chunks = chunksOf(sc.body, plan.cuts);
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      if (plan.withLength) headers['content-length'] = String(sc.body.byteLength);
      steps.push({ do: 'respond', head: { status: plan.status, headers, decoded: plan.decoded } });
      const at = Math.min(plan.at, chunks.length - (plan.ending === 'truncate' ? 1 : 0));
      switch (plan.ending) {
        case 'end':
          if (plan.buffered && !plan.decoded) {
            let sum = 0;
            for (const c of chunks) steps.push({ do: 'progress', loaded: (sum += c.byteLength) });
          }
          for (const c of chunks) steps.push({ do: 'chunk', bytes: c });
          steps.push({ do: 'end' });
          break;
        case 'extra':
          for (const c of chunks) steps.push({ do: 'chunk', bytes: c });
          steps.push({ do: 'chunk', bytes: EXTRA });
          if (!lengthKnown(plan)) steps.push({ do: 'end' }); // with a length the extra byte ends it
          break;
        default:
          for (const c of chunks.slice(0, Math.max(0, at))) steps.push({ do: 'chunk', bytes: c });
          steps.push(plan.ending === 'fail' ? { do: 'fail' } : plan.ending === 'stall' ? { do: 'stall' } : { do: 'end' });
      }
      return steps;
    }
  }
}

export function lengthKnown(plan: ResponsePlan): boolean {
  return plan.kind === 'ok' && plan.withLength && !plan.decoded;
}

export type Expected =
  | { readonly type: 'done'; readonly data: Uint8Array; readonly status: number }
  | { readonly type: 'error'; readonly code: string; readonly detail?: string }
  | { readonly type: 'unsubscribed' };

export interface RequestExpectation {
  readonly url: string;
  readonly method: string;
  readonly withBody: boolean;
  readonly credentials: boolean;
  /** The attempt this request belongs to: 1, then +1 per retry (a redirect keeps it). */
  readonly attempt: number;
}

export interface Prediction {
  readonly outcome: Expected;
  readonly requests: RequestExpectation[];
  /** Steps the driver takes when nothing is cancelled. */
  readonly steps: number;
  /** Most download bytes any attempt moved (received or reported buffered). */
  readonly maxDelivered: number;
  /** Whether the last request carried the upload body. */
  readonly lastWithBody: boolean;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

type AttemptEnd = { kind: 'done'; data: Uint8Array; status: number } | { kind: 'redirect' } | { kind: 'error'; code: string; detail: string; retryable: boolean };

function attemptEnd(sc: Scenario, plan: ResponsePlan): AttemptEnd & { delivered: number } {
  switch (plan.kind) {
    case 'network':
      return { kind: 'error', code: 'network', detail: 'network', retryable: true, delivered: 0 };
    case 'stall':
      return { kind: 'error', code: 'timeout', detail: 'idle', retryable: true, delivered: 0 };
    case 'redirect':
      return { kind: 'redirect', delivered: 0 };
    case 'status': {
      const after = plan.retryAfter === undefined ? 0 : /^\d+$/.test(plan.retryAfter) ? Number(plan.retryAfter) * 1000 : 0;
      return { kind: 'error', code: 'http', detail: String(plan.status), retryable: RETRY_STATUSES.includes(plan.status) && after <= 60_000, delivered: 0 };
    }
    case 'ok': {
      const chunks = chunksOf(sc.body, plan.cuts);
      const known = lengthKnown(plan);
      const at = Math.max(0, Math.min(plan.at, chunks.length - (plan.ending === 'truncate' ? 1 : 0)));
      const sent = chunks.slice(0, at).reduce((n, c) => n + c.byteLength, 0);
      const partial = sc.body.subarray(0, sent);
      switch (plan.ending) {
        case 'end':
          return { kind: 'done', data: sc.body, status: plan.status, delivered: sc.body.byteLength };
        case 'extra': {
          if (known) return { kind: 'error', code: 'integrity', detail: 'overflow', retryable: false, delivered: sc.body.byteLength };
          const data = new Uint8Array(sc.body.byteLength + EXTRA.byteLength);
          data.set(sc.body);
          data.set(EXTRA, sc.body.byteLength);
          return { kind: 'done', data, status: plan.status, delivered: data.byteLength };
        }
        case 'truncate':
          if (known && sent < sc.body.byteLength) return { kind: 'error', code: 'integrity', detail: 'truncated', retryable: true, delivered: sent };
          return { kind: 'done', data: partial, status: plan.status, delivered: sent };
        case 'fail':
          if (known && sent < sc.body.byteLength) return { kind: 'error', code: 'integrity', detail: 'truncated', retryable: true, delivered: sent };
          return { kind: 'error', code: 'network', detail: 'network', retryable: true, delivered: sent };
        case 'stall':
          return { kind: 'error', code: 'timeout', detail: 'idle', retryable: true, delivered: sent };
      }
    }
  }
}

/** Predicts the run of a scenario. */
export function predict(sc: Scenario): Prediction {
  let url = BASE_URL;
  let method = sc.method;
  let withBody = sc.kind === 'upload';
  let credentials = sc.credentials;
  let attempt = 1;
  let redirects = 0;
  let steps = 0;
  let maxDelivered = 0;
  const requests: RequestExpectation[] = [];
  // An upload of a stream opened its body with the first request: no attempt may follow.
  const oneShot = sc.kind === 'upload' && sc.uploadBody === 'stream';
  const cancelled = (): Expected | undefined => {
    const c = sc.cancel;
    if (c === undefined || !(c.phase === 'step' ? c.at < steps : c.at < requests.length)) return undefined;
    return c.how === 'unsubscribe' ? { type: 'unsubscribed' } : { type: 'error', code: 'cancelled' };
  };
  for (let i = 0; i < 64; i++) {
    const plan = planFor(sc, i);
    requests.push({ url, method, withBody, credentials, attempt });
    steps += stepsOf(sc, plan, withBody).length;
    const end = attemptEnd(sc, plan);
    maxDelivered = Math.max(maxDelivered, end.delivered);
    const done = (outcome: Expected): Prediction => ({ outcome: cancelled() ?? outcome, requests, steps, maxDelivered, lastWithBody: withBody });
    if (end.kind === 'done') return done({ type: 'done', data: end.data, status: end.status });
    if (end.kind === 'redirect') {
      if (plan.kind !== 'redirect') throw new Error('unreachable');
      if (++redirects > sc.maxRedirects) return done({ type: 'error', code: 'http', detail: String(plan.status) });
      if (plan.location === 'file' || plan.location === 'downgrade') return done({ type: 'error', code: 'http', detail: String(plan.status) });
      const toGet = plan.status === 303 ? method !== 'HEAD' : (plan.status === 301 || plan.status === 302) && method === 'POST';
      if (toGet) {
        method = 'GET';
        withBody = false;
      }
      // A one-shot stream cannot be sent twice.
      if (withBody && oneShot) return done({ type: 'error', code: 'http', detail: String(plan.status) });
      url = new URL(LOCATIONS[plan.location], url).href;
      if (new URL(url).origin !== new URL(BASE_URL).origin) credentials = false;
      continue;
    }
    const allowed = end.retryable && attempt <= sc.retry && (sc.unsafeMethods || IDEMPOTENT.has(method)) && !(oneShot && withBody); // the GET after a 303 sends no body
    if (!allowed) return done({ type: 'error', code: end.code, detail: end.detail });
    attempt++;
  }
  throw new Error('scenario too long');
}
