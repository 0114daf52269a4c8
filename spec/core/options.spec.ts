import { asapScheduler, type Observable } from 'rxjs';
import { download, upload, isTransferError, type TransferEvent } from 'rxtransfer';
import { FakeTransport, assertTransferGrammar } from 'rxtransfer/testing';
import { normalizeOptions } from '../../lib/internal/core/options.js';
import { RecordingScheduler, VirtualTimer } from '../helpers/virtual-timer.js';
import { record, settle } from '../helpers/trace-driver.js';

const URL_OK = 'https://a.test/file';

/** Subscribes and waits for the one notification an invalid transfer delivers. */
async function invalid(transfer: Observable<TransferEvent<unknown>>): Promise<string> {
  const recorder = record(transfer, undefined);
  expect(recorder.trace).toHaveLength(0); // not inside subscribe (G7)
  for (let i = 0; i < 5 && !recorder.ended(); i++) await settle();
  assertTransferGrammar(recorder.trace);
  expect(recorder.problems).toEqual([]);
  const end = recorder.trace[0]!;
  if (end.kind !== 'error' || !isTransferError(end.error)) throw new Error(`expected an error, got ${JSON.stringify(recorder.trace)}`);
  expect(end.error.code).toBe('invalid');
  return end.error.message;
}

const badOptions: Array<[string, unknown, RegExp]> = [
  ['a negative total timeout', { timeout: -1 }, /timeout must be a positive number of ms, got -1/],
  ['a zero total timeout', { timeout: 0 }, /timeout must be a positive number of ms, got 0/],
  ['a NaN timeout', { timeout: Number.NaN }, /timeout must be a positive number/],
  ['a string timeout', { timeout: '10s' }, /timeout must be ms or \{ connect, idle, total \}/],
  ['a negative idle timeout', { timeout: { idle: -5 } }, /timeout.idle must be a positive number of ms, got -5/],
  ['a string connect timeout', { timeout: { connect: '1' } }, /timeout.connect must be a positive number/],
  ['a zero total in the object', { timeout: { total: 0 } }, /timeout.total must be a positive number/],
  ['a negative retry count', { retry: -1 }, /retry count must be a whole number >= 0, got -1/],
  ['a fractional retry count', { retry: 1.5 }, /retry count must be a whole number/],
  ['a retry jitter over 1', { retry: { count: 1, jitter: 2 } }, /retry.jitter must be between 0 and 1/],
  ['retry statuses that are not a list', { retry: { count: 1, statuses: 503 } }, /retry.statuses must be an array/],
  ['a retry.shouldRetry that is not a function', { retry: { count: 1, shouldRetry: true } }, /retry.shouldRetry must be a function/],
  ['a negative progressInterval', { progressInterval: -1 }, /progressInterval must be a number of ms >= 0, got -1/],
  ['a string progressInterval', { progressInterval: '100' }, /progressInterval must be a number of ms/],
  ['a fractional maxRedirects', { maxRedirects: 1.5 }, /maxRedirects must be a whole number >= 0, got 1.5/],
  ['a negative maxRedirects', { maxRedirects: -1 }, /maxRedirects must be a whole number/],
  ['a negative maxBytes', { maxBytes: -1 }, /maxBytes must be a number >= 0, got -1/],
  ['a signal that is not an AbortSignal', { signal: 'abort' }, /signal must be an AbortSignal/],
  ['a scheduler without schedule()', { scheduler: {} }, /scheduler must be an RxJS SchedulerLike/],
  ['a timer without schedule()', { timer: { now: () => 0 } }, /timer must be an RxJS SchedulerLike/],
  ['a timer without now()', { timer: { schedule: () => ({ unsubscribe() {} }) }, timeout: 1000 }, /timer must be an RxJS SchedulerLike \(now\(\) and schedule\(\)\)/],
  ['a signal-like object without addEventListener', { signal: { aborted: false } }, /signal must be an AbortSignal/],
  ['a signal-like object whose aborted is not a boolean', { signal: { aborted: 'no', addEventListener() {}, removeEventListener() {} } }, /signal must be an AbortSignal/],
  ['an unknown responseType', { responseType: 'document' }, /responseType must be one of arraybuffer, uint8array, text, json, blob, got document/],
  ['an empty `to`', { to: '' }, /to must be a non-empty file path/],
  ['a `to` with NUL', { to: 'a\0b' }, /to must be a non-empty file path/],
  ['resume without `to`', { resume: true }, /resume needs a file to continue: give `to`/],
  ['a malformed integrity', { integrity: 'md5-abc' }, /integrity "md5-abc" is not "sha256-<base64>"/],
  ['a non-string integrity', { integrity: 42 }, /integrity must be a string/],
  ['an axios without request()', { axios: {} }, /axios must be an axios instance/],
  ['a transport without send()', { transport: { name: 'x' } }, /transport must have a send\(request\) method/],
  ['a method with a space', { method: 'GE T' }, /method "GE T" is not an HTTP method/],
  ['an empty method', { method: '' }, /method "" is not an HTTP method/],
  ['a header name with a space', { headers: { 'Bad Name': 'x' } }, /header name "Bad Name" is not valid/],
  ['a header value with CRLF', { headers: { 'X-A': 'v\r\nInjected: 1' } }, /header "X-A" must be Latin-1 text without CR, LF, NUL or other control characters but tab \(the value is not shown\)/],
  ['a header value with a control character', { headers: { Authorization: 'Bearer s3cret\u0001x' } }, /^header "Authorization" must be Latin-1 text without CR, LF, NUL/],
  ['a header value past Latin-1 (axios dropped the character)', { headers: { Authorization: 'Bearer tok\u20acn' } }, /^header "Authorization" must be Latin-1 text/],
  ['a header value with DEL', { headers: { 'X-A': 'a\u007f' } }, /header "X-A" must be Latin-1 text/],
  ['a header value that is a number', { headers: { 'X-A': 1 } }, /header "X-A" must be a string/],
  ['a Content-Length header (the rest of a longer body would be read as the next request)', { headers: { 'content-length': '1' } }, /^header "content-length" is not yours to set: the transfer frames the body itself/],
  ['a Transfer-Encoding header', { headers: { 'Transfer-Encoding': 'chunked' } }, /^header "Transfer-Encoding" is not yours to set/],
  ['headers as a string', { headers: 'X-A: 1' }, /headers must be an object of name: value pairs/],
  ['headers as an array', { headers: [['X-A', '1']] }, /headers must be an object/],
  ['options that are not an object', 'fast', /options must be an object/],
];

