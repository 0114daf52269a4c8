import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { download, upload, isHttpStatusError, isTransferError, type BodySource, type UploadBody } from 'rxtransfer';
import { fileBody } from 'rxtransfer/node';
import { FakeTransport, recordTransfer, type Notification } from 'rxtransfer/testing';
import { startFaultServer, type FaultServer } from '../helpers/fault-server';
import { within as orAfter } from '../helpers/fault-trace';
import { isLocalFileError } from '../../lib/internal/node/file-sink';
import { VirtualTimer } from '../helpers/virtual-timer';

/** `promise`, or a failure naming `what` after `ms`: every wait of these tests is bounded. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const hung = Symbol('hung');
  const value = await orAfter(promise, ms, hung);
  if (value === hung) throw new Error(`hung: ${what}`);
  return value as T;
}

describe('FakeTransport (rxtransfer/testing)', () => {
  it('respond() after end() answers the head with an empty body, as FakeRequest documents', async () => {
    const fake = new FakeTransport();
    const recording = recordTransfer(download('https://example.com/a', { transport: fake, responseType: 'text' }));
    const request = await fake.next();
    request.end().respond({ status: 200 });
    const last = (await recording.ended).at(-2);
    expect(last?.kind === 'next' && last.value.type === 'done' && last.value.result.data).toBe('');
  });
});

describe('FakeTransport: a head without a body', () => {
  it('a HEAD redirect answered by respond() alone is followed at once under a virtual timer (its body ends by itself, as a Node response does), and a 204 is done without end()', async () => {
    for (const [method, headers] of [['HEAD', { location: '/b' }], ['HEAD', { location: '/b', 'content-length': '10' }]] as const) {
      const timer = new VirtualTimer();
      const fake = new FakeTransport();
      const recording = recordTransfer(download('https://example.com/a', { transport: fake, method, timer, responseType: 'text' }));
      (await within(fake.next(), 2_000, 'the first request')).respond({ status: 302, headers });
      // No virtual time passes: the core does not wait out its redirect-body limit for a body that is empty.
      const second = await within(fake.next(), 2_000, `the ${method} redirect followed without time passing`);
      expect(second.url).toBe('https://example.com/b');
      second.respond({ status: 204 });
      const last = (await within(recording.ended, 2_000, 'the 204 done without end()')).at(-2);
      expect(last?.kind === 'next' && last.value.type).toBe('done');
    }
    const fake = new FakeTransport();
    const recording = recordTransfer(download('https://example.com/a', { transport: fake, responseType: 'text' }));
    (await within(fake.next(), 2_000, 'the GET')).respond({ status: 204 });
    const last = (await within(recording.ended, 2_000, 'the 204 done without end()')).at(-2);
    expect(last?.kind === 'next' && last.value.type === 'done' && last.value.result.data).toBe('');
  });
});

describe('FakeTransport: the request body, as the Node transport sends it', () => {
  let server: FaultServer;
  let dir: string;
  beforeAll(async () => {
    server = await startFaultServer();
    dir = mkdtempSync(join(tmpdir(), 'rxtransfer-fake-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const source = (size: number, bytes: number): BodySource => ({ kind: 'source', size, replayable: true, open: async function* () { yield new Uint8Array(bytes); } });
  /** The error a trace ended with, as [code, message without its "(METHOD url)"], or its last kind. */
  const outcome = (trace: readonly Notification<unknown>[]): unknown => {
    const last = trace.at(-1)!;
    if (last.kind !== 'error') return last.kind;
    const error = last.error as Error & { code?: string };
    return [error.name, error.code, error.message.replace(/ \(POST [^)]*\)$/, ''), isLocalFileError(error)];
  };

  it('a body that fails ends as it does with the Node transport: invalid, never done', async () => {
    const gone = join(dir, 'gone.bin');
    writeFileSync(gone, 'hello');
    const removed = fileBody(gone);
    rmSync(gone);
    const cases: Array<[string, () => UploadBody]> = [
      ['a generator that throws', () => (async function* () { yield new Uint8Array(2); throw new Error('boom'); })()],
      ['a BodySource shorter than its size', () => source(10, 4)],
      ['a BodySource longer than its size', () => source(4, 10)],
      ['a file removed before the upload', () => removed],
      ['a Node stream of a file that is not there', () => createReadStream(join(dir, 'missing.bin'))],
    ];
    for (const [what, body] of cases) {
      const real = outcome(await within(recordTransfer(upload(server.url('/upload'), body(), { retry: 2 })).ended, 10_000, what));
      const fake = new FakeTransport();
      const recording = recordTransfer(upload('https://example.com/up', body(), { transport: fake, retry: 2 }));
      (await fake.next()).connect().respond({ status: 201 }).end();
      const faked = outcome(await within(recording.ended, 5_000, what));
      expect([what, faked]).toEqual([what, real]);
      expect([what, real]).toEqual([what, ['TransferError', 'invalid', expect.stringMatching(/^cannot send the request body: /), true]]);
      expect(fake.requests).toHaveLength(1);
    }
  });

  it('a body that fails within the bytes uploadProgress reports fails the request before any head', async () => {
    const fake = new FakeTransport();
    const recording = recordTransfer(upload('https://example.com/up', (async function* () { yield new Uint8Array(4); throw new Error('disk gone'); })(), { transport: fake }));
    (await fake.next()).connect().uploadProgress(4).uploadProgress(8);
    const last = (await within(recording.ended, 5_000, 'the error')).at(-1);
    expect(last?.kind === 'error' && isTransferError(last.error) && [last.error.code, last.error.message]).toEqual(['invalid', expect.stringContaining('cannot send the request body: disk gone')]);
  });

  it('a Node stream body is closed however the request ends: read to its end, aborted, failed', async () => {
    const path = join(dir, 'body.bin');
    writeFileSync(path, 'abcdefghij');
    for (const ending of ['respond', 'unsubscribe', 'fail'] as const) {
      const stream = createReadStream(path);
      const closed = new Promise<void>((resolve) => stream.once('close', resolve));
      const fake = new FakeTransport();
      const recording = recordTransfer(upload('https://example.com/up', stream, { transport: fake, responseType: 'text' }));
      const request = await fake.next();
      if (ending === 'respond') request.connect().uploadProgress(10).flush('ok');
      else if (ending === 'unsubscribe') recording.unsubscribe();
      else request.fail();
      await within(closed, 5_000, `the stream closed (${ending})`);
      expect([ending, stream.destroyed]).toEqual([ending, true]);
      if (ending !== 'unsubscribe') expect([ending, (await within(recording.ended, 5_000, ending)).at(-1)!.kind]).toEqual([ending, ending === 'respond' ? 'complete' : 'error']);
      expect(request.released).toBe(true);
    }
  });

  it('reads no further than uploadProgress asks; an early answer closes a body that never ends', async () => {
    let pulled = 0;
    let returned = false;
    async function* endless() {
      try {
        for (;;) {
          pulled++;
          yield new Uint8Array(4);
        }
      } finally {
        returned = true;
      }
    }
    const fake = new FakeTransport();
    const recording = recordTransfer(upload('https://example.com/up', endless(), { transport: fake, progressInterval: 0 }));
    const request = await fake.next();
    request.connect().uploadProgress(8);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pulled).toBe(2);
    request.respond({ status: 413, early: true }).end();
    const trace = await within(recording.ended, 5_000, 'the 413');
    const last = trace.at(-1);
    expect(last?.kind === 'error' && isHttpStatusError(last.error) && last.error.status).toBe(413);
    expect(returned).toBe(true);
    expect(request.released).toBe(true);
  });

  it('the head waits for the body; scripted upload progress is reported as scripted', async () => {
    const fake = new FakeTransport();
    const recording = recordTransfer(upload('https://example.com/up', source(10, 10), { transport: fake, progressInterval: 0 }));
    (await fake.next()).connect().uploadProgress(3).respond({ status: 201 }).end();
    const trace = await within(recording.ended, 5_000, 'done');
    const progress = trace.flatMap((n) => (n.kind === 'next' && n.value.type === 'progress' && n.value.direction === 'upload' ? [n.value.loaded] : []));
    expect(progress).toEqual([0, 3, 10]);
    expect(trace.at(-1)!.kind).toBe('complete');
  });
});

