import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

/**
 * The small loopback server the examples of docs/transfers.md talk to (real node:http on
 * 127.0.0.1, an ephemeral port). Examples see its address as `BASE_URL`, and a second one as
 * `OTHER_URL` (another origin, for redirects that leave the origin).
 *
 * Routes:
 * - `/hello` — `hello, world` as text; `/json` — a small JSON object; `/gzip` — gzipped text.
 * - `/bytes/<n>` — n bytes with Content-Length, in 16 KiB writes 1 ms apart.
 * - `/upload` — any method: reads the body, answers `{ method, received, contentType }` as JSON.
 * - `/status/<code>` — answers that status with a short text body.
 * - `/flaky/<key>/<n>` — the first n requests for a key answer 503 with `Retry-After: 0`, then 200.
 * - `/redirect?to=<url>` — 302 to `to`; `/headers` — the request's headers as JSON.
 * - `/stall` — sends the head, then nothing; `/truncated` — promises 100 bytes, sends 40, hangs up.
 * - `/versioned/<key>` — 64 KiB with a strong ETag and Range support; the first request for a
 *   key hangs up half-way.
 */
export interface DocsServer {
  readonly url: string;
  readonly otherUrl: string;
  close(): Promise<void>;
}

const VERSIONED = Buffer.alloc(64 * 1024, 'rxtransfer ');

export async function startDocsServer(): Promise<DocsServer> {
  const seen = new Map<string, number>();
  const count = (key: string) => {
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n;
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    switch (parts[0]) {
      case 'hello':
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello, world');
      case 'json':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'rxtransfer', ok: true }));
      case 'gzip': {
        const body = gzipSync(Buffer.from('squeezed '.repeat(1000)));
        return void res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': body.length }).end(body);
      }
      case 'bytes':
        return sendSlowly(res, Math.min(Number(parts[1]) || 0, 64 * 1024 * 1024));
      case 'upload': {
        let received = 0;
        req.on('data', (chunk: Buffer) => (received += chunk.length));
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, received, contentType: req.headers['content-type'] }));
        });
        return;
      }
      case 'status': {
        const status = Number(parts[1]) || 500;
        return void res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
      }
      case 'flaky': {
        const failures = Number(parts[2]) || 1;
        if (count(`flaky/${parts[1]}`) <= failures) return void res.writeHead(503, { 'retry-after': '0' }).end('try again');
        return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok after ${failures} failures`);
      }
      case 'redirect':
        return void res.writeHead(302, { location: url.searchParams.get('to') ?? '/hello' }).end();
      case 'headers':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers));
      case 'stall':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
        return void res.flushHeaders();
      case 'truncated':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('x'.repeat(40));
        return void setTimeout(() => res.destroy(), 20);
      case 'versioned':
        return sendVersioned(req, res, count(`versioned/${parts[1]}`) === 1);
      default:
        return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no such route');
    }
  };
  const servers = [createServer(handler), createServer(handler)];
  const urls = await Promise.all(servers.map((server) => listen(server)));
  return {
    url: urls[0]!,
    otherUrl: urls[1]!,
    close: async () => {
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })));
    },
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function sendSlowly(res: ServerResponse, size: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
  let sent = 0;
  const tick = (): void => {
    if (res.destroyed) return;
    const n = Math.min(16 * 1024, size - sent);
    sent += n;
    if (sent >= size) return void res.end(Buffer.alloc(n, 120));
    res.write(Buffer.alloc(n, 120));
    setTimeout(tick, 1);
  };
  tick();
}

function sendVersioned(req: IncomingMessage, res: ServerResponse, cutHalfWay: boolean): void {
  const etag = '"v1"';
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  const start = range && (ifRange === undefined || ifRange === etag) ? Number(range[1]) : 0;
  const headers = { 'content-type': 'application/octet-stream', etag, 'accept-ranges': 'bytes' };
  if (start > 0) {
    res.writeHead(206, { ...headers, 'content-length': VERSIONED.length - start, 'content-range': `bytes ${start}-${VERSIONED.length - 1}/${VERSIONED.length}` });
    return void res.end(VERSIONED.subarray(start));
  }
  res.writeHead(200, { ...headers, 'content-length': VERSIONED.length });
  if (!cutHalfWay) return void res.end(VERSIONED);
  res.write(VERSIONED.subarray(0, VERSIONED.length / 2));
  // Hung up once the client has had time to read the half (Node drops what a response had
  // buffered and not yet handed on when its connection breaks: on a busy machine, 20 ms was
  // sometimes too short and the example found no partial file).
  setTimeout(() => res.destroy(), 300);
}
