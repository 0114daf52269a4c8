/**
 * The demo's embedded server: real node:http on 127.0.0.1, serving what `rxtransfer demo`
 * transfers and, with `--web`, the browser demo page (see `demo-page.ts`).
 *
 *   GET  /api/bytes?size=N&id=ID&delay=MS   N pattern bytes (see {@link patternByte}), 64 KiB
 *                                          every MS ms; a strong ETag, `Range` + `If-Range`
 *                                          (206 from an offset), `x-sha256` (hex of all N bytes)
 *
 * A `size` or `delay` that is not a whole number in its range (`abc`, `-1`, over the most) is
 * answered 400 with a one-line text saying so.
 *   PUT|POST /api/upload?id=ID&delay=MS     counts and hashes the body; answers JSON
 *                                          `{ id, received, sha256 }`
 *   GET  /api/stats                         what the server saw: {@link DemoStats}
 *
 * The server keeps no bodies: downloads are generated, uploads are counted and hashed.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Largest body `/api/bytes` generates. */
export const MAX_DEMO_BYTES = 256 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Byte `i` of every demo body: a pattern that a client can check without the server. */
export function patternByte(i: number): number {
  return (i * 31 + (i >>> 8) + 7) & 0xff;
}

/** What the server saw of one download id (all its requests). */
export interface DownloadRecord {
  readonly id: string;
  requests: number;
  /** The `Range` start of the last request, when it asked for one and got a 206. */
  rangeStart?: number;
  /** Body bytes written, over all requests. */
  sent: number;
  /** True once a response was sent to its end. */
  complete: boolean;
  /** True when the client closed a connection before its response ended. */
  closedEarly: boolean;
}

/** What the server saw of one upload id. */
export interface UploadRecord {
  readonly id: string;
  received: number;
  complete: boolean;
  /** The sha256 (hex) of the body, once complete. */
  sha256?: string;
  /** True when the client closed the connection before the body ended. */
  aborted: boolean;
}

export interface DemoStats {
  readonly downloads: Record<string, DownloadRecord>;
  readonly uploads: Record<string, UploadRecord>;
}

/** Extra routes (the browser page): return true when the request was answered. */
export type ExtraRoutes = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export interface DemoServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly stats: DemoStats;
  close(): Promise<void>;
}

const bodies = new Map<number, { bytes: Buffer; sha256: string }>();
/** The bytes the cache of bodies may hold: any page can ask for many sizes of up to {@link MAX_DEMO_BYTES}. */
export const MAX_CACHED_BYTES = 2 * MAX_DEMO_BYTES;

/** The bytes the cache of bodies holds now. */
function cachedBytes(): number {
  let total = 0;
  for (const { bytes } of bodies.values()) total += bytes.length;
  return total;
}

/** The pattern body of `size` bytes and its digest (cached: the demo asks for few sizes; at most 8, and {@link MAX_CACHED_BYTES}). */
export function patternBody(size: number): { bytes: Buffer; sha256: string } {
  let body = bodies.get(size);
  if (!body) {
    const bytes = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) bytes[i] = patternByte(i);
    body = { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    if (bodies.size >= 8 || cachedBytes() + size > MAX_CACHED_BYTES) bodies.clear();
    bodies.set(size, body);
  }
  return body;
}

/** A query parameter that is not a whole number in its range: answered 400 with its message. */
class BadParam extends Error {}

/**
 * A whole number from 0 to `max` (decimal digits only), or `fallback` when the parameter is
 * absent; anything else (`abc`, `-1`, `1e3`, empty, over `max`) throws {@link BadParam}, not
 * taken as the default, which would answer something other than what was asked.
 */
function numberParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const text = params.get(name);
  if (text === null) return fallback;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(value <= max)) throw new BadParam(`${name} must be a whole number from 0 to ${max}, got ${JSON.stringify(text.slice(0, 40))}\n`);
  return value;
}

