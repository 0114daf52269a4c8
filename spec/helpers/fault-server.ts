import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { seededBytes, seededChunks } from './fault-bytes.js';

/**
 * A loopback fault server: real `node:http` on 127.0.0.1 (two ports, for cross-origin
 * redirects), whose behaviour is chosen by the request path and query. Every request is
 * recorded: method, headers, upload bytes and their sha256, and whether the client closed
 * the connection before the answer ended (`closedEarly`).
 *
 * Routes (all take `seed` (default 1) and `size` (default 1024) where a body is sent):
 * - `/bytes` — a seeded body. `length=0` chunked (no Content-Length); `chunk=K` bytes per write
 *   (default 64 KiB); `delay=ms` between writes (drip); `headDelay=ms` before the head; `gzip=1` gzip-encoded (with
 *   `length=1` a Content-Length of the compressed body, else chunked; `cut` counts compressed
 *   bytes); `encoding=x` labels the raw bytes with `Content-Encoding: x`; `status`; `type`;
 *   `etag=v` (`weak=1` makes it `W/"v"`), `lastModified=<ms since epoch>`: Range and If-Range
 *   are honoured (206, or 200 when the validator changed) unless `ranges=0`; `ifRange=ignore`
 *   honours Range but not If-Range (a 206 of whatever version it serves now);
 *   `cut=M` declares the full length, sends M bytes, then closes the socket (truncation);
 *   `extra=M` sends M bytes beyond Content-Length (then closes, or with
 *   `keepAlive=1` leaves the connection open); `stallAfter=M` sends M bytes then nothing;
 *   `resetAfter=M` sends M bytes then resets the connection.
 * - `/reset` — resets the connection before any head. `/stall` — never answers at all.
 * - `/status/<code>` — that status; `retryAfter=<s>` or `retryAfter=date:<s>`; `body=text` or
 *   `bodySize=N`; `location=…`.
 * - `/redirect?to=<location>&status=302`, `/redirect/loop`, `/redirect/chain/<n>?to=<location>`.
 * - `/upload` — reads the body and answers `{ bytes, sha256, method }` (JSON); `status=`;
 *   `read=0` never reads the body and never answers.
 * - `/headers` — answers the request headers as JSON.
 * - Any route: `key=K&fail=N` makes the first N requests with key K fail with `failWith`:
 *   a status (default 503, `retryAfter` honoured), `reset`, `cut` or `stall`. Counted server-side.
 */
export interface FaultServer {
  /** The main server's port. */
  readonly port: number;
  /** `http://127.0.0.1:<port><path>`, with `query` appended. */
  url(path: string, query?: Query): string;
  /** The second server (another origin), same routes and bookkeeping. */
  readonly cross: { readonly port: number; url(path: string, query?: Query): string };
  /** Every request so far, on both servers, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Requests that carried (or began to carry) a body. */
  readonly uploads: RecordedRequest[];
  /** Sockets currently open on either server. */
  readonly sockets: ReadonlySet<Socket>;
  /** Emits `request` (RecordedRequest) and `closed` (RecordedRequest) per request. */
  readonly events: EventEmitter;
  /** Requests seen so far for a failure key. */
  hits(key: string): number;
  /** Resolves with the next request whose path starts with `prefix` (or the next one). */
  nextRequest(prefix?: string): Promise<RecordedRequest>;
  /** Closes every connection and both servers. */
  close(): Promise<void>;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RecordedRequest {
  readonly id: number;
  readonly server: 'main' | 'cross';
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly at: number;
  /** Body bytes read so far. */
  bytesReceived: number;
  /** Hex sha256 of the body, once it ended. */
  sha256: string | undefined;
  /** Resolves when the request body ended (or the connection closed). */
  readonly bodyEnded: Promise<{ bytes: number; sha256: string; complete: boolean }>;
  /** Resolves when the connection or the answer closed: true when the client left before the answer ended. */
  readonly closedEarly: Promise<boolean>;
  /** Set once closed. */
  closedAt: number | undefined;
  /**
   * Starts reading a body the route held back (`/upload?read=0`). A server that does not read
   * cannot see the client's close (the FIN waits behind the unsent bytes): release, then await
   * `closedEarly` and `bodyEnded` (`complete: false` when the client gave up).
   */
  release(): void;
}

/** `/path?a=1&b=2` from a path and a query object (undefined values left out). */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

interface Ctx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly rec: RecordedRequest;
  readonly q: URLSearchParams;
  gone(): boolean;
  sleep(ms: number): Promise<void>;
}

