#!/usr/bin/env node
/* global AbortController */
/**
 * `npm start`: a short tour of rxtransfer against an embedded loopback server (127.0.0.1, a
 * free port), until the `rxtransfer` command line exists. It downloads a file with an
 * integrity check, uploads one, cancels a transfer, retries a flaky one, prints a summary and
 * exits 0 (1 if anything did not go as shown).
 *
 * It uses the built package (`npm start` runs `npm run build` first), exactly as a user would:
 * dist/esm/index.node.js is what `import … from 'rxtransfer'` loads on Node.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, lastValueFrom, tap } from 'rxjs';
import { download, isCancelledError, isDone, upload } from '../dist/esm/index.node.js';
import { fileBody } from '../dist/esm/node/index.js';

const tty = Boolean(process.stdout.isTTY);
const MiB = 1024 * 1024;

// --- The embedded server ------------------------------------------------------------------

const FILE = Buffer.alloc(8 * MiB);
for (let i = 0; i < FILE.length; i++) FILE[i] = (i * 31) & 0xff;
const FILE_SRI = `sha256-${createHash('sha256').update(FILE).digest('base64')}`;
let flakyCalls = 0;

/** Sends `body` in 64 KiB writes, `every` ms apart, until done or the client leaves. */
function drip(res, body, every) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
  let at = 0;
  const tick = () => {
    if (res.destroyed) return;
    const next = Math.min(at + 64 * 1024, body.length);
    const chunk = body.subarray(at, next);
    at = next;
    if (at >= body.length) return void res.end(chunk);
    res.write(chunk);
    setTimeout(tick, every);
  };
  tick();
}

const server = createServer((req, res) => {
  switch (req.url) {
    case '/file.bin':
      return drip(res, FILE, 8);
    case '/slow.bin':
      return drip(res, FILE, 40);
    case '/upload': {
      let received = 0;
      req.on('data', (chunk) => (received += chunk.length));
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ received })));
      return;
    }
    case '/flaky':
      flakyCalls++;
      if (flakyCalls <= 2) return void res.writeHead(503, { 'content-type': 'text/plain' }).end('busy, try again');
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('third time lucky');
    default:
      return void res.writeHead(404).end();
  }
});

// --- Display ------------------------------------------------------------------------------

