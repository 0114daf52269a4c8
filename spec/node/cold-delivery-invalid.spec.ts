import axios from 'axios';
import { asyncScheduler, Subscription, tap, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { contextScheduler, download, upload, isTransferError, zoneContext, type DownloadOptions as AllDownloadOptions, type TransferError } from 'rxtransfer';
import { startFaultServer, type FaultServer } from '../helpers/fault-server';
import { seededSha256Hex, sha256Hex } from '../helpers/fault-bytes';
import { delay, runTransfer, within } from '../helpers/fault-trace';

/** Options of an in-memory download (no `to`). */
type DownloadOptions = AllDownloadOptions & { to?: undefined };

let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer();
});
afterAll(() => server.close());

describe('G1 cold', () => {
  it('G1 nothing reaches the server before subscribe', async () => {
    const before = server.requests.length;
    const transfer = download(server.url('/bytes', { size: 100, key: 'cold-1' }));
    await delay(150);
    expect(server.requests.length).toBe(before);
    expect(server.hits('cold-1')).toBe(0);
    const run = await runTransfer(transfer);
    expect(run.error).toBeUndefined();
    expect(server.hits('cold-1')).toBe(1);
  });

  it('G1 two subscriptions make two requests with the same bytes', async () => {
    const transfer = download(server.url('/bytes', { size: 5000, seed: 11, key: 'cold-2' }), { responseType: 'uint8array' });
    const [a, b] = await Promise.all([runTransfer(transfer), runTransfer(transfer)]);
    expect(server.hits('cold-2')).toBe(2);
    for (const run of [a, b]) expect(sha256Hex(run.result!.data)).toBe(seededSha256Hex(11, 5000));
  });

  it('G1 an upload sends its body once per subscription', async () => {
    const transfer = upload(server.url('/upload', { key: 'cold-3' }), 'hello', { responseType: 'json' });
    await delay(50);
    expect(server.hits('cold-3')).toBe(0);
    await runTransfer(transfer);
    await runTransfer(transfer);
    expect(server.hits('cold-3')).toBe(2);
    const bodies = server.requests.filter((r) => r.query.get('key') === 'cold-3').map((r) => r.bytesReceived);
    expect(bodies).toEqual([5, 5]);
  });
});

describe('G1 G8 an upload body that cannot be opened', () => {
  it("G1 a second subscription to a one-shot stream body is 'invalid' at once, not a network error retried into the same failure", async () => {
    async function* once() {
      yield new TextEncoder().encode('abc');
    }
    const transfer = upload(server.url('/upload', { key: 'one-shot-twice' }), once(), { method: 'PUT', retry: { count: 2, baseDelay: 1 } });
    expect((await runTransfer(transfer)).error).toBeUndefined();
    const second = await runTransfer(transfer);
    expect((second.error as TransferError).code).toBe('invalid');
    expect((second.error as Error).message).toMatch(/one-shot stream and was already sent \(PUT http/);
    expect(server.hits('one-shot-twice')).toBe(1);
  });

  it("G8 a body source whose open() throws is 'invalid' and not retried", async () => {
    let opened = 0;
    const source = { kind: 'source' as const, replayable: true, open: (): AsyncIterable<Uint8Array> => { opened++; throw new Error('no such file'); } };
    const run = await runTransfer(upload(server.url('/upload', { key: 'open-throws' }), source, { method: 'PUT', retry: { count: 2, baseDelay: 1 } }));
    expect((run.error as TransferError).code).toBe('invalid');
    expect((run.error as Error).message).toContain('no such file');
    expect(opened).toBe(1);
  });
});

/** A scheduler that delivers through asyncScheduler and knows when it is running work. */
class RecordingScheduler implements SchedulerLike {
  scheduled = 0;
  running = 0;
  now(): number {
    return asyncScheduler.now();
  }
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, ms?: number, state?: T): Subscription {
    this.scheduled++;
    const enter = () => void this.running++;
    const leave = () => void this.running--;
    return asyncScheduler.schedule<T>(function (this: SchedulerAction<T>, s?: T) {
      enter();
      try {
        work.call(this, s);
      } finally {
        leave();
      }
    }, ms, state);
  }
}

