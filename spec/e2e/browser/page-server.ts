/**
 * The browser tests' own server: real node:http on 127.0.0.1. It serves the test page and the
 * esbuild bundle of `page.ts` (which bundles the neutral `lib/index.ts`), plus:
 *
 *   GET  /bytes?size=N&chunk=C&delay=MS   N pattern bytes (see `patternByte`) with Content-Length,
 *                                         C bytes every MS ms; `x-sha256` holds their digest (hex);
 *                                         `gzip=1` gzip-encoded, `bodyAfter=MS` the body MS after the head
 *   POST /upload?id=ID&delay=MS           counts and hashes the body (reading a chunk every MS ms),
 *                                         answers JSON { id, received, sha256 }
 *   GET  /drip?id=ID                      declares 64 MiB, sends 16 KiB every 20 ms until the
 *                                         client closes; the close is recorded under ID
 *   GET  /redirect?to=URL                 302 to URL
 *   GET  /sandboxed                       the test page in a sandbox of its own (an opaque origin,
 *                                         though `location.origin` still names this server)
 *
 * `cors=1` on any route: the page's own server answers any origin too (a response reached through
 * a redirect via another origin is a CORS response even from the page's origin). A request with
 * an XSRF header is logged with ` xsrf` after its path.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Byte `i` of every download body: a pattern the page can check without the server. */
export function patternByte(i: number): number {
  return (i * 31 + (i >>> 8) + 7) & 0xff;
}

export function patternBytes(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = patternByte(i);
  return out;
}

export interface UploadRecord {
  readonly id: string;
  received: number;
  sha256?: string;
  complete: boolean;
}

export interface DripRecord {
  readonly id: string;
  sent: number;
  /** ms since the epoch when the client closed the connection. */
  closedAt?: number;
}