/** Answers a {@link BadParam} with 400 and its short text; true when it was one. */
function badRequest(res: ServerResponse, error: unknown): boolean {
  if (!(error instanceof BadParam)) return false;
  res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(error.message);
  return true;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Writes a chunk; waits for `drain` (or the connection's end) when the socket is full. */
function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

async function sendBytes(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, stats: DemoStats): Promise<void> {
  const size = numberParam(params, 'size', 1024 * 1024, MAX_DEMO_BYTES);
  const delay = numberParam(params, 'delay', 0, 1000);
  const id = params.get('id') ?? `download-${Object.keys(stats.downloads).length + 1}`;
  const record = (stats.downloads[id] ??= { id, requests: 0, sent: 0, complete: false, closedEarly: false });
  record.requests++;
  const { bytes, sha256 } = patternBody(size);
  const etag = `"pattern-${size}-${sha256.slice(0, 16)}"`;
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'cache-control': 'no-store',
    etag,
    'accept-ranges': 'bytes',
    'x-sha256': sha256,
    'access-control-expose-headers': 'x-sha256',
  };
  let start = 0;
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  if (range && (ifRange === undefined || ifRange === etag)) {
    start = Number(range[1]);
    if (start >= size) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    record.rangeStart = start;
    res.writeHead(206, { ...headers, 'content-length': String(size - start), 'content-range': `bytes ${start}-${size - 1}/${size}` });
  } else {
    res.writeHead(200, { ...headers, 'content-length': String(size) });
  }
  let ended = false;
  res.on('close', () => {
    if (!ended) record.closedEarly = true;
  });
  for (let at = start; at < size; at += CHUNK) {
    if (res.destroyed) return;
    const chunk = bytes.subarray(at, Math.min(size, at + CHUNK));
    await write(res, chunk);
    if (res.destroyed) return;
    record.sent += chunk.byteLength;
    if (delay > 0) await sleep(delay);
  }
  ended = true;
  record.complete = true;
  res.end();
}

function receiveUpload(req: IncomingMessage, res: ServerResponse, params: URLSearchParams, stats: DemoStats): void {
  const id = params.get('id') ?? `upload-${Object.keys(stats.uploads).length + 1}`;
  const delay = numberParam(params, 'delay', 0, 1000);
  const record: UploadRecord = { id, received: 0, complete: false, aborted: false };
  stats.uploads[id] = record;
  const hash = createHash('sha256');
  req.on('data', (data: Buffer) => {
    record.received += data.byteLength;
    hash.update(data);
    if (delay > 0) {
      // Read slowly, so that progress on loopback is something to watch.
      req.pause();
      setTimeout(() => req.resume(), delay);
    }
  });
  req.on('close', () => {
    if (!record.complete) record.aborted = true;
  });
  req.on('end', () => {
    record.complete = true;
    record.sha256 = hash.digest('hex');
    const body = JSON.stringify({ id, received: record.received, sha256: record.sha256 });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
  });
}

/** Starts the server on 127.0.0.1 (`port` 0: a free one). */
export async function startDemoServer(options: { port?: number; routes?: ExtraRoutes } = {}): Promise<DemoServer> {
  // Keyed by ids from the query, which any page can send to 127.0.0.1: without a prototype,
  // `id=__proto__` or `id=constructor` is a key like any other, not Object.prototype.
  const stats: DemoStats = { downloads: Object.create(null) as DemoStats['downloads'], uploads: Object.create(null) as DemoStats['uploads'] };
  let hosts: ReadonlySet<string> = new Set();
  const server: Server = createServer((req, res) => {
    // Only for this machine's names: a page whose own name was made to point at 127.0.0.1 (DNS
    // rebinding) sends its name as Host, and is refused.
    if (!hosts.has((req.headers.host ?? '').toLowerCase())) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('this server answers only to 127.0.0.1 and localhost\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const fail = (error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    };
    if (req.method === 'GET' && path === '/api/bytes') {
      sendBytes(req, res, url.searchParams, stats).catch((error: unknown) => badRequest(res, error) || fail(error));
    } else if ((req.method === 'PUT' || req.method === 'POST') && path === '/api/upload') {
      try {
        receiveUpload(req, res, url.searchParams, stats);
      } catch (error) {
        req.resume(); // the body is not wanted: read to its end, so the client gets the answer
        if (!badRequest(res, error)) fail(error);
      }
    } else if (req.method === 'GET' && path === '/api/stats') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(stats));
    } else if (!options.routes?.(req, res, path)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for ${req.method} ${path}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  return {
    origin: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
