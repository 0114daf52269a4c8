/**
 * The code the test page runs in Chromium. `browser.spec.ts` bundles this file with esbuild for
 * the browser (it pulls in the neutral `lib/index.ts` and `lib/testing/index.ts`, never
 * `index.node.ts`) and calls the scenarios below through `window.scenarios`.
 * Every scenario bounds its own waits and returns plain JSON.
 */
import axios from 'axios';
import { download, fromXhr, isTransferError, upload, TransferSession, type Transfer, type TransferEvent } from '../../../lib/index.js';
import { FakeTransport, grammarViolations, recordTransfer, type Notification } from '../../../lib/testing/index.js';

/** A notification as JSON: progress fields, `done`, or the error's name/code/message. */
export interface NotificationSummary {
  kind: 'next' | 'error' | 'complete';
  type?: 'progress' | 'done';
  direction?: 'upload' | 'download';
  loaded?: number;
  total?: number;
  percent?: number;
  attempt?: number;
  error?: { name: string; code?: string; message: string; isTransferError: boolean };
}

export interface TraceReport {
  violations: string[];
  trace: NotificationSummary[];
}

export interface DownloadReport extends TraceReport {
  status?: number;
  size?: number;
  dataKind?: string;
  byteLength?: number;
  patternOk?: boolean;
  sha256?: string;
  headerSha256?: string;
}

export interface UploadReport extends TraceReport {
  status?: number;
  sent?: number;
  expectedSha256: string;
  response?: { id: string; received: number; sha256: string };
}

export interface FakeReport {
  download: TraceReport & { data?: string; requestUrl: string; method: string; accept?: string };
  upload: TraceReport & { sent?: number; data?: string; method: string };
  failure: TraceReport;
}

export interface FromXhrReport {
  upload: UploadReport;
  download: DownloadReport;
}

export interface UnsubscribeReport {
  id: string;
  progressBefore: number;
  loadedBefore: number;
  deliveredAfter: number;
  errored: boolean;
  completed: boolean;
}

export interface Scenarios {
  interceptor(args: { retry: number; unwraps?: boolean }): Promise<InterceptorReport>;
  download(args: { size: number; chunk: number; delay: number }): Promise<DownloadReport>;
  upload(args: { id: string; size: number; delay: number }): Promise<UploadReport>;
  fake(): Promise<FakeReport>;
  fromXhr(args: { id: string; size: number; delay: number; downloadSize: number }): Promise<FromXhrReport>;
  unsubscribe(args: { id: string }): Promise<UnsubscribeReport>;
  session(args: { id: string; size: number }): Promise<SessionReport>;
  crossOriginGet(args: { origin: string; size: number }): Promise<CrossOriginReport>;
  redirects(args: { origin: string; size: number }): Promise<RedirectsReport>;
  cadence(args: { id: string; ms: number; idle: number; direction?: 'download' | 'upload' }): Promise<CadenceReport>;
  bodyWithGet(): Promise<BodyWithGetReport>;
  credentialsInUrl(): Promise<CredentialsInUrlReport>;
  axiosDefaults(args: { size: number }): Promise<AxiosDefaultsReport>;
  opaqueOrigin(args: { origin: string; size: number }): Promise<OpaqueOriginReport>;
  networkErrors(args: { urls: Record<string, string> }): Promise<NetworkErrorsReport>;
  unreadableFiles(args: { url: string }): Promise<UnreadableFilesReport>;
}

/**
 * Run in a page of an opaque origin (a sandboxed iframe): every response it gets is a CORS one,
 * whatever URL it came from. A gzip body and a plain one from the test server.
 */
export interface OpaqueOriginReport {
  /** `self.origin`: 'null' for an opaque origin. */
  origin: string;
  /** `location.origin`: the URL's, which a sandbox does not change. */
  locationOrigin: string;
  gzip: Summary;
  plain: Summary;
}

/** The last download progress and the end of a transfer through an axios instance that adds to the URL. */
export interface AxiosDefaultsEnd {
  violations: string[];
  lastProgress?: { loaded?: number; total?: number; percent?: number };
  /** Download progress events without a `total`. */
  withoutTotal: number;
  url?: string;
  error?: string;
}

/**
 * Downloads (no redirect) through axios instances that add to the URL they request: default
 * `params`, a `paramsSerializer`, a request interceptor that adds a parameter; each plainly and
 * with `maxRedirects: 0`.
 */
export interface AxiosDefaultsReport {
  params: AxiosDefaultsEnd;
  paramsNoRedirects: AxiosDefaultsEnd;
  serializer: AxiosDefaultsEnd;
  interceptor: AxiosDefaultsEnd;
  interceptorNoRedirects: AxiosDefaultsEnd;
  /** With default `params` and `maxRedirects: 0`, a URL that does redirect. */
  redirected: AxiosDefaultsEnd;
}

