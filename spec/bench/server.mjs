// The benchmark's loopback server: fast paths only (not the test fault server).
//
//   GET|HEAD /bytes/<n>   n bytes of a fixed pattern, with Content-Length, a strong ETag and
//                         single-range `Range` support (206 / 416). The body is written from one
//                         reused 1 MiB buffer, so serving 2 GiB costs the server 1 MiB.
//   PUT|POST /sink        counts the request body and discards it; answers {"received": n}.
//
// Run as its own process (`node spec/bench/server.mjs [port] [--exit-with-stdin]`) so that the
// client's peak RSS is its own: it prints one JSON line `{"port": n, "pid": n}` on stdout when it
// listens, and exits on SIGTERM/SIGINT, or when its stdin closes with `--exit-with-stdin` (the
// runner passes it, so the server cannot outlive a runner that died).
import http from 'node:http';
import { pathToFileURL } from 'node:url';

/** The repeating unit of every body; byte `o` of a body is `PATTERN[o % PATTERN.length]`. */
export const CHUNK = 1 << 20;
const PATTERN = makePattern(CHUNK);

function makePattern(size) {
  const words = new Uint32Array(size / 4);
  let x = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer);
}

/** Parses a single `bytes=a-b` range against `size`: {start, end} inclusive, 'unsatisfiable', or undefined (ignore). */
export function parseRange(header, size) {
  const match = /^bytes=(\d*)-(\d*)$/.exec(String(header ?? '').trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start;
  let end;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    if (start >= size) return 'unsatisfiable';
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (end < start) return undefined;
  }
  return { start, end };
}

/** Writes bytes [from, to) of the pattern, one large slice at a time, under backpressure. */
function sendPattern(res, from, to) {
  let at = from;
  const pump = () => {
    while (at < to) {
      const offset = at % CHUNK;
      const n = Math.min(CHUNK - offset, to - at);
      at += n;
      if (!res.write(offset === 0 && n === CHUNK ? PATTERN : PATTERN.subarray(offset, offset + n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  res.on('close', () => res.off('drain', pump));
  pump();
}

function serveBytes(req, res, size) {
  const etag = `"bench-${size}"`;
  const headers = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', ETag: etag };
  let start = 0;
  let end = size - 1;
  let status = 200;
  const ifRange = req.headers['if-range'];
  const range = req.headers.range !== undefined && (ifRange === undefined || ifRange === etag) ? parseRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    return res.end();
  }
  if (range) {
    ({ start, end } = range);
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  }
  res.writeHead(status, { ...headers, 'Content-Length': size === 0 ? 0 : end - start + 1 });
  if (req.method === 'HEAD' || size === 0) return res.end();
  sendPattern(res, start, end + 1);
}

function sink(req, res) {
  let received = 0;
  req.on('data', (chunk) => (received += chunk.length));
  req.on('end', () => {
    const body = JSON.stringify({ received });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
}

/** The request handler, exported so that an in-process variant can be built on it later. */
export function handle(req, res) {
  const url = new URL(req.url ?? '/', 'http://bench');
  const bytes = /^\/bytes\/(\d+)$/.exec(url.pathname);
  if (bytes && (req.method === 'GET' || req.method === 'HEAD')) return serveBytes(req, res, Number(bytes[1]));
  if (url.pathname === '/sink' && (req.method === 'PUT' || req.method === 'POST')) return sink(req, res);
  req.resume();
  res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 9 });
  res.end('not found');
}

/** Starts the server on 127.0.0.1 (port 0: any free port); resolves with the server and its port. */
export function startBenchServer(port = 0) {
  const server = http.createServer({ keepAliveTimeout: 5000, highWaterMark: CHUNK }, handle);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, port: server.address().port }));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const { server, port } = await startBenchServer(Number(args.find((a) => /^\d+$/.test(a)) ?? 0));
  const stop = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (args.includes('--exit-with-stdin')) process.stdin.on('end', stop).on('close', stop).resume();
  process.stdout.write(JSON.stringify({ port, pid: process.pid }) + '\n');
}