describe('normalizeOptions (G8: one validation point, a message for every bad option)', () => {
  it.each(badOptions)('refuses %s', (_what, options, message) => {
    const n = normalizeOptions('download', URL_OK, options as never);
    expect(typeof n).toBe('string');
    expect(n).toMatch(message);
  });

  it.each([
    ['a number', 42, /url must be a string or URL, got number/],
    ['null', null, /url must be a string or URL, got null/],
    ['a relative path', '/files/a', /url is not a valid absolute URL/],
    ['garbage', 'http://[::1', /url is not a valid absolute URL/],
    ['ftp:', 'ftp://a.test/x', /unsupported scheme ftp: \(only http: and https:\)/],
    ['file:', 'file:///etc/passwd', /unsupported scheme file:/],
  ])('refuses a url that is %s', (_what, url, message) => {
    expect(normalizeOptions('download', url, {})).toMatch(message);
  });

  it('fills in the defaults', () => {
    const n = normalizeOptions('download', new URL(URL_OK), {});
    if (typeof n === 'string') throw new Error(n);
    expect(n).toMatchObject({ method: 'GET', timeouts: { connect: 30_000, idle: 60_000, total: Number.POSITIVE_INFINITY }, progressInterval: 100, maxRedirects: 5, maxBytes: Number.POSITIVE_INFINITY, responseType: 'arraybuffer', resume: false, keepPartial: false, overwrite: true });
    const u = normalizeOptions('upload', URL_OK, {});
    expect(typeof u !== 'string' && [u.method, u.responseType]).toEqual(['POST', 'text']);
  });

  it('reads a number timeout as the total, upper-cases the method, keeps header names', () => {
    const n = normalizeOptions('download', URL_OK, { timeout: 5000, method: 'put', headers: { 'X-Case': 'v' } });
    expect(typeof n !== 'string' && [n.timeouts.total, n.method, n.headers]).toEqual([5000, 'PUT', { 'X-Case': 'v' }]);
  });

  it('reads a fetch Headers object instead of silently dropping it', () => {
    const n = normalizeOptions('download', URL_OK, { headers: new Headers({ 'X-From-Headers': '1' }) as unknown as Record<string, string> });
    expect(typeof n !== 'string' && n.headers).toEqual({ 'x-from-headers': '1' });
  });

  it('keeps resume and keepPartial consistent', () => {
    const n = normalizeOptions('download', URL_OK, { to: '/tmp/x', resume: true });
    expect(typeof n !== 'string' && [n.resume, n.keepPartial]).toEqual([true, true]);
  });
});