const num = (q: URLSearchParams, name: string, fallback: number): number => {
  const v = q.get(name);
  return v === null || v === '' ? fallback : Number(v);
};

/** Starts the two servers on ephemeral loopback ports. */
export async function startFaultServer(): Promise<FaultServer> {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let nextId = 1;
  let closing = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (closing) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const handler = (which: 'main' | 'cross') => (req: IncomingMessage, res: ServerResponse) => {
    const parsed = new URL(req.url ?? '/', 'http://127.0.0.1');
    let closed = false;
    let settleClose!: (early: boolean) => void;
    let settleBody!: (v: { bytes: number; sha256: string; complete: boolean }) => void;
    const rec: RecordedRequest = {
      id: nextId++,
      server: which,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      path: parsed.pathname,
      query: parsed.searchParams,
      headers: req.headers,
      at: Date.now(),
      bytesReceived: 0,
      sha256: undefined,
      bodyEnded: new Promise((r) => (settleBody = r)),
      closedEarly: new Promise((r) => (settleClose = r)),
      closedAt: undefined,
      release: () => void req.resume(),
    };
    requests.push(rec);
    const hash = createHash('sha256');
    const endBody = (complete: boolean) => {
      if (rec.sha256 !== undefined) return;
      rec.sha256 = hash.digest('hex');
      settleBody({ bytes: rec.bytesReceived, sha256: rec.sha256, complete });
    };
    req.on('data', (chunk: Buffer) => {
      rec.bytesReceived += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => endBody(true));
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    res.on('close', () => {
      closed = true;
      rec.closedAt = Date.now();
      endBody(false);
      settleClose(!res.writableFinished);
      events.emit('closed', rec);
    });
    const ctx: Ctx = { req, res, rec, q: parsed.searchParams, gone: () => closed || closing, sleep };
    const upload = parsed.pathname === '/upload' && parsed.searchParams.get('read') === '0';
    if (upload) req.pause();
    else req.resume();
    events.emit('request', rec);
    route(ctx, counts).catch(() => {
      if (!res.headersSent && !closed) res.writeHead(500).end('fault server error');
      else req.socket.destroy();
    });
  };

  const servers = [createServer(handler('main')), createServer(handler('cross'))];
  for (const server of servers) {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  const portOf = (s: Server) => (s.address() as AddressInfo).port;
  const [main, cross] = [portOf(servers[0]!), portOf(servers[1]!)];
  const urlOn = (port: number) => (path: string, query?: Query) => `http://127.0.0.1:${port}${withQuery(path, query)}`;

  return {
    port: main,
    url: urlOn(main),
    cross: { port: cross, url: urlOn(cross) },
    requests,
    get uploads() {
      return requests.filter((r) => r.bytesReceived > 0 || r.headers['content-length'] !== undefined || r.headers['transfer-encoding'] !== undefined);
    },
    sockets,
    events,
    hits: (key) => counts.get(key) ?? 0,
    nextRequest: (prefix) =>
      new Promise((resolve) => {
        const on = (rec: RecordedRequest) => {
          if (prefix !== undefined && !rec.path.startsWith(prefix)) return;
          events.off('request', on);
          resolve(rec);
        };
        events.on('request', on);
      }),
    close: async () => {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

async function route(ctx: Ctx, counts: Map<string, number>): Promise<void> {
  const { q, rec } = ctx;
  const key = q.get('key');
  if (key !== null) {
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n <= num(q, 'fail', 0)) return fail(ctx, q.get('failWith') ?? '503');
  }
  const path = rec.path;
  if (path === '/bytes') return bytes(ctx);
  if (path === '/reset') return void ctx.req.socket.resetAndDestroy();
  if (path === '/stall') return;
  if (path.startsWith('/status/')) return status(ctx, Number(path.slice('/status/'.length)));
  if (path === '/redirect') return redirect(ctx, num(q, 'status', 302), q.get('to') ?? '/bytes');
  if (path === '/redirect/loop') return redirect(ctx, num(q, 'status', 302), withQuery('/redirect/loop', Object.fromEntries(q)));
  if (path.startsWith('/redirect/chain/')) {
    const left = Number(path.slice('/redirect/chain/'.length));
    const to = q.get('to') ?? '/bytes';
    const rest = new URLSearchParams(q);
    return redirect(ctx, num(q, 'status', 302), left <= 1 ? to : `/redirect/chain/${left - 1}?${rest.toString()}`);
  }
  if (path === '/upload') return uploadRoute(ctx);
  if (path === '/headers') return json(ctx, 200, ctx.req.headers);
  return status(ctx, 404);
}

async function fail(ctx: Ctx, how: string): Promise<void> {
  const { req, q } = ctx;
  if (how === 'reset') return void req.socket.resetAndDestroy();
  if (how === 'stall') return;
  if (how === 'cut') {
    const size = num(q, 'size', 1024);
    if (size > 0) return bytes(ctx, Math.floor(size / 2)); // same head (validators too), half the body
    // An empty body cannot be cut short: declare one byte and send none.
    ctx.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1' });
    ctx.res.flushHeaders();
    await ctx.sleep(20);
    return void req.socket.destroy();
  }
  return status(ctx, Number(how));
}

function retryAfterValue(value: string): string {
  if (value.startsWith('date:')) return new Date(Date.now() + Number(value.slice(5)) * 1000).toUTCString();
  return value;
}

async function status(ctx: Ctx, code: number): Promise<void> {
  const { res, q, rec } = ctx;
  await rec.bodyEnded;
  if (ctx.gone()) return;
  const headers: Record<string, string> = { 'content-type': 'text/plain' };
  const retryAfter = q.get('retryAfter');
  if (retryAfter !== null) headers['retry-after'] = retryAfterValue(retryAfter);
  const location = q.get('location');
  if (location !== null) headers['location'] = location;
  if (code === 204 || code === 304) return void res.writeHead(code, headers).end();
  const bodySize = q.get('bodySize');
  const body = bodySize !== null ? 'x'.repeat(Number(bodySize)) : q.get('body') ?? `status ${code} from the fault server`;
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(code, headers).end(body);
}

async function redirect(ctx: Ctx, code: number, location: string): Promise<void> {
  await ctx.rec.bodyEnded;
  if (ctx.gone()) return;
  ctx.res.writeHead(code, { location, 'content-length': '0' }).end();
}

async function json(ctx: Ctx, code: number, value: unknown): Promise<void> {
  await ctx.rec.bodyEnded;
  if (ctx.gone()) return;
  const body = JSON.stringify(value);
  ctx.res.writeHead(code, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
}

async function uploadRoute(ctx: Ctx): Promise<void> {
  if (ctx.q.get('read') === '0') return; // never reads, never answers: the client must give up
  const body = await ctx.rec.bodyEnded;
  return json(ctx, num(ctx.q, 'status', 200), { bytes: body.bytes, sha256: body.sha256, method: ctx.rec.method });
}

/** Waits for `drain` or `close`, whichever comes first. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Writes chunks with backpressure; false when the client left first. */
async function writeAll(ctx: Ctx, chunks: Iterable<Buffer>, delay: number): Promise<boolean> {
  for (const chunk of chunks) {
    if (ctx.gone()) return false;
    if (!ctx.res.write(chunk)) await drained(ctx.res);
    if (delay > 0) await ctx.sleep(delay);
  }
  return !ctx.gone();
}

/** The range [start, end) to send for a Range request, or undefined for the whole body. */
function pickRange(ctx: Ctx, size: number, etag: string | undefined, lastModified: string | undefined): { start: number; end: number } | 'unsatisfiable' | undefined {
  const range = ctx.req.headers['range'];
  if (range === undefined || ctx.q.get('ranges') === '0') return undefined;
  const ifRange = ctx.req.headers['if-range'];
  if (ifRange !== undefined && ctx.q.get('ifRange') !== 'ignore') {
    const strongMatch = etag !== undefined && !etag.startsWith('W/') && ifRange === etag;
    const dateMatch = lastModified !== undefined && ifRange === lastModified;
    if (!strongMatch && !dateMatch) return undefined;
  }
  const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

async function bytes(ctx: Ctx, forcedCut?: number): Promise<void> {
  const { req, res, q } = ctx;
  const headDelay = num(q, 'headDelay', 0);
  if (headDelay > 0) await ctx.sleep(headDelay);
  if (ctx.gone()) return;
  const size = num(q, 'size', 1024);
  const seed = num(q, 'seed', 1);
  const chunk = Math.max(1, num(q, 'chunk', 64 * 1024));
  const delay = num(q, 'delay', 0);
  const withLength = q.get('length') !== '0';
  const headers: Record<string, string> = { 'content-type': q.get('type') ?? 'application/octet-stream' };
  const etagValue = q.get('etag');
  const etag = etagValue === null ? undefined : q.get('weak') === '1' ? `W/"${etagValue}"` : `"${etagValue}"`;
  const lm = q.get('lastModified');
  const lastModified = lm === null ? undefined : new Date(Number(lm)).toUTCString();
  if (etag) headers['etag'] = etag;
  if (lastModified) headers['last-modified'] = lastModified;

  if (q.get('gzip') === '1') {
    // Compressed whole (bodies under test are small), then sent like any body: with or without
    // the compressed Content-Length, dripped, or cut after `cut` compressed bytes.
    headers['content-encoding'] = 'gzip';
    const packed = gzipSync(seededBytes(seed, size));
    if (withLength) headers['content-length'] = String(packed.length);
    res.writeHead(num(q, 'status', 200), headers);
    const cut = forcedCut !== undefined ? String(Math.floor(packed.length / 2)) : q.get('cut');
    const last = cut === null ? packed.length : Math.min(packed.length, Number(cut));
    const parts: Buffer[] = [];
    for (let at = 0; at < last; at += chunk) parts.push(packed.subarray(at, Math.min(last, at + chunk)));
    if (!(await writeAll(ctx, parts, delay))) return;
    if (cut === null) return void res.end();
    await ctx.sleep(20);
    return void req.socket.destroy();
  }

  const encoding = q.get('encoding');
  if (encoding !== null) headers['content-encoding'] = encoding; // bytes as they are, labelled

  if (q.get('ranges') !== '0') headers['accept-ranges'] = 'bytes';
  const range = pickRange(ctx, size, etag, lastModified);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-length': '0' }).end();
    return;
  }
  let code = num(q, 'status', 200);
  let [start, end] = [0, size];
  if (range) {
    code = 206;
    [start, end] = [range.start, range.end];
    headers['content-range'] = `bytes ${start}-${end - 1}/${size}`;
  }

  const extra = num(q, 'extra', 0);
  if (extra > 0) {
    // Node's response refuses to write past Content-Length: speak HTTP on the socket directly.
    const socket = req.socket;
    // `keepAlive=1` leaves the connection open after the surplus, as a broken keep-alive server would.
    const keepAlive = q.get('keepAlive') === '1';
    const head = [`HTTP/1.1 ${code} OK`, `content-length: ${end - start}`, 'content-type: application/octet-stream', keepAlive ? 'connection: keep-alive' : 'connection: close', '', ''].join('\r\n');
    socket.write(head);
    for (const part of seededChunks(seed, start, end + extra, chunk)) socket.write(part);
    if (!keepAlive) socket.end();
    return;
  }

  if (withLength) headers['content-length'] = String(end - start);
  res.writeHead(code, headers);
  const cut = forcedCut !== undefined ? String(forcedCut) : q.get('cut');
  const stallAfter = q.get('stallAfter');
  const resetAfter = q.get('resetAfter');
  const stop = cut ?? stallAfter ?? resetAfter;
  const last = stop === null ? end : Math.min(end, start + Number(stop));
  res.flushHeaders();
  if (!(await writeAll(ctx, seededChunks(seed, start, last, chunk), delay))) return;
  if (cut !== null) {
    // Let the bytes reach the client before the close, so the truncation is seen as such.
    await ctx.sleep(20);
    return void req.socket.destroy();
  }
  if (resetAfter !== null) {
    await ctx.sleep(20);
    return void req.socket.resetAndDestroy();
  }
  if (stallAfter !== null) return; // nothing more until the client leaves
  res.end();
}
