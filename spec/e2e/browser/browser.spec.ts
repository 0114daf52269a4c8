/**
 * rxtransfer in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * the neutral entry bundled for the browser by esbuild, served with a test page by a real
 * node:http server on 127.0.0.1 (`page-server.ts`). Scenarios run in the page (`page.ts`).
 *
 * Chromium: `CHROMIUM_PATH`, else /usr/bin/chromium (`apt-get install -y chromium`).
 * A screenshot of the page is saved to spec/.output/browser-e2e.png, the scenarios' reports to
 * spec/.output/browser-e2e.json.
 */
import { build } from 'esbuild';
import { builtinModules } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startPageServer, type PageServer } from './page-server';
import type { NotificationSummary, Scenarios } from './page';

const root = resolve(__dirname, '..', '..', '..');
const outputDir = join(root, 'spec', '.output');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const builtins = new Set(builtinModules.map((m) => m.replace(/^node:/, '').split('/')[0]!));
let bundleInputs: string[] = [];

/** The page script: `page.ts` (and through it `lib/index.ts`, `lib/testing/index.ts`) for the browser. */
async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(__dirname, 'page.ts')],
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome110',
    sourcemap: 'inline',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  bundleInputs = Object.keys(result.metafile.inputs);
  const js = result.outputFiles[0]!.text;
  mkdirSync(outputDir, { recursive: true });
  writeFileSync(join(outputDir, 'browser-bundle.js'), js);
  return js;
}

