import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * One file the {@link SessionServer} serves. Every field may be changed between requests
 * (a new body and ETag models "the file changed on the server").
 */
export interface Resource {
  body: Buffer;
  /** Sent as ETag; `weak: true` sends it as `W/"…"`. */
  etag?: string;
  weak?: boolean;
  /** Sent as Last-Modified (an HTTP date). */
  lastModified?: string;
  /** Sent as Date; default now. */
  date?: string;
  /** Answer every request with 200 and the whole body, Range or not. */
  ignoreRange?: boolean;
  /** Replaces the Content-Range of a 206 (to send malformed ones). */
  contentRange?: (start: number, end: number, size: number) => string;
  /** The next `resets` responses are cut (socket destroyed) after `resetAfter` body bytes. */
  resetAfter?: number;
  resets?: number;
  /** Of every response, a random fraction (0..1) is cut at a random point: flaky. */
  flaky?: number;
  /** Body bytes per second (throttled in 64 KiB slices; an upload's body is read at that rate); default unthrottled. */
  rate?: number;
  /** Answer 401 unless `Authorization` equals this. */
  authorization?: string;
  /** The next `unavailable` requests get 503 with `Retry-After: retryAfter` seconds. */
  unavailable?: number;
  retryAfter?: string;
  /** Answer with this status and an empty body (e.g. 404). */
  status?: number;
}

/** A request the server saw: path and the headers that matter for resume and auth. */
export interface SeenRequest {
  readonly path: string;
  readonly method: string;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
  readonly acceptEncoding: string | undefined;
  readonly authorization: string | undefined;
  status: number;
}

/** A loopback server on 127.0.0.1 speaking enough HTTP range semantics for resume tests. */
export interface SessionServer {
  readonly url: string;
  readonly resources: Map<string, Resource>;
  readonly requests: SeenRequest[];
  /** Adds or replaces a resource; returns its absolute URL. */
  put(path: string, resource: Resource): string;
  close(): Promise<void>;
}

export const sha256 = (data: Buffer | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Deterministic pseudo-random bytes (xorshift), so that two versions of a file differ everywhere. */
export function bytes(size: number, seed = 1): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

export async function startSessionServer(): Promise<SessionServer> {
  const resources = new Map<string, Resource>();
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => handle(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    const seen: SeenRequest = {
      path,
      method: req.method ?? 'GET',
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      acceptEncoding: req.headers['accept-encoding'],
      authorization: req.headers.authorization,
      status: 0,
    };
    requests.push(seen);
    const r = resources.get(path);
    const answer = (status: number, headers: Record<string, string> = {}) => {
      seen.status = status;
      res.writeHead(status, { 'content-length': '0', ...headers }).end();
    };
    if (!r) return answer(404);
    if (req.method === 'POST' || req.method === 'PUT') {
      // Uploads: consume the body, answer with its digest.
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        size += c.length;
        if (r.rate === undefined) return;
        // Read at `rate` bytes per second: the upload is slow, its progress checkpointed.
        req.pause();
        const t = setTimeout(() => {
          timers.delete(t);
          req.resume();
        }, (c.length * 1000) / r.rate);
        timers.add(t);
      });
      req.on('end', () => {
        if (r.authorization !== undefined && req.headers.authorization !== r.authorization) return answer(401, { 'www-authenticate': 'Bearer' });
        const text = JSON.stringify({ size, sha256: hash.digest('hex') });
        seen.status = 200;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
      });
      return;
    }
    if (r.status !== undefined) return answer(r.status);
    if (r.unavailable) {
      r.unavailable--;
      return answer(503, { 'retry-after': r.retryAfter ?? '0' });
    }
    if (r.authorization !== undefined && req.headers.authorization !== r.authorization) return answer(401, { 'www-authenticate': 'Bearer realm="test"' });

    const size = r.body.length;
    const validators: Record<string, string> = { date: r.date ?? new Date().toUTCString() };
    if (r.etag !== undefined) validators['etag'] = r.weak ? `W/${r.etag}` : r.etag;
    if (r.lastModified !== undefined) validators['last-modified'] = r.lastModified;
    validators['accept-ranges'] = 'bytes';

    let start = 0;
    let status = 200;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'] as string | undefined;
    const ifRangeHolds = ifRange === undefined || (ifRange.startsWith('"') ? r.etag !== undefined && !r.weak && ifRange === r.etag : ifRange === r.lastModified);
    if (m && !r.ignoreRange && ifRangeHolds) {
      start = Number(m[1]);
      if (start >= size) return answer(416, { ...validators, 'content-range': `bytes */${size}` });
      status = 206;
    }
    const headers: Record<string, string> = { ...validators, 'content-type': 'application/octet-stream', 'content-length': String(size - start) };
    if (status === 206) headers['content-range'] = r.contentRange ? r.contentRange(start, size - 1, size) : `bytes ${start}-${size - 1}/${size}`;
    seen.status = status;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();

    let cutAt = Number.POSITIVE_INFINITY;
    if (r.resets && r.resetAfter !== undefined) {
      r.resets--;
      cutAt = r.resetAfter;
    } else if (r.flaky && Math.random() < r.flaky) {
      cutAt = Math.floor(Math.random() * (size - start));
    }
    const slice = 64 * 1024;
    let at = start;
    let sent = 0;
    const pump = (): void => {
      while (at < size) {
        if (res.destroyed) return;
        const n = Math.min(slice, size - at, cutAt - sent);
        if (n <= 0) {
          res.socket?.destroy();
          return;
        }
        const ok = res.write(r.body.subarray(at, at + n));
        at += n;
        sent += n;
        if (sent >= cutAt) {
          // Let the bytes leave, then cut the connection mid-body.
          const t = setTimeout(() => {
            timers.delete(t);
            res.socket?.destroy();
          }, 5);
          timers.add(t);
          return;
        }
        if (r.rate) {
          const t = setTimeout(() => {
            timers.delete(t);
            pump();
          }, (n / r.rate) * 1000);
          timers.add(t);
          return;
        }
        if (!ok) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    resources,
    requests,
    put(path, resource) {
      resources.set(path, resource);
      return url + path;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
