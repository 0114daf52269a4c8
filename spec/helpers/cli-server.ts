import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * The loopback server the command-line specs run `rxtransfer` against: real `node:http` on
 * 127.0.0.1, routes chosen by path, every request recorded.
 *
 * - `/data/<name>?size=N` — N deterministic bytes ({@link bodyBytes}), `ETag: "<N>"`,
 *   `Range` + `If-Range` honoured (206; 200 when the validator does not match).
 *   `every=ms&chunk=C` drips C bytes every ms when the request has no `Range` (a slow first run,
 *   a fast resume). `cd=<value>` adds that `Content-Disposition`. `gzip=1`: to a request that
 *   accepts gzip, the body gzipped (`Content-Encoding: gzip`, a weak ETag, no Range), as a
 *   compressing web server sends it; dripped the same way.
 * - `/cd/<anything>?h=<value>` — a 5-byte body `hello` with `Content-Disposition: <value>`
 *   (written raw, so control characters reach the client as sent).
 * - `/status/<code>` — that status with a short text body (`body=<text>`: that body, as given).
 * - `/redirect?to=<url>` — a 302 to `<url>` (a presigned URL a server sends its clients on to).
 * - `/echo/<code>` — that status, its JSON body the request's URL and its `Authorization`, `Cookie` and `X-Api-Key` (an echoing server), once the request body is read.
 * - `/stall?size=N&after=M` — declares N bytes, sends M, then nothing (an idle timeout).
 * - `/truncated?size=N&after=M` — declares N bytes, sends M, then closes (a short body).
 * - `/upload` and `/upload/<name>` (PUT/POST) — reads the body, answers 201 `{ method, size, sha256 }`. `every=ms`:
 *   waits that long after each chunk read (a slow upload); with `first=1`, only for the first
 *   request to that URL.
 */
export interface CliServer {
  readonly port: number;
  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string;
  readonly requests: RecordedRequest[];
  /** A port where nothing listens (for connection-refused errors). */
  readonly closedPort: number;
  close(): Promise<void>;
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Set when the response's connection closed (the client went away, or the answer ended). */
  closedAt?: number;
}

/** The body served for a size: a byte pattern with no short period, so a misplaced range shows. */
export function bodyBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = 0x12345678;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The sha256 (hex) of a buffer. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function startCliServer(): Promise<CliServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const record: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    requests.push(record);
    res.on('close', () => (record.closedAt = Date.now()));
    route(req, res, timers);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const closedPort = await freePort();
  return {
    port,
    closedPort,
    requests,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port that was free a moment ago and is closed now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The URLs of `/upload?…&first=1` already answered slowly once. */
const slowedOnce = new Set<string>();

function route(req: IncomingMessage, res: ServerResponse, timers: Set<NodeJS.Timeout>): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const q = url.searchParams;
  const num = (name: string, fallback: number) => (q.has(name) ? Number(q.get(name)) : fallback);
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  if (url.pathname.startsWith('/data/')) {
    const identity = bodyBytes(num('size', 64 * 1024));
    const gzip = q.get('gzip') === '1' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? gzipSync(identity) : identity;
    const etag = gzip ? `W/"${identity.length}"` : `"${identity.length}"`;
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', ETag: etag, ...(gzip ? { 'Content-Encoding': 'gzip' } : { 'Accept-Ranges': 'bytes' }) };
    if (q.has('cd')) headers['Content-Disposition'] = q.get('cd')!;
    const range = gzip ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && (ifRange === undefined || ifRange === etag)) {
      const start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'Content-Length': String(body.length - start), 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
    // `first=1`: only the first request to this URL is slow (an upload sent again goes at once).
    const every = q.get('first') === '1' && slowedOnce.has(req.url ?? '') ? 0 : num('every', 0);
    if (every > 0) slowedOnce.add(req.url ?? '');
    if (every <= 0 || req.headers.range) {
      res.end(body);
      return;
    }
    const chunk = num('chunk', 4096);
    let at = 0;
    const drip = () => {
      if (res.destroyed) return;
      res.write(body.subarray(at, at + chunk));
      at += chunk;
      if (at >= body.length) res.end();
      else later(every, drip);
    };
    drip();
    return;
  }

  if (url.pathname.startsWith('/cd/')) {
    // Written on the socket as given: node:http refuses control characters in setHeader.
    const value = Buffer.from(q.get('h') ?? '', 'latin1');
    const head = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\nContent-Disposition: '),
      value,
      Buffer.from('\r\n\r\nhello'),
    ]);
    req.socket.end(head);
    return;
  }

  if (url.pathname.startsWith('/status/')) {
    const status = Number(url.pathname.slice('/status/'.length)) || 500;
    res.writeHead(status, { 'Content-Type': 'text/plain' }).end(q.has('body') ? q.get('body') : `status ${status}\n`);
    return;
  }

  if (url.pathname === '/redirect') {
    res.writeHead(302, { Location: q.get('to') ?? '/' }).end();
    return;
  }

  if (url.pathname.startsWith('/echo/')) {
    // A server that tells what it was sent, in its error: the request's URL and headers, as JSON.
    const status = Number(url.pathname.slice('/echo/'.length)) || 500;
    req.resume();
    const { authorization, cookie } = req.headers;
    const echoed = { error: 'refused', url: req.url, authorization, cookie, 'x-api-key': req.headers['x-api-key'] };
    req.on('end', () => res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(echoed)));
    return;
  }

  if (url.pathname === '/stall' || url.pathname === '/truncated') {
    const size = num('size', 1000);
    const after = num('after', 10);
    res.writeHead(200, { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' });
    res.write(bodyBytes(size).subarray(0, after), () => {
      if (url.pathname === '/truncated') later(20, () => req.socket.destroy());
    });
    return;
  }

  if (url.pathname === '/upload' || url.pathname.startsWith('/upload/')) {
    const hash = createHash('sha256');
    let size = 0;
    // `first=1`: only the first request to this URL is slow (an upload sent again goes at once).
    const every = q.get('first') === '1' && slowedOnce.has(req.url ?? '') ? 0 : num('every', 0);
    if (every > 0) slowedOnce.add(req.url ?? '');
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      hash.update(chunk);
      if (every <= 0) return;
      req.pause();
      later(every, () => req.resume());
    });
    req.on('end', () => {
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ method: req.method, size, sha256: hash.digest('hex') }));
    });
    return;
  }

  res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
}