describe('G7 delivery context', () => {
  const cases: Array<[string, () => { url: string; options: DownloadOptions }]> = [
    ['a success with progress', () => ({ url: server.url('/bytes', { size: 300_000, chunk: 16_384 }), options: { progressInterval: 0 } })],
    ['an HTTP error', () => ({ url: server.url('/status/500'), options: {} })],
    ['invalid options', () => ({ url: server.url('/bytes'), options: { timeout: -1 } })],
  ];
  it.each(cases)('G7 every notification of %s goes through the scheduler, none inside subscribe()', async (_name, make) => {
    const { url, options } = make();
    const scheduler = new RecordingScheduler();
    let subscribing = false;
    const outside: string[] = [];
    const inside: string[] = [];
    const note = (what: string) => {
      if (subscribing) inside.push(what);
      if (scheduler.running === 0) outside.push(what);
    };
    const transfer = download(url, { ...options, scheduler });
    let finish!: () => void;
    const ended = new Promise<void>((r) => (finish = r));
    subscribing = true;
    const subscription = transfer.subscribe({
      next: (e) => note(e.type),
      error: () => {
        note('error');
        finish();
      },
      complete: () => {
        note('complete');
        finish();
      },
    });
    subscribing = false;
    expect(await within(ended, 10_000, 'hung')).toBeUndefined();
    subscription.unsubscribe();
    expect(inside).toEqual([]);
    expect(outside).toEqual([]);
    expect(scheduler.scheduled).toBeGreaterThan(0);
  });

  it('G7 without a scheduler nothing is delivered synchronously inside subscribe()', async () => {
    const seen: string[] = [];
    let subscribing = true;
    const sub = download('not a url').subscribe({ error: () => seen.push(subscribing ? 'sync' : 'async') });
    const sub2 = download(server.url('/bytes', { size: 10 })).subscribe({ next: (e) => seen.push(subscribing ? `sync ${e.type}` : 'async') });
    subscribing = false;
    await delay(300);
    sub.unsubscribe();
    sub2.unsubscribe();
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.startsWith('sync'))).toEqual([]);
  });

  it('G7 the order of events is kept through the scheduler', async () => {
    const scheduler = new RecordingScheduler();
    const run = await runTransfer(download(server.url('/bytes', { size: 400_000, chunk: 8192 }), { scheduler, progressInterval: 0 }));
    const loaded = run.progress.map((p) => p.loaded);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(run.trace.at(-1)?.kind).toBe('complete');
  });
});