describe('FakeTransport: platforms', () => {
  it('streamsBodies: false refuses a stream body as the browser transport does; the default takes it', async () => {
    for (const streamsBodies of [false, true]) {
      const fake = new FakeTransport({ streamsBodies });
      const recording = recordTransfer(upload('https://example.com/up', (async function* () { yield new Uint8Array(1); })(), { transport: fake }));
      if (streamsBodies) (await fake.next()).flush('ok');
      const last = (await within(recording.ended, 5_000, 'the end')).at(-1);
      if (streamsBodies) expect(last?.kind).toBe('complete');
      else expect(last?.kind === 'error' && isTransferError(last.error) && [last.error.code, last.error.message]).toEqual(['invalid', expect.stringContaining('cannot send a stream body')]);
      expect(fake.requests).toHaveLength(streamsBodies ? 1 : 0);
    }
  });
});

describe('FakeTransport: header() shows the headers the Node transport adds', () => {
  let server: FaultServer;
  beforeAll(async () => (server = await startFaultServer()));
  afterAll(() => server.close());

  /** The headers the real Node transport sent for `body` (lower case), and those header() shows for the fake. */
  async function both(body: () => UploadBody, names: string[], headers: Record<string, string> = {}): Promise<[Record<string, unknown>, Record<string, unknown>]> {
    const trace = await within(recordTransfer(upload(server.url('/headers'), body(), { headers, responseType: 'json' })).ended, 10_000, 'the real upload');
    const done = trace.find((n) => n.kind === 'next' && n.value.type === 'done');
    const real = (done?.kind === 'next' && done.value.type === 'done' ? done.value.result.data : {}) as Record<string, string>;
    const fake = new FakeTransport();
    const recording = recordTransfer(upload('https://example.com/up', body(), { transport: fake, headers }));
    const request = await fake.next();
    const shown = Object.fromEntries(names.map((name) => [name, request.header(name)]));
    request.flush('ok');
    await within(recording.ended, 5_000, 'the fake upload');
    return [shown, Object.fromEntries(names.map((name) => [name, real[name]]))];
  }

  it('Content-Length of a sized body, Content-Type of a Blob, Accept-Encoding', async () => {
    const names = ['content-length', 'content-type', 'accept-encoding'];
    const [shown, real] = await both(() => new Blob(['hello'], { type: 'text/csv' }), names);
    expect(shown).toEqual(real);
    expect(shown).toEqual({ 'content-length': '5', 'content-type': 'text/csv', 'accept-encoding': 'gzip, deflate, br' });
    const [own, realOwn] = await both(() => 'data', names, { 'Accept-Encoding': 'identity' });
    expect(own).toEqual(realOwn);
    expect(own['accept-encoding']).toBe('identity');
  });

  it('the multipart Content-Type of a FormData', async () => {
    const form = () => {
      const data = new FormData();
      data.set('a', '1');
      return data;
    };
    const [shown, real] = await both(form, ['content-type', 'content-length']);
    expect(shown['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(String(real['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    expect(shown['content-length']).toBe(real['content-length']);
  });
});