export interface PageServer {
  readonly origin: string;
  /** The same routes on another port: another origin for the page, CORS allowed, requests logged as `cross METHOD path`. */
  readonly crossOrigin: string;
  readonly uploads: Map<string, UploadRecord>;
  readonly drips: Map<string, DripRecord>;
  /** Requests seen, `METHOD path`. */
  readonly log: string[];
  close(): Promise<void>;
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rxtransfer browser e2e</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f24; }
  h1 { font-size: 20px; margin: 0 0 12px; }
  table { border-collapse: collapse; min-width: 720px; }
  td, th { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
  td.ok { color: #1a7f37; font-weight: 600; } td.fail { color: #cf222e; font-weight: 600; }
  progress { width: 180px; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>rxtransfer in Chromium</h1>
<p id="status">loading bundle…</p>
<table><thead><tr><th>scenario</th><th>progress</th><th>result</th><th>details</th></tr></thead><tbody id="rows"></tbody></table>
<script type="module" src="/bundle.js"></script>
</body>
</html>
`;

function query(req: IncomingMessage): URLSearchParams {
  return new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
}

function num(params: URLSearchParams, name: string, fallback: number): number {
  const value = Number(params.get(name) ?? fallback);
  return Number.isFinite(value) && value >= 0 ? value : fallback;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function sendBytes(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const params = query(req);
  const size = num(params, 'size', 1024);
  const chunk = Math.max(1, num(params, 'chunk', 64 * 1024));
  const delay = num(params, 'delay', 0);
  const plain = patternBytes(size);
  // `gzip=1`: the body gzip-encoded, Content-Length counting the encoded bytes (not exposed to
  // another origin: Content-Encoding is not CORS-safelisted). `bodyAfter=MS`: the head at once,
  // the first body byte MS later.
  const gzip = params.get('gzip') === '1';
  const body = gzip ? gzipSync(plain) : plain;
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(body.byteLength),
    'cache-control': 'no-store',
    'x-sha256': createHash('sha256').update(plain).digest('hex'),
    'access-control-expose-headers': 'x-sha256',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.flushHeaders();
  const bodyAfter = num(params, 'bodyAfter', 0);
  if (bodyAfter > 0) await sleep(bodyAfter);
  for (let offset = 0; offset < body.byteLength && !res.destroyed; offset += chunk) {
    res.write(body.subarray(offset, Math.min(body.byteLength, offset + chunk)));
    if (delay > 0) await sleep(delay);
  }
  res.end();
}

function receiveUpload(req: IncomingMessage, res: ServerResponse, uploads: Map<string, UploadRecord>): void {
  const params = query(req);
  const id = params.get('id') ?? `upload-${uploads.size + 1}`;
  const delay = num(params, 'delay', 0);
  const record: UploadRecord = { id, received: 0, complete: false };
  uploads.set(id, record);
  const hash = createHash('sha256');
  req.on('data', (data: Buffer) => {
    record.received += data.byteLength;
    hash.update(data);
    if (delay > 0) {
      // Read slowly so that the browser sees its upload progress grow in steps.
      req.pause();
      setTimeout(() => req.resume(), delay);
    }
  });
  req.on('end', () => {
    record.complete = true;
    record.sha256 = hash.digest('hex');
    const body = JSON.stringify({ id, received: record.received, sha256: record.sha256 });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  });
}

function drip(req: IncomingMessage, res: ServerResponse, drips: Map<string, DripRecord>): void {
  const id = query(req).get('id') ?? `drip-${drips.size + 1}`;
  const record: DripRecord = { id, sent: 0 };
  drips.set(id, record);
  const size = 64 * 1024 * 1024;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size), 'cache-control': 'no-store' });
  const piece = patternBytes(16 * 1024);
  const timer = setInterval(() => {
    if (record.sent + piece.byteLength >= size) return; // never finishes on its own
    res.write(piece);
    record.sent += piece.byteLength;
  }, 20);
  res.on('close', () => {
    clearInterval(timer);
    record.closedAt ??= Date.now();
  });
}

/** Starts the server on 127.0.0.1 (a free port). `bundle()` is asked for the page script once. */
export async function startPageServer(bundle: () => Promise<string>): Promise<PageServer> {
  const uploads = new Map<string, UploadRecord>();
  const drips = new Map<string, DripRecord>();
  const log: string[] = [];
  let script: Promise<string> | undefined;

  const handle = (cross: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    log.push(`${cross ? 'cross ' : ''}${req.method} ${path}${req.headers['x-xsrf-token'] !== undefined ? ' xsrf' : ''}`);
    if (cross || query(req).get('cors') === '1') {
      // Any page may read it; a preflight is answered (and logged) so that a test can tell one happened.
      res.setHeader('access-control-allow-origin', '*');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, PUT', 'access-control-allow-headers': '*', 'access-control-max-age': '0' }).end();
        return;
      }
    }
    const fail = (error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    };
    if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    } else if (req.method === 'GET' && path === '/sandboxed') {
      // Its origin is opaque: the bundle is fetched with CORS, hence `cors=1`.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': 'sandbox allow-scripts' });
      res.end(PAGE.replace('src="/bundle.js"', 'src="/bundle.js?cors=1"'));
    } else if (req.method === 'GET' && path === '/bundle.js') {
      (script ??= bundle())
        .then((js) => {
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
          res.end(js);
        })
        .catch(fail);
    } else if (req.method === 'GET' && path === '/bytes') {
      sendBytes(req, res).catch(fail);
    } else if ((req.method === 'POST' || req.method === 'PUT') && path === '/upload') {
      receiveUpload(req, res, uploads);
    } else if (req.method === 'GET' && path === '/drip') {
      drip(req, res, drips);
    } else if (req.method === 'GET' && path === '/redirect') {
      res.writeHead(302, { location: query(req).get('to') ?? '/', 'content-length': '0' }).end();
    } else if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for ${req.method} ${path}`);
    }
  };
  const server: Server = createServer(handle(false));
  const crossServer: Server = createServer(handle(true));

  const listen = (s: Server) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
    });
  const port = await listen(server);
  const crossPort = await listen(crossServer);
  const closeOne = (s: Server) =>
    new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });
  return {
    origin: `http://127.0.0.1:${port}`,
    crossOrigin: `http://127.0.0.1:${crossPort}`,
    uploads,
    drips,
    log,
    close: async () => {
      await Promise.all([closeOne(server), closeOne(crossServer)]);
    },
  };
}