describe('G8 never throws', () => {
  const bad: Array<[string, () => ReturnType<typeof download>]> = [
    ['an invalid URL', () => download('http://')],
    ['a relative URL', () => download('/relative/path')],
    ['a number as URL', () => download(42 as unknown as string)],
    ['an ftp: scheme', () => download('ftp://127.0.0.1/file')],
    ['a file: scheme', () => download('file:///etc/passwd')],
    ['a negative timeout', () => download(server.url('/bytes'), { timeout: -5 })],
    ['a negative idle timeout', () => download(server.url('/bytes'), { timeout: { idle: -1 } })],
    ['NaN as timeout', () => download(server.url('/bytes'), { timeout: Number.NaN })],
    ['a header name with a space', () => download(server.url('/bytes'), { headers: { 'bad header': 'x' } })],
    ['a header value with CRLF', () => download(server.url('/bytes'), { headers: { 'x-a': 'a\r\nInjected: 1' } })],
    ['a non-string header value', () => download(server.url('/bytes'), { headers: { 'x-a': 1 as unknown as string } })],
    ['a method that is not a token', () => download(server.url('/bytes'), { method: 'GE T' })],
    ['a negative retry count', () => download(server.url('/bytes'), { retry: -1 })],
    ['shouldRetry that is not a function', () => download(server.url('/bytes'), { retry: { count: 1, shouldRetry: 'yes' as never } })],
    ['a scheduler without schedule()', () => download(server.url('/bytes'), { scheduler: {} as SchedulerLike })],
    ['a signal that is not an AbortSignal', () => download(server.url('/bytes'), { signal: 'stop' as never })],
    ['an unknown responseType', () => download(server.url('/bytes'), { responseType: 'xml' as never })],
    ['an integrity that is not SRI', () => download(server.url('/bytes'), { integrity: 'md5-abc' })],
    ['resume without to', () => download(server.url('/bytes'), { resume: true })],
    ['options whose getter throws', () => download(server.url('/bytes'), Object.defineProperty({}, 'timeout', { get: () => { throw new Error('boom'); }, enumerable: true }) as DownloadOptions)],
    ['an upload body of a wrong type', () => upload(server.url('/upload'), 12 as never) as never],
    ['an upload body of null', () => upload(server.url('/upload'), null as never) as never],
  ];

  it.each(bad)('G8 %s arrives as error(TransferError invalid), never a throw, and sends nothing', async (_name, make) => {
    const before = server.requests.length;
    let transfer!: ReturnType<typeof download>;
    expect(() => (transfer = make())).not.toThrow();
    const run = await runTransfer(transfer);
    expect(isTransferError(run.error)).toBe(true);
    expect((run.error as TransferError).code).toBe('invalid');
    expect((run.error as Error).message.length).toBeGreaterThan(5);
    expect(server.requests.length).toBe(before);
  });

  it('G8 a throwing shouldRetry becomes the transfer error', async () => {
    const run = await runTransfer(
      download(server.url('/status/503'), {
        retry: { count: 2, baseDelay: 1, shouldRetry: () => { throw new Error('callback bug'); } },
      }),
    );
    expect(isTransferError(run.error)).toBe(true);
    expect((run.error as Error).message).toContain('callback bug');
  });

  it('G8 a throwing axios interceptor becomes the transfer error', async () => {
    const instance = axios.create();
    instance.interceptors.request.use(() => {
      throw new Error('interceptor bug');
    });
    const run = await runTransfer(download(server.url('/bytes'), { axios: instance }));
    expect(isTransferError(run.error)).toBe(true);
    expect((run.error as Error).message).toContain('interceptor bug');
  });

  it("G8 a request the caller's axios refuses for its own options (AxiosError ERR_BAD_OPTION_VALUE, ERR_INVALID_URL…) is 'invalid' at once, not a network error retried", async () => {
    const instances = [
      axios.create({ params: { a: 1 }, paramsSerializer: { encode: 'not a function' as never } }),
      axios.create({ baseURL: 'http:no-slashes', allowAbsoluteUrls: false }),
    ];
    for (const instance of instances) {
      let attempts = 0;
      const run = await runTransfer(download(server.url('/bytes', { key: 'refused-by-axios' }), { axios: instance, retry: { count: 2, baseDelay: 1, shouldRetry: () => (attempts++, true) } }));
      expect(run.error).toMatchObject({ name: 'TransferError', code: 'invalid' });
      expect((run.error as Error).message).toMatch(/^the axios instance refused the request: /);
      expect(attempts).toBe(0);
    }
    expect(server.hits('refused-by-axios')).toBe(0);
  });

  it("G8 an axios response interceptor that unwraps the response (r => r.data) is 'invalid' at once: not a body cut short, not retried", async () => {
    const instance = axios.create();
    instance.interceptors.response.use((response) => response.data);
    const run = await runTransfer(download(server.url('/bytes', { size: 100, key: 'unwrapped' }), { axios: instance, retry: { count: 2, baseDelay: 1 } }));
    expect((run.error as TransferError).code).toBe('invalid');
    expect((run.error as Error).message).toContain('response.data');
    expect(server.hits('unwrapped')).toBe(1);
  });

  it('G8 G2 a scheduler that throws while delivering ends the transfer with a TransferError (invalid), and its connection is closed', async () => {
    // Takes `accept` deliveries, then refuses (a disposed UI context, a full queue).
    const refusing = (accept: number): SchedulerLike => ({
      now: () => Date.now(),
      schedule(work: (this: SchedulerAction<unknown>, state?: unknown) => void, delay?: number, state?: unknown): Subscription {
        if (accept-- <= 0) throw new Error('scheduler gone');
        return asyncScheduler.schedule(work, delay, state);
      },
    });
    for (const [accept, key] of [[0, 'sched-0'], [2, 'sched-2']] as const) {
      const run = await runTransfer(download(server.url('/bytes', { size: 200_000, chunk: 1000, delay: 5, key }), { scheduler: refusing(accept), progressInterval: 0 }));
      expect(isTransferError(run.error)).toBe(true);
      expect(run.error).toMatchObject({ code: 'invalid' });
      expect((run.error as Error).message).toMatch(/^the scheduler threw: scheduler gone /);
      expect(server.hits(key)).toBe(1);
    }
    // An invalid option delivered through such a scheduler: still a TransferError.
    const invalid = await runTransfer(download('ftp://example.com/x', { scheduler: refusing(0) }));
    expect(isTransferError(invalid.error)).toBe(true);
    // The transfer that could no longer deliver let go of its connection (G6).
    const [second] = server.requests.filter((r) => r.query.get('key') === 'sched-2');
    expect(await within(second!.closedEarly, 3_000, 'still open')).toBe(true);
  });

  it('G2 a scheduler that refuses to deliver the transfer\'s own error delivers that error (not "the scheduler threw"), and one that refuses the complete after a delivered done completes', async () => {
    // Runs each delivery at once, in place, until `refuse()` says no.
    const inline = (refuse: () => boolean): SchedulerLike => ({
      now: () => Date.now(),
      schedule(work: (this: SchedulerAction<unknown>, state?: unknown) => void, _delay?: number, state?: unknown): Subscription {
        if (refuse()) throw new Error('scheduler gone');
        const action = new Subscription() as SchedulerAction<unknown>;
        work.call(action, state);
        return action;
      },
    });
    const failed = await runTransfer(download(server.url('/status/404'), { scheduler: inline(() => true) }));
    expect(failed.error).toMatchObject({ code: 'http', status: 404 });
    let done = false;
    const transfer = download(server.url('/bytes', { size: 1000 }), { scheduler: inline(() => done), responseType: 'arraybuffer' });
    const run = await runTransfer(transfer.pipe(tap((e) => (done ||= e.type === 'done'))));
    expect(run.error).toBeUndefined();
    expect((run.result as { size?: number } | undefined)?.size).toBe(1000);
  });

  it('G7 G8 a zone context whose runOutsideAngular throws: nothing is thrown or delivered inside subscribe(); the refusal is reported and the transfer ends in a TransferError (its posts are refused too)', async () => {
    const zone = { run: <T>(fn: () => T): T => fn(), runOutsideAngular: (): never => { throw new Error('zone gone'); } };
    const reported: unknown[] = [];
    const { config } = await import('rxjs');
    const previous = config.onUnhandledError;
    config.onUnhandledError = (e) => void reported.push(e);
    try {
      const transfer = download(server.url('/bytes', { size: 100 }), { scheduler: contextScheduler(zoneContext(zone)) });
      const inside: string[] = [];
      transfer.subscribe({ next: (e) => void inside.push(e.type), error: () => void inside.push('error') }).unsubscribe();
      expect(inside).toEqual([]);
      const run = await runTransfer(transfer);
      expect(run.error).toMatchObject({ code: 'invalid', message: expect.stringMatching(/^the scheduler threw: zone gone /) });
      expect(reported.map((e) => (e as Error).message)).toEqual(['zone gone', 'zone gone']);
    } finally {
      config.onUnhandledError = previous;
    }
  });

  it('G8 a throwing subscriber callback does not break other subscribers nor throw from download()', async () => {
    const transfer = download(server.url('/bytes', { size: 100 }));
    const reported: unknown[] = [];
    const { config } = await import('rxjs');
    const previous = config.onUnhandledError;
    config.onUnhandledError = (e) => reported.push(e);
    try {
      transfer.subscribe({ next: () => { throw new Error('consumer bug'); } });
      const run = await runTransfer(transfer);
      expect(run.error).toBeUndefined();
      await delay(50);
    } finally {
      config.onUnhandledError = previous;
    }
  });
});
