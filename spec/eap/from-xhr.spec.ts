import { firstValueFrom, toArray } from 'rxjs';
import { fromXhr, isHttpStatusError, isCancelledError, isTimeoutError, isNetworkError, isIntegrityError, type TransferEvent, type XhrResult } from './eap-index.js';
import { FakeXhr } from '../helpers/eap-fake-xhr.js';

function run(xhr: FakeXhr, body?: unknown) {
  const events: TransferEvent<XhrResult<string>>[] = [];
  let error: unknown;
  let completed = false;
  const subscription = fromXhr<string>(() => xhr, { body, url: 'https://example.com/up', method: 'POST' }).subscribe({
    next: (e) => events.push(e),
    error: (e: unknown) => void (error = e),
    complete: () => void (completed = true),
  });
  return { events, subscription, get error() { return error; }, get completed() { return completed; } };
}

describe('fromXhr (fake XMLHttpRequest)', () => {
  it('E12 upload progress, then download progress, then done; listeners attached before send', () => {
    const xhr = new FakeXhr();
    const r = run(xhr, 'hello');
    expect(xhr.sent).toEqual(['hello']);
    expect(xhr.upload.listenerCount()).toBeGreaterThan(0);
    xhr.upload.dispatch('progress', 2, 5);
    xhr.upload.dispatch('progress', 1, 5); // backwards: ignored (G4)
    xhr.upload.dispatch('load', 5, 5);
    xhr.dispatch('progress', 3, 0, false);
    xhr.upload.dispatch('progress', 5, 5); // upload after download started: dropped (G4)
    xhr.responseURL = 'https://example.com/final';
    xhr.respond(201, 'created');
    expect(r.events.map((e) => (e.type === 'progress' ? `${e.direction}:${e.loaded}/${e.total ?? '?'}:${e.percent ?? '-'}` : 'done'))).toEqual([
      'upload:2/5:40', 'upload:5/5:100', 'download:3/?:-', 'download:7/7:100', 'done',
    ]);
    const done = r.events[r.events.length - 1];
    expect(done.type === 'done' && done.result).toMatchObject({ status: 201, data: 'created', sent: 5, size: 7, url: 'https://example.com/final', headers: { 'content-type': 'text/plain' } });
    expect(r.completed).toBe(true);
    expect(xhr.listenerCount() + xhr.upload.listenerCount()).toBe(0);
  });

  it('E12 without a body, nothing listens on xhr.upload (the XHR standard preflights a cross-origin request that has upload listeners)', () => {
    const xhr = new FakeXhr();
    const r = run(xhr);
    expect(xhr.sent).toEqual([null]);
    expect(xhr.upload.listenerCount()).toBe(0);
    expect(xhr.listenerCount()).toBeGreaterThan(0);
    xhr.respond(200, 'ok');
    expect(r.completed).toBe(true);
  });

  it('E12 HTTP >= 400, network error, timeout and foreign abort become TransferErrors', () => {
    const cases: [(x: FakeXhr) => void, (e: unknown) => boolean][] = [
      [(x) => x.respond(503, 'try later'), (e) => isHttpStatusError(e) && e.status === 503 && e.body === 'try later'],
      [(x) => x.dispatch('error'), isNetworkError],
      [(x) => { x.timeout = 99; x.dispatch('timeout'); }, (e) => isTimeoutError(e) && e.ms === 99],
      [(x) => x.dispatch('abort'), isCancelledError],
      [(x) => x.dispatch('loadend'), isNetworkError],
      [(x) => { x.dispatch('progress', 5, 10); x.respond(200, ''); }, isIntegrityError],
    ];
    for (const [act, check] of cases) {
      const xhr = new FakeXhr();
      const r = run(xhr);
      act(xhr);
      expect(check(r.error)).toBe(true);
      expect((r.error as Error).message).toContain('https://example.com/up');
    }
  });

  it('E12 unsubscribe removes the listeners, then aborts the request (G6); cold per subscription (G1)', async () => {
    let made = 0;
    const xhrs: FakeXhr[] = [];
    const transfer = fromXhr(() => { made += 1; const x = new FakeXhr(); xhrs.push(x); return x; });
    expect(made).toBe(0);
    const sub = transfer.subscribe();
    sub.unsubscribe();
    expect(xhrs[0].aborted).toBe(1);
    expect(xhrs[0].listenerCount()).toBe(0);
    const second = firstValueFrom(transfer.pipe(toArray()));
    xhrs[1].respond(200, 'ok');
    expect((await second).map((e) => e.type)).toEqual(['progress', 'done']);
    expect(xhrs[1].aborted).toBe(0); // finished requests are not aborted
  });

  it("G8 a factory that throws, or an XHR that cannot be sent, is 'invalid' (the caller's mistake, never retried), told after subscribe() returns", async () => {
    const notOpened = new FakeXhr();
    notOpened.send = () => {
      throw new Error("Failed to execute 'send': the object's state must be OPENED");
    };
    for (const [make, message] of [
      [() => { throw new Error('open failed'); }, 'open failed'],
      [() => notOpened, 'state must be OPENED'],
    ] as const) {
      let error: unknown;
      let inSubscribe = true;
      let syncError = false;
      fromXhr(make as () => FakeXhr).subscribe({ error: (e: unknown) => ((error = e), (syncError = inSubscribe)) });
      inSubscribe = false;
      await Promise.resolve();
      expect(syncError).toBe(false);
      expect(isNetworkError(error)).toBe(false);
      expect(error).toMatchObject({ code: 'invalid' });
      expect((error as Error).message).toContain(`fromXhr: the XMLHttpRequest could not be sent: `);
      expect((error as Error).message).toContain(message);
    }
  });

  it("E12 done's url is without credentials, as every result's: a browser's responseURL keeps the request's user:password@", () => {
    const xhr = new FakeXhr();
    const r = run(xhr);
    xhr.responseURL = 'https://user:s3cret@example.com/final?x=1';
    xhr.respond(200, 'ok');
    const done = r.events[r.events.length - 1];
    expect(done.type === 'done' && done.result.url).toBe('https://example.com/final?x=1');
  });

  it("done's url keeps any other URL as it is: a blob: or data: URL, a token in the query", () => {
    for (const url of ['blob:https://example.com/0b5c7e1e-6a41-4f7e-9d0e-3c1f2b7a9e10', 'data:text/plain,hello', 'https://example.com/file?token=abc&x=@1']) {
      const xhr = new FakeXhr();
      const r = run(xhr);
      xhr.responseURL = url;
      xhr.respond(200, 'ok');
      const done = r.events[r.events.length - 1];
      expect(done.type === 'done' && done.result.url).toBe(url);
    }
  });
});
