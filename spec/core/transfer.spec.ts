import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { runInNewContext } from 'node:vm';
import { config, type Observable } from 'rxjs';
import { download, upload, isTimeoutError, isHttpStatusError, isIntegrityError, isTransferError, NetworkError, type TransferEvent } from 'rxtransfer';
import { FakeTransport, type Notification } from 'rxtransfer/testing';
import type { Transport, TransportRequest, TransportResponse } from '../../lib/internal/core/transport.js';
import { advance, drive, ended, errorOf, progressOf, record, settle } from '../helpers/trace-driver.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';
import { createTransfer } from '../../lib/internal/core/transfer.js';
import { webHasher } from '../../lib/internal/browser/web-hasher.js';

/** The stream checklist (never, empty, one, many, error, never-ending, early unsubscribe, a throwing callback) on the orchestrator, with a fake transport and a virtual clock. */
const URL_A = 'https://a.test/file';

function setup() {
  const timer = new VirtualTimer();
  const fake = new FakeTransport();
  return { timer, fake };
}



function resultOf<R>(trace: readonly Notification<R>[]): R {
  const done = trace[trace.length - 2];
  if (done?.kind !== 'next' || done.value.type !== 'done') throw new Error('no done');
  return done.value.result;
}

describe('transfer: the stream checklist', () => {
  it('never: a server that never answers ends in a connect timeout (defaults), not a hang', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer }), undefined);
    const trace = await ended(recorder, timer);
    const error = errorOf(trace);
    expect(isTimeoutError(error) && error.phase).toBe('connect');
    expect(fake.requests[0]!.aborted).toBe(true);
  });

  it('empty: an empty body is done at 0/0, 100%', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer, responseType: 'text' }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    fake.requests[0]!.flush('');
    const trace = await ended(recorder, timer);
    expect(resultOf(trace)).toMatchObject({ data: '', size: 0, status: 200 });
    expect(progressOf(trace).pop()).toMatchObject({ loaded: 0, total: 0, percent: 100 });
  });

  it('one: a single chunk', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer, responseType: 'text' }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    fake.requests[0]!.flush('hello');
    expect(resultOf(await ended(recorder, timer))).toMatchObject({ data: 'hello', size: 5, url: URL_A });
  });

  it('many: many chunks, progress per chunk with progressInterval 0', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer, responseType: 'text', progressInterval: 0 }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    const req = fake.requests[0]!.respond({ headers: { 'content-length': '10' } });
    for (const c of ['ab', 'cde', 'f', 'ghij']) {
      req.chunk(c);
      await settle();
    }
    req.end();
    const trace = await ended(recorder, timer);
    expect(progressOf(trace).map((e) => [e.loaded, e.percent])).toEqual([[0, 0], [2, 20], [5, 50], [6, 60], [10, 100]]);
    expect(resultOf(trace)).toMatchObject({ data: 'abcdefghij' });
  });

  it('error: a 500 ends in HttpStatusError with status, headers and a bounded excerpt', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    fake.requests[0]!.respond({ status: 500, headers: { 'x-why': 'db' } }).chunk('x'.repeat(5000)).end();
    const error = errorOf(await ended(recorder, timer));
    expect(isHttpStatusError(error) && [error.status, error.headers['x-why'], error.body.length]).toEqual([500, 'db', 1024]);
    expect((error as Error).message).toMatch(/HTTP 500.*GET https:\/\/a.test\/file/);
  });

  it('error: an error body that does not end is waited for 2 s at most; the HttpStatusError goes without it, and the request is aborted', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer, timeout: { idle: 60_000 }, retry: 0 }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    fake.requests[0]!.respond({ status: 503 }).chunk('partial');
    await settle(); // the head is read, the excerpt begins
    const answered = timer.now();
    await advance(timer, 1_999);
    expect(recorder.ended()).toBe(false);
    const error = errorOf(await ended(recorder, timer));
    expect(timer.now() - answered).toBe(2_000); // not at the idle timeout
    expect(isHttpStatusError(error) && error.status).toBe(503);
    expect(fake.requests[0]!.aborted).toBe(true);
  });

  it('never-ending: a body that never ends stops at the total timeout, as phase total', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer, timeout: { total: 1000, idle: 300 } }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    const req = fake.requests[0]!.respond();
    for (let i = 0; i < 20 && !recorder.ended(); i++) {
      req.chunk('x');
      await advance(timer, 100);
    }
    const error = errorOf(await ended(recorder, timer));
    expect(isTimeoutError(error) && [error.phase, error.ms]).toEqual(['total', 1000]);
    expect(req.aborted).toBe(true);
  });

  it('never-ending: unsubscribing aborts the request and delivers nothing more (G6)', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer, progressInterval: 0 }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    const req = fake.requests[0]!.respond().chunk('abc');
    await settle();
    recorder.unsubscribe();
    req.chunk('more').end();
    await advance(timer, 1e6);
    expect(req.aborted).toBe(true);
    expect(recorder.trace).toHaveLength(recorder.unsubscribedAt!);
    expect(timer.pending).toBe(0);
  });

  it('early unsubscribe: unsubscribing at once makes no request at all', async () => {
    const { timer, fake } = setup();
    const recorder = record(download(URL_A, { transport: fake, timer }), undefined);
    recorder.unsubscribe();
    await advance(timer, 1e6);
    expect(fake.requests).toHaveLength(0);
    expect(recorder.trace).toHaveLength(0);
    expect(timer.pending).toBe(0);
  });

  it('a throwing retry.shouldRetry becomes the transfer error, code invalid', async () => {
    const { timer, fake } = setup();
    const shouldRetry = () => {
      throw new Error('policy bug');
    };
    const recorder = record(download(URL_A, { transport: fake, timer, retry: { count: 3, shouldRetry } }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    fake.requests[0]!.fail();
    const error = errorOf(await ended(recorder, timer));
    expect(isTransferError(error) && error.code).toBe('invalid');
    expect((error as Error).message).toMatch(/retry.shouldRetry threw: policy bug/);
    expect(fake.requests).toHaveLength(1);
  });

  it('an async retry.shouldRetry (its promise is truthy) is the transfer error, code invalid, not a retry every time', async () => {
    const { timer, fake } = setup();
    const shouldRetry = (async () => false) as unknown as () => boolean;
    const recorder = record(download(URL_A, { transport: fake, timer, retry: { count: 3, shouldRetry, baseDelay: 1 } }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    fake.requests[0]!.fail();
    const error = errorOf(await ended(recorder, timer));
    expect(isTransferError(error) && error.code).toBe('invalid');
    expect((error as Error).message).toMatch(/retry.shouldRetry returned a promise/);
    expect(fake.requests).toHaveLength(1);
  });

  it('shouldRetry is asked with the error and the attempt, and can refuse', async () => {
    const { timer, fake } = setup();
    const calls: Array<[string, number]> = [];
    const shouldRetry = (e: { code: string }, attempt: number) => (calls.push([e.code, attempt]), attempt < 2);
    const recorder = record(download(URL_A, { transport: fake, timer, retry: { count: 5, shouldRetry, baseDelay: 1 } }), undefined);
    for (let i = 0; i < 2; i++) {
      await drive(timer, () => fake.requests.length > i, 'request');
      fake.requests[i]!.fail();
    }
    expect(isTransferError(errorOf(await ended(recorder, timer)))).toBe(true);
    expect(calls).toEqual([['network', 1], ['network', 2]]);
  });

  it('a subscriber whose next throws: reported to RxJS, the transfer still ends once', async () => {
    const reported: unknown[] = [];
    const previous = config.onUnhandledError;
    config.onUnhandledError = (e) => reported.push(e);
    try {
      const { timer, fake } = setup();
      const kinds: string[] = [];
      download(URL_A, { transport: fake, timer }).subscribe({
        next: (e) => {
          kinds.push(e.type);
          throw new Error('ui bug');
        },
        error: () => kinds.push('error'),
        complete: () => kinds.push('complete'),
      });
      await drive(timer, () => fake.requests.length === 1, 'request');
      fake.requests[0]!.flush('abc');
      await drive(timer, () => kinds.includes('complete') || kinds.includes('error'), 'the end');
      await new Promise((r) => setTimeout(r, 5));
      expect(kinds.filter((k) => k === 'complete' || k === 'error')).toEqual(['complete']);
      expect(reported.length).toBe(kinds.length - 1);
    } finally {
      config.onUnhandledError = previous;
    }
  });
});

describe('transfer: cancellation, transports and limits', () => {
  it('an already aborted signal ends in CancelledError without any request', async () => {
    const { timer, fake } = setup();
    const c = new AbortController();
    c.abort();
    const trace = await ended(record(download(URL_A, { transport: fake, timer, signal: c.signal }), undefined), timer);
    expect(isTransferError(errorOf(trace)) && (errorOf(trace) as { code: string }).code).toBe('cancelled');
    expect(fake.requests).toHaveLength(0);
  });

  it('aborting the signal during the backoff ends in CancelledError at once', async () => {
    const { timer, fake } = setup();
    const c = new AbortController();
    const recorder = record(download(URL_A, { transport: fake, timer, signal: c.signal, retry: { count: 3, baseDelay: 10_000, jitter: 0 } }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    fake.requests[0]!.fail();
    await settle();
    expect(timer.pending).toBeGreaterThan(0);
    c.abort();
    await settle();
    expect(recorder.ended()).toBe(true);
    expect((errorOf(recorder.trace) as { code: string }).code).toBe('cancelled');
    expect(fake.requests).toHaveLength(1);
    expect(timer.pending).toBe(0);
  });

  describe('a transport that hands the body over only whole (the browser\'s XHR)', () => {
    it('G8 maxBytes stops it as soon as its progress passes the limit, before the body is handed over', async () => {
      const { timer, fake } = setup();
      const recorder = record(download(URL_A, { transport: fake, timer, maxBytes: 1000, progressInterval: 0 }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      const req = fake.requests[0]!.respond({ headers: {} }).downloadProgress(600);
      await settle();
      req.downloadProgress(1200);
      const trace = await ended(recorder, timer);
      expect(isIntegrityError(errorOf(trace)) && (errorOf(trace) as { reason: string }).reason).toBe('too-large');
      expect(req.aborted).toBe(true);
      expect(progressOf(trace).every((p) => p.loaded <= 1000)).toBe(true);
    });

    it('a body cut short says how much the transport received, not what it handed over', async () => {
      const { timer, fake } = setup();
      const recorder = record(download(URL_A, { transport: fake, timer }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      const req = fake.requests[0]!.respond({ headers: { 'content-length': '1000' } });
      await settle();
      req.downloadProgress(300).fail();
      const trace = await ended(recorder, timer);
      expect((errorOf(trace) as Error).message).toMatch(/^body ended after 300 of 1000 bytes/);
    });

    it('G8 integrity on a page without WebCrypto (not a secure context) is `invalid`, said before any request', async () => {
      const { timer, fake } = setup();
      const crypto = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
      Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
      try {
        const platform = { name: 'a browser page on http', transport: () => fake, createHasher: webHasher };
        const integrity = 'sha256-' + createHash('sha256').update('abc').digest('base64');
        const trace = await ended(record(createTransfer(platform, 'download', URL_A, undefined, { timer, integrity, retry: 3 }), undefined), timer);
        expect(errorOf(trace)).toMatchObject({ code: 'invalid', message: expect.stringContaining('integrity needs WebCrypto') });
        // Said with the URL, as every error of a transfer is.
        expect((errorOf(trace) as Error).message).toMatch(/\(GET https:\/\/a\.test\/[^)]*\)$/);
        expect(fake.requests).toHaveLength(0);
      } finally {
        if (crypto) Object.defineProperty(globalThis, 'crypto', crypto);
      }
      expect(typeof globalThis.crypto.subtle.digest).toBe('function');
    });

    it.each([
      ['maxRedirects: 0, to another path', 'https://a.test/file', 'https://a.test/elsewhere', { maxRedirects: 0 }, /too many redirects \(more than 0/],
      ['https to http', 'https://a.test/file', 'http://b.test/file', {}, /refused redirect from https to http/],
    ])('G11 the URL its own redirects ended at is refused: %s', async (_what, url, final, options, message) => {
      const timer = new VirtualTimer();
      const fake = new FakeTransport({ followsRedirects: true });
      const recorder = record(download(url, { transport: fake, timer, retry: 3, ...options }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      const req = fake.requests[0]!.respond({ url: final, headers: { 'content-length': '3' } }).chunk('abc').end();
      const trace = await ended(recorder, timer);
      expect(isHttpStatusError(errorOf(trace)) && (errorOf(trace) as Error).message).toMatch(message);
      expect(req.aborted).toBe(true);
      expect(fake.requests).toHaveLength(1);
    });

    it.each([
      ['the same URL without its fragment, maxRedirects: 0', 'https://a.test/file#part', 'https://a.test/file', { maxRedirects: 0 }],
      ['http to https', 'http://a.test/file', 'https://b.test/file', {}],
      ['https to https elsewhere', 'https://a.test/file', 'https://b.test/file', {}],
    ])('G11 and is accepted otherwise: %s', async (_what, url, final, options) => {
      const timer = new VirtualTimer();
      const fake = new FakeTransport({ followsRedirects: true });
      const recorder = record(download(url, { transport: fake, timer, ...options }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      fake.requests[0]!.respond({ url: final, headers: { 'content-length': '3' } }).chunk('abc').end();
      const trace = await ended(recorder, timer);
      expect(resultOf(trace)).toMatchObject({ url: final, size: 3 });
    });
  });

  /** A transport that never answers and ignores its abort signal (a stuck axios interceptor does this). */
  class DeafTransport implements Transport {
    readonly name = 'deaf';
    readonly followsRedirects = false;
    readonly streamsBodies = false;
    requests: TransportRequest[] = [];
    send(request: TransportRequest): Promise<TransportResponse> {
      this.requests.push(request);
      return new Promise<TransportResponse>(() => undefined);
    }
  }

  it('G9 a transport that ignores the abort still cannot hold the idle timeout up', async () => {
    const timer = new VirtualTimer();
    const transport = new DeafTransport();
    const trace = await ended(record(download(URL_A, { transport, timer, timeout: { idle: 500 } }), undefined), timer);
    const error = errorOf(trace);
    expect(isTimeoutError(error) && error.phase).toBe('idle');
  });

  it('G6 a transport that ignores the abort still cannot hold a signal cancel up', async () => {
    const timer = new VirtualTimer();
    const transport = new DeafTransport();
    const c = new AbortController();
    const recorder = record(download(URL_A, { transport, timer, signal: c.signal }), undefined);
    await drive(timer, () => transport.requests.length === 1, 'request');
    c.abort();
    const trace = await ended(recorder, timer);
    expect((errorOf(trace) as { code: string }).code).toBe('cancelled');
  });

  it('a transport whose send throws synchronously gives a network TransferError', async () => {
    const timer = new VirtualTimer();
    const transport: Transport = { name: 'throws', followsRedirects: false, streamsBodies: false, send: () => { throw new Error('sync boom'); } };
    const error = errorOf(await ended(record(download(URL_A, { transport, timer }), undefined), timer));
    expect(isTransferError(error) && [error.code, /sync boom/.test(error.message)]).toEqual(['network', true]);
  });

  it('maxBytes: a declared length over the limit, and a streamed body over it, are too-large', async () => {
    for (const declared of [true, false]) {
      const { timer, fake } = setup();
      const recorder = record(download(URL_A, { transport: fake, timer, maxBytes: 4 }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      fake.requests[0]!.respond({ headers: declared ? { 'content-length': '10' } : {} }).chunk('0123456789').end();
      const error = errorOf(await ended(recorder, timer));
      expect(isIntegrityError(error) && error.reason).toBe('too-large');
    }
  });

  it('integrity: a matching digest is done with it, a wrong one is an IntegrityError (G5)', async () => {
    const body = 'trust me';
    const good = `sha256-${createHash('sha256').update(body).digest('base64')}`;
    const bad = `sha256-${createHash('sha256').update('other').digest('base64')}`;
    for (const integrity of [good, bad]) {
      const { timer, fake } = setup();
      const recorder = record(download(URL_A, { transport: fake, timer, integrity }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      fake.requests[0]!.flush(body);
      const trace = await ended(recorder, timer);
      if (integrity === good) expect(resultOf(trace)).toMatchObject({ integrity: good });
      else expect(isIntegrityError(errorOf(trace)) && (errorOf(trace) as { reason: string }).reason).toBe('digest');
    }
  });

  it('honours Retry-After before the next attempt (G11)', async () => {
    const { timer, fake } = setup();
    const starts: number[] = [];
    const f = new FakeTransport({ onRequest: () => starts.push(timer.now()) });
    void fake;
    const recorder = record(download(URL_A, { transport: f, timer, retry: { count: 1, baseDelay: 10, jitter: 0 } }), undefined);
    await drive(timer, () => f.requests.length === 1, 'request');
    f.requests[0]!.respond({ status: 503, headers: { 'retry-after': '2' } }).end();
    await drive(timer, () => f.requests.length === 2, 'the retry');
    f.requests[1]!.flush('ok');
    await ended(recorder, timer);
    expect(starts).toEqual([0, 2000]);
  });

  it('does not retry a POST unless unsafeMethods, and then does', async () => {
    for (const unsafeMethods of [false, true]) {
      const { timer, fake } = setup();
      const recorder = record(upload(URL_A, 'body', { transport: fake, timer, retry: { count: 1, unsafeMethods, baseDelay: 1 } }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      fake.requests[0]!.fail();
      if (unsafeMethods) {
        await drive(timer, () => fake.requests.length === 2, 'the retry');
        fake.requests[1]!.flush('ok');
      }
      const trace = await ended(recorder, timer);
      expect(fake.requests).toHaveLength(unsafeMethods ? 2 : 1);
      expect(trace[trace.length - 1]!.kind).toBe(unsafeMethods ? 'complete' : 'error');
    }
  });

  it('G11 retries a POST refused before connecting, not one whose connection was up, whatever the errno', async () => {
    // An established connection that times out after ICMP errors reports EHOSTUNREACH (or
    // ENETUNREACH, ECONNREFUSED) once the request went out: no proof the server never saw it.
    for (const connected of [false, true]) {
      const { timer, fake } = setup();
      const recorder = record(upload(URL_A, 'body', { transport: fake, timer, retry: { count: 1, baseDelay: 1 } }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      if (connected) fake.requests[0]!.connect().uploadProgress(4);
      fake.requests[0]!.fail(new NetworkError('connection failed', 'EHOSTUNREACH', { url: URL_A, method: 'POST' }));
      if (!connected) {
        await drive(timer, () => fake.requests.length === 2, 'the retry');
        fake.requests[1]!.flush('ok');
      }
      const trace = await ended(recorder, timer);
      expect(fake.requests).toHaveLength(connected ? 1 : 2);
      expect(trace[trace.length - 1]!.kind).toBe(connected ? 'error' : 'complete');
    }
  });

  it('does not retry a one-shot stream body once sent, nor follow a 307 with it', async () => {
    async function* once() {
      yield new Uint8Array([1, 2, 3]);
    }
    for (const answer of ['fail', '307'] as const) {
      const { timer, fake } = setup();
      const recorder = record(upload(URL_A, once(), { transport: fake, timer, method: 'PUT', retry: 3 }), undefined);
      await drive(timer, () => fake.requests.length === 1, 'request');
      if (answer === 'fail') fake.requests[0]!.fail();
      else fake.requests[0]!.respond({ status: 307, headers: { location: '/again' } });
      const error = errorOf(await ended(recorder, timer));
      expect(isTransferError(error)).toBe(true);
      expect(fake.requests).toHaveLength(1);
    }
  });

  it('never puts URL credentials into errors or results', async () => {
    const { timer, fake } = setup();
    const recorder = record(download('https://user:secret@a.test/x', { transport: fake, timer }), undefined);
    await drive(timer, () => fake.requests.length === 1, 'request');
    fake.requests[0]!.respond({ status: 404 }).end();
    const error = errorOf(await ended(recorder, timer)) as Error;
    expect(error.message).not.toMatch(/secret/);
    expect(JSON.stringify(error)).not.toMatch(/secret/);
  });

  it('never puts credentials into the message of a custom transport\'s failure that quotes the URL', async () => {
    const timer = new VirtualTimer();
    // What Node's fetch rejects with for such a URL, and a message quoting a presigned URL.
    for (const quoted of ['Request cannot be constructed from a URL that includes credentials: https://user:secret@a.test/x', 'failed to fetch https://a.test/x?X-Amz-Signature=secret&part=1']) {
      const transport: Transport = { name: 'fetch-like', followsRedirects: false, streamsBodies: false, send: () => Promise.reject(new TypeError(quoted)) };
      const error = errorOf(await ended(record(download('https://user:secret@a.test/x?X-Amz-Signature=secret', { transport, timer }), undefined), timer)) as Error;
      expect(isTransferError(error) && error.code).toBe('network');
      expect(error.message).toMatch(/a\.test\/x/);
      expect(error.message).not.toMatch(/secret/);
      // Nor into its cause, which a logger prints with it (util.inspect, console.error): kept, redacted.
      expect(inspect(error, { depth: 5 })).not.toMatch(/secret/);
      expect(error.cause).toMatchObject({ name: 'TypeError', message: expect.stringMatching(/a\.test\/x/) });
    }
  });

  it("redacts a cause made in another realm (an iframe's, a vm's: not instanceof this realm's Error) as one made here", async () => {
    const timer = new VirtualTimer();
    // As Node's own fetch rejects under a test runner's vm context, or an iframe's fetch in a page.
    const thrown = runInNewContext('new TypeError("Request cannot be constructed from a URL that includes credentials: https://user:secret@a.test/x")') as Error;
    expect(thrown instanceof Error).toBe(false);
    const transport: Transport = { name: 'fetch-like', followsRedirects: false, streamsBodies: false, send: () => Promise.reject(thrown) };
    const error = errorOf(await ended(record(download('https://user:secret@a.test/x', { transport, timer }), undefined), timer)) as Error;
    expect(error.message).not.toMatch(/secret/);
    expect(inspect(error, { depth: 5 })).not.toMatch(/secret/);
    expect(error.cause).toMatchObject({ name: 'TypeError', message: expect.stringMatching(/a\.test\/x/) });
  });

  it('a cause whose stack is not text (null, set by its library) still ends the transfer with its TransferError, redacted', async () => {
    const timer = new VirtualTimer();
    const thrown = Object.assign(new Error('failed: https://user:secret@a.test/x'), { stack: null });
    const transport: Transport = { name: 'custom', followsRedirects: false, streamsBodies: false, send: () => Promise.reject(thrown) };
    const error = errorOf(await ended(record(download('https://a.test/x', { transport, timer }), undefined), timer)) as Error;
    expect(isTransferError(error) && error.code).toBe('network');
    expect(error.message).toMatch(/^transfer failed: failed: https:\/\/a\.test\/x /);
    expect(inspect(error, { depth: 5 })).not.toMatch(/secret/);
  });

  it('redacts credentials in the causes of the cause too (a "fetch failed" holding the socket\'s error), keeping the chain', async () => {
    const timer = new VirtualTimer();
    const socket = Object.assign(new Error('connect ECONNREFUSED for https://user:secret@a.test/x'), { code: 'ECONNREFUSED' });
    const thrown = new TypeError('fetch failed', { cause: socket });
    const transport: Transport = { name: 'fetch-like', followsRedirects: false, streamsBodies: false, send: () => Promise.reject(thrown) };
    const error = errorOf(await ended(record(download('https://a.test/x', { transport, timer }), undefined), timer)) as Error;
    expect(inspect(error, { depth: 8 })).not.toMatch(/secret/);
    expect(error.cause).toMatchObject({ name: 'TypeError', message: 'fetch failed', cause: { message: expect.stringMatching(/^connect ECONNREFUSED for https:\/\/a\.test\/x/), code: 'ECONNREFUSED' } });
  });

  it('keeps a cause without credentials as it is (the same object)', async () => {
    const timer = new VirtualTimer();
    const thrown = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const transport: Transport = { name: 'custom', followsRedirects: false, streamsBodies: false, send: () => Promise.reject(thrown) };
    const error = errorOf(await ended(record(download('https://a.test/x', { transport, timer }), undefined), timer)) as Error;
    expect(error.cause).toBe(thrown);
  });

  it('G1 two subscriptions are two requests, and nothing happens before subscribe', async () => {
    const { timer, fake } = setup();
    const t: Observable<TransferEvent<unknown>> = download(URL_A, { transport: fake, timer });
    await advance(timer, 1e6);
    expect(fake.requests).toHaveLength(0);
    const a = record(t, undefined);
    const b = record(t, undefined);
    await drive(timer, () => fake.requests.length === 2, 'two requests');
    fake.requests.forEach((r) => r.flush('x'));
    await ended(a, timer);
    await ended(b, timer);
  });
});

describe('resultOf', () => {
  it('resolves with the result, and rejects (never hangs) when what it is given completes without a done', async () => {
    const { resultOf: result } = await import('rxtransfer');
    const { EMPTY, of, take, filter } = await import('rxjs');
    const done = { type: 'done' as const, result: 'r' };
    await expect(result(of(done))).resolves.toBe('r');
    await expect(result(EMPTY)).rejects.toMatchObject({ code: 'network', message: expect.stringMatching(/without a result/) });
    const progress = { type: 'progress' as const, direction: 'download' as const, loaded: 0, delta: 0, attempt: 1 };
    await expect(result(of(progress, done).pipe(take(1)))).rejects.toMatchObject({ code: 'network' });
    await expect(result(of(progress, done).pipe(filter((e) => e.type === 'progress')))).rejects.toMatchObject({ code: 'network' });
  }, 5_000);
});