/** A URL with `user:password@`: what a bare XHR's responseURL shows, and the url of each transfer's done. */
export interface CredentialsInUrlReport {
  responseURL: string;
  fromXhrUrl?: string;
  downloadUrl?: string;
}

/** Requests the browser fails without a reason (status 0): each download's end, and fromXhr()'s for the same URL. */
export interface NetworkErrorsReport {
  pageOrigin: string;
  ends: Record<string, { download?: { name?: string; code?: string; message?: string }; fromXhr?: { name?: string; code?: string; message?: string } }>;
}

/** Each file picked in `#pick` (deleted since), uploaded with `retry: 2`: its end, and how many requests were sent. */
export interface UnreadableFilesReport {
  ends: Array<{ file: string; sends: number; kind?: string; name?: string; code?: string; message?: string }>;
}

/** `upload(url, body, { method })` for GET and HEAD, whose body an XHR drops: each transfer's end. */
export interface BodyWithGetReport {
  ends: Array<{ method: string; code?: string; message?: string; sent?: number }>;
}

/**
 * Progress of a body that keeps moving, watched for `ms`: a download that keeps arriving (16 KiB
 * every 20 ms), or an upload of 64 MiB the server reads a chunk of every 20 ms.
 */
export interface CadenceReport {
  /** Progress events of that direction with bytes, `progressInterval: 0`. */
  events: number;
  /** The longest wait between two of them, in ms. */
  longestGap: number;
  /** The transfer's error, if it ended before it was unsubscribed. */
  error?: string;
}

type Summary = { violations: string[]; byteLength?: number; patternOk?: boolean; error?: string; code?: string; reason?: string };

/** A caller's axios instance whose request interceptor throws (a token refresh that failed). */
export interface InterceptorReport {
  /** The transfer's error: its name, code and message. */
  name?: string;
  code?: string;
  message?: string;
  /** How often the interceptor ran. */
  calls: number;
}

/** What the browser's own redirects and buffering mean for the core's rules. */
export interface RedirectsReport {
  /** A GET redirected to another origin while the page holds an XSRF-TOKEN cookie (G11: no XSRF header there, no preflight). */
  xsrf: Summary;
  /** gzip from this origin reached through a redirect via another origin: its encoding is hidden (no false size error). */
  gzipBack: Summary;
  /** `maxBytes` on a large body from another origin (size unknown to the page until the end). */
  maxBytes: Summary & { ms: number };
  /** `maxRedirects: 0` on a URL the browser is redirected from. */
  noRedirects: Summary;
}

/** Plain GETs to another origin (CORS), which must go out as simple requests (no preflight). */
export interface CrossOriginReport {
  download: { violations: string[]; byteLength?: number; patternOk?: boolean; error?: string };
  fromXhr: { violations: string[]; byteLength?: number; patternOk?: boolean; error?: string };
  /** Listeners added to any `xhr.upload` during the two GETs (the XHR standard preflights a cross-origin request that has some). */
  uploadListeners: number;
  /** A gzip-encoded body whose encoding the other origin does not expose (its Content-Length counts encoded bytes). */
  gzip: { violations: string[]; byteLength?: number; patternOk?: boolean; error?: string };
  /** The head at once, the body 1.5 s later, with a 700 ms connect limit. */
  lateBody: { violations: string[]; byteLength?: number; patternOk?: boolean; error?: string };
}

export interface SessionReport {
  /** Where the session lives by default in the browser ('indexeddb' when its database exists). */
  store: string;
  firstRun: { state?: string; size?: number; acked: boolean };
  /** After closing and reopening the session by id (S1) in the same page. */
  reopened: Array<{ id: string; state: string; acked: boolean }>;
  /** A completion delivered again after its ack (must stay 0, S4). */
  redelivered: number;
  /** A second open while the first is open (S8). */
  lockedError?: string;
}

declare global {
  interface Window {
    scenarios: Scenarios;
    scenariosReady: boolean;
  }
}

// --- helpers --------------------------------------------------------------------------------

function patternByte(i: number): number {
  return (i * 31 + (i >>> 8) + 7) & 0xff;
}

function patternBytes(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = patternByte(i);
  return out;
}

