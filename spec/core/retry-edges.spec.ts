import { execFileSync } from 'node:child_process';
import { buildSync } from 'esbuild';
import { download, upload, isHttpStatusError, isTransferError, type TransferEvent } from 'rxtransfer';
import { FakeTransport } from 'rxtransfer/testing';
import { advance, drive, ended, errorOf, progressOf, record, settle } from '../helpers/trace-driver.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';

/** Review of retry, timeouts and progress: each test names the rule or doc line it holds the code to. */
const URL_A = 'https://a.test/file';


describe('edges: timeouts', () => {
  it('G9 the idle limit does not fire while an error body is still flowing: the excerpt holds all of it', async () => {
    const timer = new VirtualTimer();
    const fake = new FakeTransport();
    const recorder = record(download(URL_A, { transport: fake, timer, timeout: { idle: 100 } }), undefined, timer);
    await drive(timer, () => fake.requests.length === 1, 'the request');
    const req = fake.requests[0]!;
    req.respond({ status: 404, headers: { 'content-type': 'text/plain' } });
    await settle();
    // A byte every 60 ms, well inside the idle limit; all of it within the 2 s excerpt wait.
    for (let i = 0; i < 10; i++) {
      await advance(timer, 60);
      req.chunk(String(i));
      await settle();
    }
    req.end();
    const error = errorOf(await ended(recorder, timer));
    expect(isHttpStatusError(error) && error.body).toBe('0123456789');
  });
});

describe('edges: retry', () => {
  it('G11 Retry-After in asctime form is GMT (RFC 9110 §5.6.7), whatever the local time zone', () => {
    // Date.parse reads a date without a zone in the local one: run where that is not UTC.
    const bundle = buildSync({ entryPoints: [`${__dirname}/../../lib/internal/core/retry.ts`], bundle: true, format: 'cjs', platform: 'node', write: false });
    const code = `${bundle.outputFiles[0]!.text}\nconst now = Date.UTC(2026, 0, 1, 12, 0, 0);\nprocess.stdout.write(JSON.stringify(['Thu Jan  1 12:00:02 2026', 'Thu, 01 Jan 2026 12:00:02 GMT'].map((v) => module.exports.parseRetryAfter(v, now))));`;
    for (const TZ of ['America/New_York', 'Asia/Tokyo']) {
      const out = execFileSync(process.execPath, ['-e', code], { env: { ...process.env, TZ }, timeout: 20_000 }).toString();
      expect([TZ, JSON.parse(out)]).toEqual([TZ, [2000, 2000]]);
    }
  });
});

describe('edges: retry policy validation', () => {
  it('G8/G11 retry.unsafeMethods that is not a boolean is invalid, not a truthy "false" that retries a POST', async () => {
    const timer = new VirtualTimer();
    const fake = new FakeTransport();
    const policy = { count: 1, baseDelay: 1, unsafeMethods: 'false' as unknown as boolean };
    const recorder = record(upload(URL_A, 'data', { transport: fake, timer, retry: policy }), undefined, timer);
    await drive(timer, () => fake.requests.length === 1 || recorder.ended(), 'the request or the error');
    if (!recorder.ended()) {
      fake.requests[0]!.fail();
      await drive(timer, () => fake.requests.length === 2 || recorder.ended(), 'a retry or the end');
    }
    expect(fake.requests.length).toBe(0);
    const error = errorOf(recorder.trace);
    expect(isTransferError(error) && error.code).toBe('invalid');
    expect((error as Error).message).toMatch(/retry.unsafeMethods must be true or false/);
  });
});

describe('edges: retry after a redirect', () => {
  it('G11 the GET a 303 leads to is retried even when the upload before it was a one-shot stream (it is not sent again)', async () => {
    async function* once() {
      yield new Uint8Array([1, 2, 3]);
    }
    const timer = new VirtualTimer();
    const fake = new FakeTransport();
    const recorder = record(upload(URL_A, once(), { transport: fake, timer, method: 'PUT', retry: { count: 2, baseDelay: 10 }, responseType: 'text' }), undefined, timer);
    await drive(timer, () => fake.requests.length === 1, 'the upload');
    fake.requests[0]!.respond({ status: 303, headers: { location: '/result' } });
    await drive(timer, () => fake.requests.length === 2, 'the GET of the 303');
    expect(fake.requests[1]!.method).toBe('GET');
    fake.requests[1]!.respond({ status: 503 }).end();
    await drive(timer, () => fake.requests.length === 3 || recorder.ended(), 'the retry of the GET');
    expect(errorOf(recorder.trace)).toBeUndefined();
    expect(fake.requests[2]!.method).toBe('GET');
    expect(fake.requests[2]!.request.body).toBeUndefined();
    fake.requests[2]!.flush('stored');
    const trace = await ended(recorder, timer);
    expect(trace.at(-1)!.kind).toBe('complete');
  });
});

describe('edges: progress', () => {
  /**
   * A content-coded body (`decoded`: Content-Length counts the wire bytes, 1020, not the 1000 the
   * body has) from a transport that reports progress before handing the body over, counting the
   * body's bytes as it delivers them (decoded), as XHR's progress events do.
   */
  async function codedBody(options: { maxBytes?: number }) {
    const timer = new VirtualTimer();
    const fake = new FakeTransport();
    const recorder = record(download(URL_A, { transport: fake, timer, progressInterval: 0, ...options }), undefined, timer);
    await drive(timer, () => fake.requests.length === 1, 'the request');
    const req = fake.requests[0]!;
    req.respond({ headers: { 'content-encoding': 'gzip', 'content-length': '1020' }, decoded: true });
    await settle();
    req.downloadProgress(600);
    req.downloadProgress(1000);
    req.chunk(new Uint8Array(1000)).end();
    return ended(recorder, timer);
  }

  it('G4/G5 a decoded body ends with its decoded size as total at 100%, whatever Content-Length said', async () => {
    const trace = await codedBody({});
    const done = trace[trace.length - 2] as { value: TransferEvent<{ size: number }> };
    expect(done.value.type === 'done' && done.value.result.size).toBe(1000);
    const events = progressOf(trace);
    expect(events.map((e) => e.total)).not.toContain(1020);
    expect([events.at(-1)!.loaded, events.at(-1)!.total, events.at(-1)!.percent]).toEqual([1000, 1000, 100]);
  });

  it('G4 under Content-Encoding, maxBytes counts the decoded body: 1000 bytes pass maxBytes 1010 (the wire said 1020)', async () => {
    const trace = await codedBody({ maxBytes: 1010 });
    expect(errorOf(trace)).toBeUndefined();
    expect(trace.at(-1)!.kind).toBe('complete');
  });
});