describe('download() and upload() never throw (G8)', () => {
  it.each(badOptions)('%s arrives as error(TransferError invalid), after subscribe', async (_what, options, message) => {
    let transfer!: Observable<TransferEvent<unknown>>;
    expect(() => (transfer = download(URL_OK, options as never))).not.toThrow();
    expect(await invalid(transfer)).toMatch(message);
  });

  it.each([
    ['an invalid URL', () => download('not a url')],
    ['a number URL', () => download(42 as never)],
    ['an unsupported scheme', () => download('ftp://a.test/x')],
    ['an upload body of the wrong type', () => upload(URL_OK, 42 as never)],
    ['a null upload body', () => upload(URL_OK, null as never)],
    ['a BodySource with a bad size', () => upload(URL_OK, { kind: 'source', size: -1, replayable: true, open: () => (async function* () {})() } as never)],
    ['options with a throwing getter', () => download(URL_OK, { get scheduler(): never { throw new Error('getter'); } } as never)],
    ['options as a throwing Proxy', () => download(URL_OK, new Proxy({}, { get() { throw new Error('proxy'); }, ownKeys() { throw new Error('keys'); } }) as never)],
    ['a Proxy around a URL (whose methods throw on the proxy)', () => download(new Proxy(new URL(URL_OK), {}) as never)],
    ['a signal whose addEventListener throws', () => download(URL_OK, { transport: new FakeTransport(), signal: { aborted: false, addEventListener() { throw new Error('listener refused'); }, removeEventListener() {} } as never })],
  ])('%s', async (_what, make) => {
    let transfer!: Observable<TransferEvent<unknown>>;
    expect(() => (transfer = make() as Observable<TransferEvent<unknown>>)).not.toThrow();
    const message = await invalid(transfer);
    expect(message.length).toBeGreaterThan(5);
  });

  it('makes no request for invalid options, and each subscription gets its own error (G1)', async () => {
    const fake = new FakeTransport();
    const t = download(URL_OK, { transport: fake, timeout: -1 });
    await invalid(t);
    await invalid(t);
    expect(fake.requests).toHaveLength(0);
  });

  it('delivers the invalid error through the scheduler when one is given (G7)', async () => {
    const timer = new VirtualTimer();
    const scheduler = new RecordingScheduler(timer);
    const recorder = record(download(URL_OK, { scheduler, timeout: -1 }), scheduler);
    await settle();
    expect(recorder.trace).toHaveLength(0); // waits for the scheduler
    timer.advanceBy(0);
    expect(recorder.trace.map((n) => n.kind)).toEqual(['error']);
    expect(recorder.problems).toEqual([]);
    const asap = new RecordingScheduler(asapScheduler);
    const r2 = record(download(URL_OK, { scheduler: asap, retry: -1 }), asap);
    for (let i = 0; i < 3; i++) await settle();
    expect(r2.trace.map((n) => n.kind)).toEqual(['error']);
    expect(r2.problems).toEqual([]);
  });

  it('unsubscribing before the invalid error arrives delivers nothing', async () => {
    const recorder = record(download(URL_OK, { timeout: -1 }), undefined);
    recorder.unsubscribe();
    await settle();
    expect(recorder.trace).toHaveLength(0);
  });

  it('never puts credentials of the URL in the message', async () => {
    const message = await invalid(download('https://user:secret@a.test/x', { timeout: -1 }));
    expect(message).not.toMatch(/secret/);
  });

  it.each([
    ['a password with a slash', 'http://user:se/cret@127.0.0.1/x'],
    ['a password with a space', 'http://user:se cret@exa mple.com/x'],
    ['a password with an @', 'http://user:se@cret@[::1/x'],
    ['a password with a #', 'http://user:se#cret@exa mple.com/x'],
    ['a password with a ?', 'http://user:se?cret@exa mple.com/x'],
    ['no scheme: `user:` parses as one, the rest as its path', 'user:se-cret@a.test/x'],
    ['a token in the fragment (OAuth)', 'http://a.test/x#access_token=se-cret'],
    ['a token in the fragment of a URL that does not parse', 'http://exa mple.com/x#access_token=se-cret'],
  ])('never puts credentials of a URL that does not parse, or is refused, in the message or the error: %s', async (_what, url) => {
    const recorder = record(download(url, { timeout: -1 }), undefined);
    for (let i = 0; i < 5 && !recorder.ended(); i++) await settle();
    const end = recorder.trace[0]!;
    if (end.kind !== 'error' || !isTransferError(end.error)) throw new Error('expected an error');
    expect(end.error.code).toBe('invalid');
    expect(`${end.error.message} ${end.error.url} ${end.error.stack}`).not.toMatch(/cret/);
  });
});