/** Bounds any promise (a page call, a poll) so that no test can hang. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const progressOf = (trace: NotificationSummary[], direction: 'upload' | 'download') => trace.filter((n) => n.type === 'progress' && n.direction === direction);
const indexOfDone = (trace: NotificationSummary[]) => trace.findIndex((n) => n.type === 'done');

describe('rxtransfer in headless Chromium', () => {
  let server: PageServer;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  /** Console errors a test causes on purpose (the browser logs why a request failed): not page errors. */
  const expectedConsole: Array<(text: string, url: string) => boolean> = [];
  const reports: Record<string, unknown> = {};

  /** Runs a scenario of `page.ts` in the page, bounded. */
  function run<K extends keyof Scenarios>(name: K, ...args: Parameters<Scenarios[K]>): Promise<Awaited<ReturnType<Scenarios[K]>>> {
    const call = page.evaluate(([n, a]) => (window.scenarios[n] as (x: unknown) => Promise<unknown>)(a), [name, args[0]] as const);
    return within(call as Promise<Awaited<ReturnType<Scenarios[K]>>>, 45_000, `scenario ${name}`).then((report) => (reports[name] = report));
  }

  beforeAll(async () => {
    if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    server = await startPageServer(bundlePage);
    browser = await within(chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 }), 40_000, 'launching Chromium');
    page = await browser.newPage({ viewport: { width: 1100, height: 560 } });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() !== 'error' || expectedConsole.some((expected) => expected(message.text(), message.location().url))) return;
      pageErrors.push(`console: ${message.text()}`);
    });
    await page.goto(`${server.origin}/`, { waitUntil: 'load', timeout: 20_000 });
    await page.waitForFunction(() => window.scenariosReady === true, undefined, { timeout: 20_000 });
  }, 90_000);

  afterAll(async () => {
    try {
      if (page && !page.isClosed()) {
        mkdirSync(outputDir, { recursive: true });
        writeFileSync(join(outputDir, 'browser-e2e.json'), JSON.stringify({ origin: server?.origin, reports, serverLog: server?.log, pageErrors }, null, 2));
        await within(page.screenshot({ path: join(outputDir, 'browser-e2e.png'), fullPage: true }), 15_000, 'screenshot').catch(() => undefined);
      }
    } finally {
      await within(browser?.close() ?? Promise.resolve(), 15_000, 'closing Chromium').catch(() => undefined);
      await server?.close();
    }
  }, 40_000);

  it('serves a bundle of the neutral entry: no index.node, no Node built-ins', () => {
    expect(bundleInputs).toEqual(expect.arrayContaining(['lib/index.ts', 'lib/testing/index.ts', 'lib/internal/browser/axios-xhr-transport.ts']));
    expect(bundleInputs.filter((i) => i === 'lib/index.node.ts' || i.startsWith('lib/internal/node/') || i.startsWith('lib/node/'))).toEqual([]);
    expect(bundleInputs.filter((i) => i.startsWith('node:') || builtins.has(i))).toEqual([]);
  });

  it('download(url, { responseType: "arraybuffer" }) over axios XHR: progress, the exact bytes, a well-formed trace', async () => {
    const size = 1024 * 1024 + 123; // ~1 s on the wire: axios reports XHR progress at most 3 times a second
    const report = await run('download', { size, chunk: 32 * 1024, delay: 30 });
    expect(report.violations).toEqual([]);
    expect(report.trace.at(-1)).toEqual({ kind: 'complete' });
    expect(report.status).toBe(200);
    expect(report.dataKind).toBe('[object ArrayBuffer]');
    expect(report.byteLength).toBe(size);
    expect(report.size).toBe(size);
    expect(report.patternOk).toBe(true);
    expect(report.sha256).toBe(report.headerSha256);
    const progress = progressOf(report.trace, 'download');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatchObject({ loaded: size, total: size, percent: 100 });
    expect(progress.some((p) => p.loaded! > 0 && p.loaded! < size)).toBe(true); // bytes were reported while they arrived
    expect(server.log).toContain('GET /bytes');
  });

  it('upload(url, new Blob([...])): upload progress reaches 100% before done; the server counts every byte', async () => {
    const size = 8 * 1024 * 1024 + 7;
    const report = await run('upload', { id: 'blob-upload', size, delay: 8 });
    expect(report.violations).toEqual([]);
    expect(report.status).toBe(200);
    expect(report.sent).toBe(size);
    expect(report.response).toEqual({ id: 'blob-upload', received: size, sha256: report.expectedSha256 });
    expect(server.uploads.get('blob-upload')).toMatchObject({ received: size, complete: true, sha256: report.expectedSha256 });
    const up = progressOf(report.trace, 'upload');
    expect(up.some((p) => p.loaded! > 0 && p.loaded! < size)).toBe(true); // the server reads slowly: progress in steps
    const lastUp = up.at(-1)!;
    expect(lastUp).toMatchObject({ loaded: size, total: size, percent: 100 });
    expect(report.trace.indexOf(lastUp)).toBeLessThan(indexOfDone(report.trace));
  });

  it('FakeTransport from rxtransfer/testing drives download and upload in the browser', async () => {
    const report = await run('fake');
    expect(report.download.violations).toEqual([]);
    expect(report.download).toMatchObject({ data: 'hello world', requestUrl: 'https://example.invalid/fake.txt', method: 'GET', accept: 'text/plain' });
    expect(progressOf(report.download.trace, 'download').at(-1)).toMatchObject({ loaded: 11, total: 11, percent: 100 });
    expect(report.upload.violations).toEqual([]);
    expect(report.upload).toMatchObject({ method: 'PUT', sent: 10, data: 'stored' });
    expect(progressOf(report.upload.trace, 'upload').at(-1)).toMatchObject({ loaded: 10, total: 10, percent: 100 });
    expect(report.failure.violations).toEqual([]);
    expect(report.failure.trace.at(-1)).toMatchObject({ kind: 'error', error: { name: 'NetworkError', code: 'network', isTransferError: true } });
  });

  it('fromXhr() over a real XMLHttpRequest: upload progress, then the response; and a download', async () => {
    const size = 8 * 1024 * 1024 + 1;
    const downloadSize = 512 * 1024 + 3;
    const report = await run('fromXhr', { id: 'xhr-upload', size, delay: 8, downloadSize });
    const { upload, download } = report;
    expect(upload.violations).toEqual([]);
    expect(upload.status).toBe(200);
    expect(upload.sent).toBe(size);
    expect(upload.response).toEqual({ id: 'xhr-upload', received: size, sha256: upload.expectedSha256 });
    expect(server.uploads.get('xhr-upload')).toMatchObject({ received: size, complete: true });
    const up = progressOf(upload.trace, 'upload');
    expect(up.some((p) => p.loaded! > 0 && p.loaded! < size)).toBe(true);
    expect(up.at(-1)).toMatchObject({ loaded: size, total: size, percent: 100 });
    expect(upload.trace.indexOf(up.at(-1)!)).toBeLessThan(indexOfDone(upload.trace));

    expect(download.violations).toEqual([]);
    expect(download.status).toBe(200);
    expect(download.byteLength).toBe(downloadSize);
    expect(download.patternOk).toBe(true);
    expect(download.sha256).toBe(download.headerSha256);
    expect(progressOf(download.trace, 'download').at(-1)).toMatchObject({ loaded: downloadSize, total: downloadSize, percent: 100 });
  });

  it('G6 unsubscribe mid-download closes the connection (seen by the server) and delivers nothing more', async () => {
    const report = await run('unsubscribe', { id: 'drip-1' });
    expect(report.progressBefore).toBeGreaterThan(0);
    expect(report.loadedBefore).toBeGreaterThan(0);
    expect(report).toMatchObject({ deliveredAfter: 0, errored: false, completed: false });
    const record = server.drips.get('drip-1');
    expect(record).toBeDefined();
    await until(() => record!.closedAt !== undefined, 5_000, 'the server to see the connection close');
    expect(record!.sent).toBeLessThan(64 * 1024 * 1024);
  });

  it('G9 progress follows the XHR as the body arrives (axios calls back ~3 times a second): no false idle timeout under 333 ms', async () => {
    // 16 KiB every 20 ms for 1.5 s; XHR fires progress every 50 ms or so while bytes arrive.
    const report = await run('cadence', { id: 'drip-cadence', ms: 1_500, idle: 200 });
    expect(report.error).toBeUndefined();
    expect(report.events).toBeGreaterThanOrEqual(12);
    expect(report.longestGap).toBeLessThan(200);
    await until(() => server.drips.get('drip-cadence')?.closedAt !== undefined, 5_000, 'the server to see the connection close');
  });

  it('G9 an upload in the browser resets the idle limit as its bytes leave (Chromium reports upload progress only every ~0.5 s)', async () => {
    // 64 MiB the server reads a chunk of every 20 ms, watched for 3.5 s: still sending at the end.
    const report = await run('cadence', { id: 'upload-cadence', ms: 3_500, idle: 1_500, direction: 'upload' });
    expect(report.error).toBeUndefined();
    expect(report.events).toBeGreaterThanOrEqual(4);
    expect(report.longestGap).toBeLessThan(1_500);
    await until(() => server.uploads.get('upload-cadence') !== undefined, 5_000, 'the server to see the upload');
  });

  it("G8 what the caller's axios throws itself (a request interceptor) is 'invalid' and not retried, as on Node; no credentials in the message", async () => {
    const report = await run('interceptor', { retry: 2 });
    expect(report).toMatchObject({ name: 'TransferError', code: 'invalid', calls: 1 });
    expect(report.message).toMatch(/^the axios instance failed: token refresh failed at https:\/\/auth\.example\/token \(GET http:\/\/127\.0\.0\.1:\d+\/bytes\?size=10\)$/);
    expect(report.message).not.toContain('s3cret');
  });

  it("G8 an axios response interceptor that unwraps the response (r => r.data) is 'invalid' and not retried: not an empty or cut-short body", async () => {
    const report = await run('interceptor', { retry: 2, unwraps: true });
    expect(report).toMatchObject({ name: 'TransferError', code: 'invalid', calls: 1 });
    expect(report.message).toMatch(/response\.data/);
  });

  it("G8 a body with GET or HEAD, which an XHR drops without a word, is 'invalid' before any request (it reported the body sent)", async () => {
    const report = await run('bodyWithGet');
    expect(report.ends).toEqual([
      { method: 'GET', code: 'invalid', message: expect.stringMatching(/^a browser sends no body with GET: use POST or PUT \(GET http:\/\/127\.0\.0\.1:\d+\/bytes\?size=10\)$/) },
      { method: 'HEAD', code: 'invalid', message: expect.stringMatching(/^a browser sends no body with HEAD/) },
    ]);
  });

  it('S1 S4 S8 S9 a TransferSession on the default IndexedDB store keeps its task and acknowledgement across reopening', async () => {
    const report = await run('session', { id: `e2e-${Date.now()}`, size: 200_000 });
    expect(report.store).toBe('indexeddb');
    expect(report.lockedError).toBe('SessionLockedError');
    expect(report.firstRun).toEqual({ state: 'completed', size: 200_000, acked: true });
    expect(report.reopened).toEqual([{ id: 'task-1', state: 'completed', acked: true }]);
    expect(report.redelivered).toBe(0);
  });

  it('a GET to another origin: a simple request (no listener on xhr.upload, so no preflight); a gzip body the origin does not reveal is no size error; a late body after a fast head is no connect timeout', async () => {
    const size = 100_000;
    const report = await run('crossOriginGet', { origin: server.crossOrigin, size });
    expect(report.download).toMatchObject({ violations: [], byteLength: size, patternOk: true });
    expect(report.fromXhr).toMatchObject({ violations: [], byteLength: size, patternOk: true });
    expect(report.uploadListeners).toBe(0);
    // gzip the other origin does not reveal: no false size error from its encoded Content-Length
    expect(report.gzip).toMatchObject({ violations: [], byteLength: size, patternOk: true });
    // a head at once and the body late is no connect timeout
    expect(report.lateBody).toMatchObject({ violations: [], byteLength: size, patternOk: true });
    const cross = server.log.filter((line) => line.startsWith('cross '));
    expect(cross).toEqual(['cross GET /bytes', 'cross GET /bytes', 'cross GET /bytes', 'cross GET /bytes']); // and no OPTIONS
  });

  it('G8 G11 redirects the browser follows: no XSRF header to another origin, no false size error after a detour, maxBytes while the body arrives, maxRedirects: 0', async () => {
    const size = 50_000;
    const before = server.log.length;
    const report = await run('redirects', { origin: server.crossOrigin, size });
    expect(report.xsrf).toMatchObject({ violations: [], byteLength: size, patternOk: true });
    expect(report.gzipBack).toMatchObject({ violations: [], byteLength: size, patternOk: true });
    // 40 MiB at 64 KiB every 5 ms is over 3 s: stopped long before the end.
    expect(report.maxBytes).toMatchObject({ violations: [], code: 'integrity', reason: 'too-large' });
    expect(report.maxBytes.ms).toBeLessThan(2_500);
    expect(report.noRedirects).toMatchObject({ violations: [], code: 'http', error: expect.stringContaining('too many redirects (more than 0') });
    const log = server.log.slice(before);
    // The page's origin may get the XSRF header; the other origin never, and no preflight.
    expect(log.filter((line) => line.startsWith('cross '))).toEqual(['cross GET /bytes', 'cross GET /redirect', 'cross GET /bytes']);
  });

  it("E12 a URL with user:password@: the XHR's responseURL keeps them, done's url (download() and fromXhr()) does not", async () => {
    const report = await run('credentialsInUrl');
    const clean = `${server.origin}/bytes?size=10`;
    expect(report.responseURL).toBe(clean.replace('http://', 'http://user:s3cret@')); // what a bare XHR shows
    expect(report).toMatchObject({ fromXhrUrl: clean, downloadUrl: clean });
  });

  it("G4 G5 G11 an axios instance that adds params to the URL (defaults, paramsSerializer, an interceptor) is no redirect: total known, 100% before done, no error with maxRedirects: 0; a real redirect still is one", async () => {
    const size = 20_000;
    const before = server.log.length;
    const report = await run('axiosDefaults', { size });
    const url = `${server.origin}/bytes?size=${size}&chunk=4096&delay=10`;
    const end = { violations: [], withoutTotal: 0, lastProgress: { loaded: size, total: size, percent: 100 }, url };
    const { redirected, ...plain } = report;
    expect(plain).toEqual({ params: end, paramsNoRedirects: end, serializer: end, interceptor: end, interceptorNoRedirects: end });
    expect(server.log.slice(before)).toEqual([...Array(5).fill('GET /bytes'), 'GET /redirect', 'GET /bytes']);
    // A redirect that did happen is still one.
    expect(redirected).toMatchObject({ violations: [], error: expect.stringContaining('too many redirects (more than 0') });
  });

  it('G5 a page of an opaque origin (a sandboxed iframe, srcdoc): every response is a CORS one, so a gzip body whose encoding it cannot see is no false size error', async () => {
    const size = 100_000;
    // `srcdoc`: location.origin is 'null' too; `/sandboxed` (CSP sandbox): location.origin still names the server.
    // Driven from the page by message (see the end of page.ts), each frame in turn: ready, run, report.
    const call = page.evaluate(async ({ origin, size }) => {
      const frames = new Map<string, HTMLIFrameElement>();
      const waiting = new Map<string, (data: { ready?: boolean; report?: unknown; error?: string }) => void>();
      window.addEventListener('message', (event) => {
        for (const [name, frame] of frames) if (frame.contentWindow === event.source) waiting.get(name)?.(event.data as { ready?: boolean });
      });
      const next = (name: string, ms: number, what: string) =>
        new Promise<{ ready?: boolean; report?: unknown; error?: string }>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${name}: ${what} not within ${ms} ms`)), ms);
          waiting.set(name, (data) => (clearTimeout(timer), waiting.delete(name), resolve(data)));
        });
      const ready = new Map<string, Promise<unknown>>();
      for (const [name, src] of [['opaque-srcdoc', ''], ['opaque-csp', `${origin}/sandboxed`]] as const) {
        const frame = document.createElement('iframe');
        frame.name = name;
        frame.setAttribute('sandbox', 'allow-scripts');
        frames.set(name, frame);
        ready.set(name, next(name, 60_000, 'its test bundle saying it is ready'));
        if (src) frame.src = src;
        else frame.srcdoc = `<script type="module" src="${origin}/bundle.js?cors=1"></script>`;
        document.body.appendChild(frame);
      }
      const reports: Record<string, unknown> = {};
      for (const [name, frame] of frames) {
        await ready.get(name);
        const answer = next(name, 45_000, 'its report');
        frame.contentWindow!.postMessage({ run: 'opaqueOrigin', args: { origin, size } }, '*');
        const data = await answer;
        if (data.error !== undefined) throw new Error(`${name}: ${data.error}`);
        reports[name] = data.report;
      }
      return reports;
    }, { origin: server.origin, size });
    const reports = await within(call, 150_000, 'the opaque-origin frames').catch((error: Error) => {
      throw new Error(`${error.message}; requests seen: ${server.log.filter((l) => l.includes('/bundle.js') || l.includes('/sandboxed')).join(', ')}`);
    });
    const whole = { violations: [], byteLength: size, patternOk: true };
    expect(reports).toEqual({
      'opaque-srcdoc': { origin: 'null', locationOrigin: 'null', gzip: whole, plain: whole },
      'opaque-csp': { origin: 'null', locationOrigin: server.origin, gzip: whole, plain: whole },
    });
  }, 240_000);

  it('G11 a request the browser fails without saying why (status 0: nothing listening, CORS refused, a redirect to data:) is a NetworkError whose message lists the causes and where to look, not "Network Error"', async () => {
    // A port nothing listens on (taken, then let go), the page's server under another name
    // (another origin, no CORS header), a redirect to a scheme XHR does not follow.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const noCors = `${server.origin.replace('127.0.0.1', 'localhost')}/bytes?size=10`;
    const urls = {
      unreachable: `http://127.0.0.1:${closed}/bytes?size=10`,
      noCors,
      dataRedirect: `${server.origin}/redirect?to=${encodeURIComponent('data:text/plain,hello')}`,
    };
    // The browser logs its reason on the console (where the message sends the reader).
    expectedConsole.push((text, url) => Object.values(urls).some((u) => url === u || text.includes(u)));
    const report = await run('networkErrors', { urls });
    const said = expect.stringMatching(
      new RegExp(`^the browser gives no reason for this network error: .*could not be reached.*CORS.*${report.pageOrigin.replace(/[.]/g, '\\.')}.*the browser's console says which`),
    );
    for (const name of Object.keys(urls)) {
      expect(report.ends[name]).toEqual({
        download: { name: 'NetworkError', code: 'network', message: said },
        fromXhr: { name: 'NetworkError', code: 'network', message: said },
      });
    }
  });

  it("a File picked in the page and deleted before it is sent is the body's failure ('invalid', not retried) as the docs say, not a NetworkError retried into the same failure", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxtransfer-pick-'));
    try {
      const gone = join(dir, 'gone.bin');
      writeFileSync(gone, Buffer.alloc(100_000, 1));
      await page.evaluate(() => {
        const input = document.createElement('input');
        input.type = 'file';
        input.id = 'pick';
        document.body.appendChild(input);
      });
      await page.setInputFiles('#pick', gone);
      rmSync(gone);
      const url = `${server.origin}/upload?id=picked`;
      // The browser logs its own line for the request it could not read the file of.
      expectedConsole.push((text, at) => at === url && text.includes('ERR_FILE_NOT_FOUND'));
      const report = await run('unreadableFiles', { url });
      expect(report.ends).toEqual([
        {
          file: 'gone.bin',
          kind: 'error',
          sends: 1,
          name: 'TransferError',
          code: 'invalid',
          message: expect.stringMatching(/^cannot send the request body, the file "gone\.bin" \(deleted or moved since it was picked\): .+ \(PUT http:\/\/127\.0\.0\.1:\d+\/upload\?id=picked\)$/),
        },
      ]);
      expect(server.uploads.has('picked')).toBe(false);
    } finally {
      await page.evaluate(() => document.getElementById('pick')?.remove());
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