function isPattern(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.byteLength; i++) if (bytes[i] !== patternByte(i)) return false;
  return true;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms} ms`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error)),
    );
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function summarize<R>(trace: readonly Notification<R>[]): NotificationSummary[] {
  return trace.map((n): NotificationSummary => {
    if (n.kind === 'complete') return { kind: 'complete' };
    if (n.kind === 'error') {
      const e = n.error as { name?: string; code?: string; message?: string };
      return { kind: 'error', error: { name: String(e?.name), code: e?.code, message: String(e?.message), isTransferError: isTransferError(n.error) } };
    }
    const v = n.value;
    if (v.type === 'done') return { kind: 'next', type: 'done' };
    return { kind: 'next', type: 'progress', direction: v.direction, loaded: v.loaded, total: v.total, percent: v.percent, attempt: v.attempt };
  });
}

function doneOf<R>(trace: readonly Notification<R>[]): R | undefined {
  for (const n of trace) if (n.kind === 'next' && n.value.type === 'done') return n.value.result;
  return undefined;
}

/** A row of the page's table, so the screenshot shows what ran. */
function row(name: string): { progress(e: TransferEvent<unknown>): void; end(ok: boolean, details: string): void } {
  const tr = document.createElement('tr');
  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = 0;
  const cells = [name, '', 'running…', ''].map((text) => {
    const td = document.createElement('td');
    td.textContent = text;
    tr.appendChild(td);
    return td;
  });
  cells[1]!.appendChild(bar);
  document.getElementById('rows')?.appendChild(tr);
  return {
    progress(e) {
      if (e.type === 'progress' && e.percent !== undefined) {
        bar.value = e.percent;
        bar.title = `${e.direction} ${e.loaded}/${e.total}`;
      }
    },
    end(ok, details) {
      cells[2]!.textContent = ok ? 'ok' : 'FAILED';
      cells[2]!.className = ok ? 'ok' : 'fail';
      const code = document.createElement('code');
      code.textContent = details;
      cells[3]!.appendChild(code);
    },
  };
}

function show<R>(r: ReturnType<typeof row>, trace: readonly Notification<R>[]): void {
  for (const n of trace) if (n.kind === 'next') r.progress(n.value as TransferEvent<unknown>);
}

// --- scenarios ------------------------------------------------------------------------------

async function downloadScenario(args: { size: number; chunk: number; delay: number }): Promise<DownloadReport> {
  const r = row(`download() ${args.size} B, axios XHR`);
  const url = `${location.origin}/bytes?size=${args.size}&chunk=${args.chunk}&delay=${args.delay}`;
  const recording = recordTransfer(download(url, { responseType: 'arraybuffer', progressInterval: 0 }));
  const trace = await within(recording.ended, 30_000, 'download');
  show(r, trace);
  const report: DownloadReport = { violations: grammarViolations(trace), trace: summarize(trace) };
  const result = doneOf(trace);
  if (result) {
    const data = result.data as unknown;
    report.status = result.status;
    report.size = result.size;
    report.headerSha256 = result.headers['x-sha256'];
    report.dataKind = Object.prototype.toString.call(data);
    if (data instanceof ArrayBuffer) {
      const bytes = new Uint8Array(data);
      report.byteLength = bytes.byteLength;
      report.patternOk = isPattern(bytes);
      report.sha256 = await sha256Hex(bytes);
    }
  }
  r.end(report.violations.length === 0 && report.patternOk === true, `${report.byteLength ?? '?'} B, sha256 ${report.sha256?.slice(0, 12) ?? '?'}…`);
  return report;
}

async function uploadScenario(args: { id: string; size: number; delay: number }): Promise<UploadReport> {
  const r = row(`upload() Blob ${args.size} B, axios XHR`);
  const bytes = patternBytes(args.size);
  const url = `${location.origin}/upload?id=${encodeURIComponent(args.id)}&delay=${args.delay}`;
  const recording = recordTransfer(upload(url, new Blob([bytes]), { responseType: 'json', progressInterval: 0 }));
  const trace = await within(recording.ended, 30_000, 'upload');
  show(r, trace);
  const report: UploadReport = { violations: grammarViolations(trace), trace: summarize(trace), expectedSha256: await sha256Hex(bytes) };
  const result = doneOf(trace);
  if (result) {
    report.status = result.status;
    report.sent = result.sent;
    report.response = result.data as UploadReport['response'];
  }
  r.end(report.violations.length === 0 && report.response?.sha256 === report.expectedSha256, `sent ${report.sent ?? '?'} B, server got ${report.response?.received ?? '?'} B`);
  return report;
}

async function fakeScenario(): Promise<FakeReport> {
  const r = row('FakeTransport (rxtransfer/testing)');
  const fake = new FakeTransport();

  const dl = recordTransfer(download('https://example.invalid/fake.txt', { transport: fake, responseType: 'text', progressInterval: 0, headers: { accept: 'text/plain' } }));
  const dlReq = await within(fake.next(), 5_000, 'fake download request');
  dlReq.connect().respond({ headers: { 'content-length': '11', 'content-type': 'text/plain' } });
  dlReq.chunk('hello ');
  await sleep(10);
  dlReq.chunk('world').end();
  const dlTrace = await within(dl.ended, 5_000, 'fake download');
  show(r, dlTrace);

  const up = recordTransfer(upload('https://example.invalid/up', 'abcdefghij', { transport: fake, progressInterval: 0, method: 'PUT' }));
  const upReq = await within(fake.next(), 5_000, 'fake upload request');
  upReq.connect().uploadProgress(4);
  await sleep(10);
  upReq.uploadProgress(10).flush('stored');
  const upTrace = await within(up.ended, 5_000, 'fake upload');

  const failing = recordTransfer(download('https://example.invalid/broken', { transport: fake }));
  (await within(fake.next(), 5_000, 'fake failing request')).connect().fail();
  const failTrace = await within(failing.ended, 5_000, 'fake failure');

  const report: FakeReport = {
    download: { violations: grammarViolations(dlTrace), trace: summarize(dlTrace), data: doneOf(dlTrace)?.data, requestUrl: dlReq.url, method: dlReq.method, accept: dlReq.header('Accept') },
    upload: { violations: grammarViolations(upTrace), trace: summarize(upTrace), sent: doneOf(upTrace)?.sent, data: doneOf(upTrace)?.data, method: upReq.method },
    failure: { violations: grammarViolations(failTrace), trace: summarize(failTrace) },
  };
  const ok = [report.download, report.upload, report.failure].every((t) => t.violations.length === 0);
  r.end(ok, `download "${report.download.data}", upload → "${report.upload.data}", failure → ${report.failure.trace.at(-1)?.error?.name}`);
  return report;
}

async function fromXhrScenario(args: { id: string; size: number; delay: number; downloadSize: number }): Promise<FromXhrReport> {
  const r = row('fromXhr() with a real XMLHttpRequest');
  const bytes = patternBytes(args.size);
  const upUrl = `${location.origin}/upload?id=${encodeURIComponent(args.id)}&delay=${args.delay}`;
  const upRec = recordTransfer(
    fromXhr<{ id: string; received: number; sha256: string }>(
      () => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', upUrl);
        xhr.responseType = 'json';
        return xhr;
      },
      { body: new Blob([bytes]), url: upUrl, method: 'POST' },
    ),
  );
  const upTrace = await within(upRec.ended, 30_000, 'fromXhr upload');
  show(r, upTrace);
  const upResult = doneOf(upTrace);
  const uploadReport: UploadReport = {
    violations: grammarViolations(upTrace),
    trace: summarize(upTrace),
    expectedSha256: await sha256Hex(bytes),
    status: upResult?.status,
    sent: upResult?.sent,
    response: upResult?.data,
  };

  const dlUrl = `${location.origin}/bytes?size=${args.downloadSize}&chunk=${64 * 1024}&delay=10`;
  const dlRec = recordTransfer(
    fromXhr<ArrayBuffer>(() => {
      const xhr = new XMLHttpRequest();
      xhr.open('GET', dlUrl);
      xhr.responseType = 'arraybuffer';
      return xhr;
    }, { url: dlUrl }),
  );
  const dlTrace = await within(dlRec.ended, 30_000, 'fromXhr download');
  const dlResult = doneOf(dlTrace);
  const downloadReport: DownloadReport = { violations: grammarViolations(dlTrace), trace: summarize(dlTrace) };
  if (dlResult) {
    downloadReport.status = dlResult.status;
    downloadReport.size = dlResult.size;
    downloadReport.headerSha256 = dlResult.headers['x-sha256'];
    downloadReport.dataKind = Object.prototype.toString.call(dlResult.data);
    if (dlResult.data instanceof ArrayBuffer) {
      const got = new Uint8Array(dlResult.data);
      downloadReport.byteLength = got.byteLength;
      downloadReport.patternOk = isPattern(got);
      downloadReport.sha256 = await sha256Hex(got);
    }
  }
  const ok = uploadReport.violations.length === 0 && downloadReport.violations.length === 0 && downloadReport.patternOk === true;
  r.end(ok, `sent ${uploadReport.sent ?? '?'} B, received ${downloadReport.byteLength ?? '?'} B`);
  return { upload: uploadReport, download: downloadReport };
}

async function unsubscribeScenario(args: { id: string }): Promise<UnsubscribeReport> {
  const r = row('unsubscribe mid-download');
  const url = `${location.origin}/drip?id=${encodeURIComponent(args.id)}`;
  let unsubscribed = false;
  const report: UnsubscribeReport = { id: args.id, progressBefore: 0, loadedBefore: 0, deliveredAfter: 0, errored: false, completed: false };
  let sawBytes!: () => void;
  const firstBytes = new Promise<void>((resolve) => (sawBytes = resolve));
  const subscription = download(url, { progressInterval: 0 }).subscribe({
    next: (e) => {
      if (unsubscribed) return void report.deliveredAfter++;
      r.progress(e as TransferEvent<unknown>);
      if (e.type === 'progress' && e.direction === 'download' && e.loaded > 0) {
        report.progressBefore++;
        report.loadedBefore = e.loaded;
        sawBytes();
      }
    },
    error: () => {
      if (unsubscribed) report.deliveredAfter++;
      report.errored = true;
      sawBytes();
    },
    complete: () => {
      if (unsubscribed) report.deliveredAfter++;
      report.completed = true;
      sawBytes();
    },
  });
  try {
    await within(firstBytes, 15_000, 'first download progress');
  } finally {
    subscription.unsubscribe();
    unsubscribed = true;
  }
  await sleep(400); // anything delivered now would break G6
  r.end(report.deliveredAfter === 0 && !report.errored && !report.completed, `unsubscribed after ${report.loadedBefore} B`);
  return report;
}

/** S1 S4 S8 S9 in the browser: the default IndexedDB store keeps tasks and acknowledgements across reopening. */
async function sessionScenario(args: { id: string; size: number }): Promise<SessionReport> {
  const r = row('session on IndexedDB');
  const url = `${location.origin}/bytes?size=${args.size}&chunk=16384`;
  const first = await TransferSession.open({ id: args.id });
  const databases = await indexedDB.databases();
  const store = databases.some((d) => d.name === `rxtransfer-session:${args.id}`) ? 'indexeddb' : 'not in IndexedDB';
  const report: SessionReport = { store, firstRun: { acked: false }, reopened: [], redelivered: 0 };
  try {
    await TransferSession.open({ id: args.id });
  } catch (error) {
    report.lockedError = (error as Error).name;
  }
  const completed = new Promise<void>((resolve) =>
    first.completions$.subscribe(async (c) => {
      report.firstRun.state = c.state;
      report.firstRun.size = c.result?.size;
      await c.ack();
      report.firstRun.acked = true;
      resolve();
    }),
  );
  await first.download(url, { id: 'task-1' });
  await within(completed, 20_000, 'session completion');
  await first.close();

  const again = await TransferSession.open({ id: args.id });
  const redelivery = again.completions$.subscribe(() => report.redelivered++);
  await sleep(300);
  redelivery.unsubscribe();
  report.reopened = again.tasks().map((t) => ({ id: t.id, state: t.state, acked: t.acked }));
  await again.close();
  r.end(report.firstRun.state === 'completed' && report.redelivered === 0, `${report.reopened.length} task(s) after reopening`);
  return report;
}

async function crossOriginGetScenario(args: { origin: string; size: number }): Promise<CrossOriginReport> {
  const r = row('GET from another origin, no preflight');
  const summary = (trace: readonly Notification<{ data?: unknown }>[]) => {
    const done = doneOf(trace);
    const data = done?.data;
    const out: CrossOriginReport['download'] = { violations: grammarViolations(trace) };
    if (data instanceof ArrayBuffer) {
      out.byteLength = data.byteLength;
      out.patternOk = isPattern(new Uint8Array(data));
    }
    const end = trace.at(-1);
    if (end?.kind === 'error') out.error = String((end.error as Error)?.message ?? end.error);
    return out;
  };
  const url = `${args.origin}/bytes?size=${args.size}`;
  // Counted, not prevented: Chromium itself preflights only requests with a body, so the
  // listeners are what tells whether a stricter browser would.
  let uploadListeners = 0;
  const add = XMLHttpRequestUpload.prototype.addEventListener;
  XMLHttpRequestUpload.prototype.addEventListener = function (this: XMLHttpRequestUpload, ...rest: Parameters<typeof add>) {
    uploadListeners += 1;
    return add.apply(this, rest);
  } as typeof add;
  try {
    const viaDownload = await within(recordTransfer(download(url, { responseType: 'arraybuffer' })).ended, 20_000, 'cross-origin download');
    const viaXhr = await within(
      recordTransfer(
        fromXhr<ArrayBuffer>(() => {
          const xhr = new XMLHttpRequest();
          xhr.open('GET', url);
          xhr.responseType = 'arraybuffer';
          return xhr;
        }, { url }),
      ).ended,
      20_000,
      'cross-origin fromXhr',
    );
    const gzipped = await within(recordTransfer(download(`${url}&gzip=1`, { responseType: 'arraybuffer' })).ended, 20_000, 'cross-origin gzip');
    const late = await within(recordTransfer(download(`${url}&bodyAfter=1500`, { responseType: 'arraybuffer', timeout: { connect: 700 } })).ended, 20_000, 'late body');
    const report: CrossOriginReport = { download: summary(viaDownload), fromXhr: summary(viaXhr), uploadListeners, gzip: summary(gzipped), lateBody: summary(late) };
    r.end(report.download.patternOk === true && report.fromXhr.patternOk === true && uploadListeners === 0, `download ${report.download.byteLength ?? '?'} B, fromXhr ${report.fromXhr.byteLength ?? '?'} B, ${uploadListeners} upload listeners`);
    return report;
  } finally {
    XMLHttpRequestUpload.prototype.addEventListener = add;
  }
}

/** A transfer's trace, summed up: grammar violations, the bytes of its `done` (and whether they are the pattern), or its error. */
function summary(trace: readonly Notification<{ data?: unknown }>[]): Summary {
  const data = doneOf(trace)?.data;
  const out: Summary = { violations: grammarViolations(trace) };
  if (data instanceof ArrayBuffer) {
    out.byteLength = data.byteLength;
    out.patternOk = isPattern(new Uint8Array(data));
  }
  const end = trace.at(-1);
  if (end?.kind === 'error') {
    const error = end.error as { message?: string; code?: string; reason?: string };
    out.error = String(error?.message ?? error);
    out.code = error?.code;
    out.reason = error?.reason;
  }
  return out;
}

async function redirectsScenario(args: { origin: string; size: number }): Promise<RedirectsReport> {
  const r = row('redirects the browser follows');
  const here = location.origin;
  const get = (url: string, options: Record<string, unknown> = {}) => within(recordTransfer(download(url, { responseType: 'arraybuffer', ...options })).ended, 20_000, url);
  document.cookie = 'XSRF-TOKEN=csrf-secret; path=/';
  let xsrf: Summary;
  try {
    xsrf = summary(await get(`${here}/redirect?to=${encodeURIComponent(`${args.origin}/bytes?size=${args.size}`)}`));
  } finally {
    document.cookie = 'XSRF-TOKEN=; path=/; max-age=0';
  }
  const back = `${args.origin}/redirect?to=${encodeURIComponent(`${here}/bytes?size=${args.size}&gzip=1&cors=1`)}`;
  const gzipBack = summary(await get(`${here}/redirect?to=${encodeURIComponent(back)}`));
  const started = performance.now();
  const maxBytes = { ...summary(await get(`${args.origin}/bytes?size=${40 * 1024 * 1024}&chunk=65536&delay=5`, { maxBytes: 100_000 })), ms: Math.round(performance.now() - started) };
  const noRedirects = summary(await get(`${here}/redirect?to=${encodeURIComponent(`${here}/bytes?size=10`)}`, { maxRedirects: 0 }));
  const report = { xsrf, gzipBack, maxBytes, noRedirects };
  r.end(xsrf.patternOk === true && gzipBack.patternOk === true && maxBytes.reason === 'too-large' && noRedirects.code === 'http', JSON.stringify({ maxBytesMs: maxBytes.ms }));
  return report;
}

async function cadenceScenario(args: { id: string; ms: number; idle: number; direction?: 'download' | 'upload' }): Promise<CadenceReport> {
  const direction = args.direction ?? 'download';
  const r = row(`${direction} progress as the body moves`);
  const options = { progressInterval: 0, timeout: { idle: args.idle } };
  const transfer =
    direction === 'download'
      ? download(`${location.origin}/drip?id=${encodeURIComponent(args.id)}`, options)
      : upload(`${location.origin}/upload?id=${encodeURIComponent(args.id)}&delay=20`, new Blob([new Uint8Array(64 * 1024 * 1024)]), options);
  const times: number[] = [];
  let error: string | undefined;
  const subscription = (transfer as Transfer<unknown>).subscribe({
    next: (e) => {
      if (e.type === 'progress' && e.direction === direction && e.loaded > 0) times.push(performance.now());
    },
    error: (e: unknown) => (error = String((e as Error)?.message ?? e)),
  });
  await new Promise((resolve) => setTimeout(resolve, args.ms));
  subscription.unsubscribe();
  const longestGap = Math.round(times.slice(1).reduce((most, t, i) => Math.max(most, t - times[i]!), 0));
  const report: CadenceReport = { events: times.length, longestGap, ...(error !== undefined ? { error } : {}) };
  r.end(error === undefined, `${times.length} events in ${args.ms} ms, longest gap ${longestGap} ms`);
  return report;
}

async function interceptorScenario(args: { retry: number; unwraps?: boolean }): Promise<InterceptorReport> {
  const r = row(args.unwraps ? 'an axios interceptor that unwraps the response' : 'a throwing axios interceptor');
  const instance = axios.create();
  const report: InterceptorReport = { calls: 0 };
  if (args.unwraps) {
    // What many apps' instances do: (response) => response.data.
    instance.interceptors.response.use((response) => {
      report.calls++;
      return response.data as never;
    });
  } else {
    instance.interceptors.request.use(() => {
      report.calls++;
      throw new Error('token refresh failed at https://user:s3cret@auth.example/token');
    });
  }
  const trace = await within(recordTransfer(download(`${location.origin}/bytes?size=10`, { axios: instance, retry: args.retry })).ended, 10_000, 'interceptor');
  const end = trace.at(-1);
  if (end?.kind === 'error') {
    const error = end.error as { name?: string; code?: string; message?: string };
    Object.assign(report, { name: error.name, code: error.code, message: error.message });
  }
  r.end(report.code === 'invalid', `${report.code}: ${report.message}`);
  return report;
}

async function bodyWithGetScenario(): Promise<BodyWithGetReport> {
  const r = row('a body with GET and HEAD');
  const report: BodyWithGetReport = { ends: [] };
  for (const method of ['GET', 'HEAD']) {
    const trace = await within(recordTransfer(upload(`${location.origin}/bytes?size=10`, 'abcdef', { method })).ended, 10_000, method);
    const end = trace.at(-1);
    if (end?.kind === 'error') {
      const error = end.error as { code?: string; message?: string };
      report.ends.push({ method, ...(error.code !== undefined ? { code: error.code } : {}), ...(error.message !== undefined ? { message: error.message } : {}) });
    } else {
      const done = trace.find((n) => n.kind === 'next' && (n.value as TransferEvent<{ sent: number }>).type === 'done');
      report.ends.push({ method, sent: ((done as { value: { result: { sent: number } } } | undefined)?.value.result.sent) ?? -1 });
    }
  }
  r.end(report.ends.every((e) => e.code === 'invalid'), JSON.stringify(report.ends));
  return report;
}

async function credentialsInUrlScenario(): Promise<CredentialsInUrlReport> {
  const r = row('a URL with user:password@');
  const url = new URL(`${location.origin}/bytes?size=10`);
  url.username = 'user';
  url.password = 's3cret';
  const bare = new XMLHttpRequest();
  bare.open('GET', url.href);
  await within(new Promise((resolve) => ((bare.onloadend = resolve), bare.send())), 10_000, 'bare XHR');
  const viaXhr = await within(recordTransfer(fromXhr(() => {
    const xhr = new XMLHttpRequest();
    xhr.open('GET', url.href);
    return xhr;
  })).ended, 10_000, 'fromXhr');
  const viaDownload = await within(recordTransfer(download(url.href)).ended, 10_000, 'download');
  const report: CredentialsInUrlReport = { responseURL: bare.responseURL, fromXhrUrl: doneOf(viaXhr)?.url, downloadUrl: doneOf(viaDownload)?.url };
  r.end(![report.fromXhrUrl, report.downloadUrl].some((u) => u === undefined || u.includes('s3cret')), JSON.stringify(report));
  return report;
}

async function networkErrorsScenario(args: { urls: Record<string, string> }): Promise<NetworkErrorsReport> {
  const r = row('requests the browser fails without a reason');
  const endOf = (trace: Notification<unknown>[]) => {
    const end = trace.at(-1);
    if (end?.kind !== 'error') return undefined;
    const error = end.error as { name?: string; code?: string; message?: string };
    return { name: error.name, code: error.code, message: error.message };
  };
  const report: NetworkErrorsReport = { pageOrigin: location.origin, ends: {} };
  for (const [name, url] of Object.entries(args.urls)) {
    const viaDownload = await within(recordTransfer(download(url)).ended, 10_000, `download ${name}`);
    const viaXhr = await within(recordTransfer(fromXhr(() => {
      const xhr = new XMLHttpRequest();
      xhr.open('GET', url);
      return xhr;
    })).ended, 10_000, `fromXhr ${name}`);
    report.ends[name] = { download: endOf(viaDownload), fromXhr: endOf(viaXhr) };
  }
  r.end(Object.values(report.ends).every((e) => e.download?.code === 'network' && e.fromXhr?.code === 'network'), JSON.stringify(Object.keys(report.ends)));
  return report;
}

async function unreadableFilesScenario(args: { url: string }): Promise<UnreadableFilesReport> {
  const r = row('a picked file deleted before it is sent');
  const files = [...((document.getElementById('pick') as HTMLInputElement | null)?.files ?? [])];
  const report: UnreadableFilesReport = { ends: [] };
  const send = XMLHttpRequest.prototype.send;
  let sends = 0;
  XMLHttpRequest.prototype.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    sends++;
    return send.call(this, body);
  };
  try {
    for (const file of files) {
      sends = 0;
      const trace = await within(recordTransfer(upload(args.url, file, { method: 'PUT', retry: { count: 2, baseDelay: 50 } })).ended, 10_000, file.name);
      const end = trace.at(-1);
      const error = (end?.kind === 'error' ? end.error : {}) as { name?: string; code?: string; message?: string };
      report.ends.push({ file: file.name, sends, kind: end?.kind, name: error.name, code: error.code, message: error.message });
    }
  } finally {
    XMLHttpRequest.prototype.send = send;
  }
  r.end(report.ends.every((e) => e.code === 'invalid'), JSON.stringify(report.ends.map((e) => e.code)));
  return report;
}

async function axiosDefaultsScenario(args: { size: number }): Promise<AxiosDefaultsReport> {
  const r = row('axios instances that add params to the URL');
  const url = `${location.origin}/bytes?size=${args.size}&chunk=4096&delay=10`;
  const run = async (instance: ReturnType<typeof axios.create>, options: Record<string, unknown> = {}, from = url): Promise<AxiosDefaultsEnd> => {
    const trace = await within(recordTransfer(download(from, { axios: instance, progressInterval: 0, ...options })).ended, 10_000, 'axios defaults');
    const progress = summarize(trace).filter((n) => n.type === 'progress' && n.direction === 'download');
    const last = progress.at(-1);
    const end = trace.at(-1);
    return {
      violations: grammarViolations(trace),
      withoutTotal: progress.filter((p) => p.total === undefined).length,
      ...(last ? { lastProgress: { loaded: last.loaded, total: last.total, percent: last.percent } } : {}),
      ...(doneOf(trace) ? { url: doneOf(trace)!.url } : {}),
      ...(end?.kind === 'error' ? { error: String((end.error as Error)?.message ?? end.error) } : {}),
    };
  };
  const withParams = axios.create({ params: { key: 'k' } });
  const withSerializer = axios.create({ params: { b: 2, a: 1 }, paramsSerializer: { serialize: (p: Record<string, unknown>) => Object.keys(p).sort().map((k) => `${k}=${String(p[k])}`).join('&') } });
  const withInterceptor = axios.create();
  withInterceptor.interceptors.request.use((config) => ({ ...config, params: { ...(config.params as object), token: 't' } }) as typeof config);
  const report: AxiosDefaultsReport = {
    params: await run(withParams),
    paramsNoRedirects: await run(withParams, { maxRedirects: 0 }),
    serializer: await run(withSerializer),
    interceptor: await run(withInterceptor),
    interceptorNoRedirects: await run(withInterceptor, { maxRedirects: 0 }),
    redirected: await run(withParams, { maxRedirects: 0 }, `${location.origin}/redirect?to=${encodeURIComponent(url)}`),
  };
  const { redirected, ...plain } = report;
  r.end(redirected.error !== undefined && Object.values(plain).every((e) => e.error === undefined && e.lastProgress?.percent === 100), JSON.stringify(report.params));
  return report;
}

async function opaqueOriginScenario(args: { origin: string; size: number }): Promise<OpaqueOriginReport> {
  const get = async (url: string): Promise<Summary> => summary(await within(recordTransfer(download(url, { responseType: 'arraybuffer' })).ended, 20_000, url));
  const url = `${args.origin}/bytes?size=${args.size}&cors=1`;
  return { origin: self.origin, locationOrigin: location.origin, gzip: await get(`${url}&gzip=1`), plain: await get(url) };
}

window.scenarios = {
  unreadableFiles: unreadableFilesScenario,
  networkErrors: networkErrorsScenario,
  opaqueOrigin: opaqueOriginScenario,
  axiosDefaults: axiosDefaultsScenario,
  credentialsInUrl: credentialsInUrlScenario,
  bodyWithGet: bodyWithGetScenario,
  interceptor: interceptorScenario,
  cadence: cadenceScenario,
  redirects: redirectsScenario,
  crossOriginGet: crossOriginGetScenario,
  download: downloadScenario,
  upload: uploadScenario,
  fake: fakeScenario,
  fromXhr: fromXhrScenario,
  unsubscribe: unsubscribeScenario,
  session: sessionScenario,
};
window.scenariosReady = true;
// In a frame (the sandboxed frames of the opaque-origin test): the page that holds it asks for
// the scenario by message and gets its report the same way, so nothing depends on evaluating in
// the frame from outside (Playwright's evaluation in a sandboxed frame timed out on a busy machine
// while the frame had fetched its bundle).
if (window.parent !== window) {
  window.addEventListener('message', (event) => {
    const data = event.data as { run?: unknown; args?: { origin: string; size: number } } | null;
    if (event.source !== window.parent || data?.run !== 'opaqueOrigin' || !data.args) return;
    opaqueOriginScenario(data.args).then(
      (report) => window.parent.postMessage({ report }, '*'),
      (error: unknown) => window.parent.postMessage({ error: String(error) }, '*'),
    );
  });
  window.parent.postMessage({ ready: true }, '*');
}
const status = document.getElementById('status');
if (status) status.textContent = `bundle loaded (${navigator.userAgent.match(/Chrom\S+/)?.[0] ?? 'browser'})`;