const size = (n) => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(0)} KiB` : `${n} B`);

/**
 * A progress display for one transfer: on a terminal, one line redrawn in place; otherwise a
 * plain line at the start, at each quarter and at the end.
 */
function progressDisplay(label) {
  let quarter = -1;
  return {
    update(e) {
      const percent = e.percent ?? 0;
      const rate = e.bytesPerSecond ? `  ${size(e.bytesPerSecond)}/s` : '';
      const text = `${label.padEnd(10)} ${e.direction.padEnd(8)} [${'#'.repeat(Math.floor(percent / 5)).padEnd(20, '.')}] ${String(percent).padStart(3)}%  ${size(e.loaded)}${e.total === undefined ? '' : ` of ${size(e.total)}`}${rate}`;
      if (tty) {
        process.stdout.write(`\r\x1b[2K${text}`);
      } else if (Math.floor(percent / 25) !== quarter) {
        quarter = Math.floor(percent / 25);
        console.log(text);
      }
    },
    end(line) {
      if (tty) process.stdout.write('\r\x1b[2K');
      console.log(`${label.padEnd(10)} ${line}`);
    },
  };
}

/** Runs a transfer with a progress display; resolves with its result, or with the error. */
async function run(label, transfer) {
  const display = progressDisplay(label);
  const started = Date.now();
  let loaded = 0;
  const show = (e) => {
    if (e.type !== 'progress') return;
    loaded = e.loaded;
    display.update(e);
  };
  try {
    const done = await lastValueFrom(transfer.pipe(tap(show), filter(isDone)));
    return { label, ok: true, ms: Date.now() - started, result: done.result, display };
  } catch (error) {
    return { label, ok: false, ms: Date.now() - started, error, loaded, display };
  }
}

// --- The tour -----------------------------------------------------------------------------

async function main() {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const dir = await mkdtemp(join(tmpdir(), 'rxtransfer-demo-'));
  const summary = [];
  const check = (label, good, detail) => summary.push({ label, good, detail });
  console.log(`rxtransfer demo — loopback server at ${base}, files in ${dir}\n`);

  // 1. Download to a file, checked against a sha256 digest before it is renamed into place.
  const to = join(dir, 'file.bin');
  const got = await run('download', download(`${base}/file.bin`, { to, integrity: FILE_SRI }));
  if (got.ok) {
    const bytes = (await stat(to)).size;
    got.display.end(`done: ${size(bytes)} in ${got.ms} ms to ${to}, integrity ${got.result.integrity.slice(0, 20)}…`);
    check('download', bytes === FILE.length && !existsSync(`${to}.partial`), `${size(bytes)}, sha256 verified`);
  } else {
    got.display.end(`failed: ${got.error.message}`);
    check('download', false, got.error.message);
  }

  // 2. Upload a file from disk, streamed (PUT, so it could be retried safely).
  const source = join(dir, 'upload.bin');
  await writeFile(source, FILE.subarray(0, 4 * MiB));
  const sent = await run('upload', upload(`${base}/upload`, fileBody(source), { method: 'PUT', responseType: 'json' }));
  if (sent.ok) {
    sent.display.end(`done: HTTP ${sent.result.status}, server received ${size(sent.result.data.received)} in ${sent.ms} ms`);
    check('upload', sent.result.data.received === 4 * MiB, `${size(sent.result.sent)} sent`);
  } else {
    sent.display.end(`failed: ${sent.error.message}`);
    check('upload', false, sent.error.message);
  }

  // 3. Cancel through an AbortSignal: the transfer ends with CancelledError, no file is left.
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 400);
  const cancelledTo = join(dir, 'cancelled.bin');
  const cancelled = await run('cancel', download(`${base}/slow.bin`, { to: cancelledTo, signal: controller.signal }));
  const leftovers = existsSync(cancelledTo) || existsSync(`${cancelledTo}.partial`);
  cancelled.display.end(cancelled.ok ? 'finished before the cancel' : `${cancelled.error.name} after ${size(cancelled.loaded)}: ${cancelled.error.message}; files left: ${leftovers ? 'yes' : 'none'}`);
  check('cancel', !cancelled.ok && isCancelledError(cancelled.error) && !leftovers, 'CancelledError after 400 ms, no file left');

  // 4. Retry: the server answers 503 twice; the policy tries again with backoff.
  const retried = await run('retry', download(`${base}/flaky`, {
    responseType: 'text',
    retry: {
      count: 3,
      baseDelay: 200,
      shouldRetry: (error, attempt) => {
        console.log(`${'retry'.padEnd(10)} attempt ${attempt} failed (${error.message}); trying again`);
        return true;
      },
    },
  }));
  if (retried.ok) {
    retried.display.end(`done: "${retried.result.data}" after ${flakyCalls} requests, ${retried.ms} ms`);
    check('retry', flakyCalls === 3, `succeeded on attempt ${flakyCalls}`);
  } else {
    retried.display.end(`failed: ${retried.error.message}`);
    check('retry', false, retried.error.message);
  }

  console.log('\nSummary');
  for (const { label, good, detail } of summary) console.log(`  ${good ? 'ok  ' : 'FAIL'}  ${label.padEnd(10)} ${detail}`);
  console.log('\nNext: docs/transfers.md (every option, error and rule), README.md; `npm test` runs the proofs.');

  await rm(dir, { recursive: true, force: true });
  return summary.every((s) => s.good);
}

const watchdog = setTimeout(() => {
  console.error('demo: still running after 30 s, giving up');
  process.exit(1);
}, 30_000);
watchdog.unref();

main()
  .then((good) => {
    process.exitCode = good ? 0 : 1;
  })
  .catch((error) => {
    console.error(`demo failed: ${error?.stack ?? error}`);
    process.exitCode = 1;
  })
  .finally(() => {
    server.closeAllConnections();
    server.close();
  });
