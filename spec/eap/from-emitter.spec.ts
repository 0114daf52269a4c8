import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { DownloaderHelper } from 'node-downloader-helper';
import { lastValueFrom, toArray } from 'rxjs';
import { fromEmitter, isHttpStatusError, isIntegrityError, isCancelledError, isTimeoutError, type Transfer, type TransferEvent } from './eap-index.js';
import { drip, startLoopback, type Loopback } from '../helpers/eap-loopback.js';
import { collectUnhandled } from '../helpers/eap-fakes.js';

interface Saved {
  readonly path: string;
  readonly size: number;
}

/** node-downloader-helper, a real downloader nobody here wrote, as a transfer. */
function downloadWithHelper(url: string, folder: string): Transfer<Saved> {
  return fromEmitter(() => new DownloaderHelper(url, folder, { retry: false, override: true }), {
    start: (dl) => dl.start(),
    stop: (dl) => dl.stop(),
    progress: { event: 'progress', read: (stats: { downloaded: number; total: number | null }) => ({ loaded: stats.downloaded, total: stats.total }) },
    end: {
      event: 'end',
      result: (stats: { filePath: string; downloadedSize: number; incomplete: boolean }) => ({ path: stats.filePath, size: stats.downloadedSize }),
    },
    stopEvents: ['stop'],
    url,
    method: 'GET',
  });
}

describe('fromEmitter', () => {
  let server: Loopback;
  let folder: string;
  beforeAll(async () => {
    server = await startLoopback({ '/file': drip(64 * 1024, 8 * 1024, 1), '/slow': drip(4 * 1024 * 1024, 16 * 1024, 20) });
    folder = mkdtempSync(join(tmpdir(), 'rxtransfer-eap-'));
  });
  afterAll(async () => {
    await server.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('E12 node-downloader-helper downloads from a loopback server with ordered progress and one done', async () => {
    const events = await lastValueFrom(downloadWithHelper(`${server.url}/file`, folder).pipe(toArray()));
    const progress = events.filter((e): e is Extract<TransferEvent<Saved>, { type: 'progress' }> => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    progress.forEach((p, i) => i > 0 && expect(p.loaded).toBeGreaterThanOrEqual(progress[i - 1].loaded));
    expect(progress[progress.length - 1]).toMatchObject({ loaded: 65536, total: 65536, percent: 100 }); // G5
    const done = events[events.length - 1];
    expect(done.type).toBe('done');
    if (done.type === 'done') {
      expect(done.result.size).toBe(65536);
      expect(statSync(done.result.path).size).toBe(65536);
    }
  });

  it('E12 unsubscribing mid-transfer stops the helper: the server sees the connection close, no file is left', () =>
    collectUnhandled(async (unhandled) => {
      const before = server.closedEarly.length;
      const seen: number[] = [];
      await new Promise<void>((resolve, reject) => {
        const sub = downloadWithHelper(`${server.url}/slow`, folder).subscribe({
          next: (e) => {
            if (e.type !== 'progress') return reject(new Error('finished before the stop'));
            seen.push(e.loaded);
            if (seen.length === 3) {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
        });
      });
      const deadline = Date.now() + 5000;
      while (server.closedEarly.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(server.closedEarly.slice(before)).toEqual(['/slow']);
      while (readdirSync(folder).includes('slow') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(readdirSync(folder)).not.toContain('slow'); // removeOnStop
      expect(seen[2]).toBeLessThan(4 * 1024 * 1024);
      await new Promise((r) => setTimeout(r, 50)); // let stop() settle
      // A failing stop() is reported, not thrown. The helper races itself here: its abort path may
      // delete the partial file before stop() unlinks it, so stop() can fail with ENOENT.
      expect(unhandled.filter((e) => (e as { code?: string }).code !== 'ENOENT')).toEqual([]);
  }));

  it('E12 an HTTP error from the helper ends in HttpStatusError', async () => {
    const error = await lastValueFrom(downloadWithHelper(`${server.url}/missing`, folder)).catch((e: unknown) => e);
    expect(isHttpStatusError(error)).toBe(true);
    expect((error as { status: number }).status).toBe(404);
  });

  it('E12 emitter adapters: short ends, self-stops and throwing result readers become errors; late errors never crash', async () => {
    const scripted = (script: (c: EventEmitter) => void, result: () => string = () => 'ok') =>
      lastValueFrom(
        fromEmitter(() => new EventEmitter(), {
          start: (c) => setImmediate(() => script(c)),
          progress: { event: 'progress', read: (loaded: number, total: number) => ({ loaded, total }) },
          end: { event: 'end', result },
          stopEvents: ['stop'],
        }),
      ).catch((e: unknown) => e);
    expect(isIntegrityError(await scripted((c) => { c.emit('progress', 5, 10); c.emit('end'); }))).toBe(true);
    expect(isCancelledError(await scripted((c) => c.emit('stop')))).toBe(true);
    expect(((await scripted((c) => c.emit('end'), () => { throw new Error('bad stats'); })) as Error).message).toContain('bad stats');
    const late = await scripted((c) => { c.emit('end'); c.emit('error', new Error('after the end')); });
    expect(late).toEqual({ type: 'done', result: 'ok' });
    const rejected = await lastValueFrom(fromEmitter(() => new EventEmitter(), { start: () => Promise.reject(new Error('no start')), end: { event: 'end', result: () => 1 } })).catch((e: unknown) => e);
    expect((rejected as Error).message).toContain('no start');
  });

  it('E5 E12 a timeout event ends the transfer in TimeoutError and stops the component (a timeout that only reports does not stop it by itself)', async () => {
    let stops = 0;
    const error = await lastValueFrom(
      fromEmitter(() => new EventEmitter(), {
        start: (c) => setImmediate(() => c.emit('timeout')),
        stop: () => void (stops += 1),
        end: { event: 'end', result: () => 1 },
        timeout: { event: 'timeout', ms: 5000 },
      }),
    ).catch((e: unknown) => e);
    expect(isTimeoutError(error) && error.ms).toBe(5000);
    expect(stops).toBe(1);
  });

  it('E12 G6 a progress reader that throws ends the transfer and stops the component, which sends nothing more', async () => {
    let stops = 0;
    let ticks = 0;
    let component: (EventEmitter & { timer?: NodeJS.Timeout }) | undefined;
    try {
      const error = await lastValueFrom(
        fromEmitter(() => (component = new EventEmitter()), {
          start: (c: EventEmitter & { timer?: NodeJS.Timeout }) => void (c.timer = setInterval(() => { ticks++; c.emit('progress', {}); }, 2)),
          stop: (c: EventEmitter & { timer?: NodeJS.Timeout }) => { stops++; clearInterval(c.timer); },
          progress: { event: 'progress', read: () => { throw new Error('bad read'); } },
          end: { event: 'end', result: () => 1 },
        }),
      ).catch((e: unknown) => e);
      expect((error as Error).message).toContain('bad read');
      expect(stops).toBe(1);
      const atError = ticks;
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(ticks).toBe(atError);
    } finally {
      clearInterval(component?.timer); // bounded even when the adapter does not stop it
    }
  });

  it('G7 a component that emits inside start: nothing is told inside subscribe(), then all of it in order; a stop decided then waits for start to return', async () => {
    const log: string[] = [];
    let inSubscribe = true;
    const told = (what: string) => log.push(`${what}${inSubscribe ? ' (inside subscribe)' : ''}`);
    fromEmitter(() => new EventEmitter(), {
      start: (c) => { c.emit('progress', 5, 10); c.emit('progress', 10, 10); c.emit('end'); },
      progress: { event: 'progress', read: (loaded: number, total: number) => ({ loaded, total }) },
      end: { event: 'end', result: () => 'ok' },
    }).subscribe({ next: (e) => told(e.type === 'progress' ? `${e.loaded}` : `done ${e.result}`), complete: () => told('complete') });
    fromEmitter(() => new EventEmitter(), { start: (c) => c.emit('error', new Error('bad url')), end: { event: 'end', result: () => 1 } })
      .subscribe({ error: (e: Error) => told(`error ${e.message}`) });
    const helper = new (class extends EventEmitter {
      running = false;
      start() { this.emit('progress'); this.running = true; }
      stop() { log.push(`stop while running: ${this.running}`); this.running = false; }
    })();
    fromEmitter(() => helper, {
      start: (c) => c.start(),
      stop: (c) => c.stop(),
      progress: { event: 'progress', read: () => { throw new Error('bad read'); } },
      end: { event: 'end', result: () => 1 },
    }).subscribe({ error: (e: Error) => told(`error ${e.message}`) });
    inSubscribe = false;
    await Promise.resolve();
    expect(log).toEqual(['stop while running: true', '5', '10', 'done ok', 'complete', 'error bad url', 'error bad read']);
  });

  it('a stop decided inside start (a progress reader that throws) is made even when start then throws', async () => {
    const log: string[] = [];
    const helper = new (class extends EventEmitter {
      start() {
        this.emit('progress'); // running by now
        throw new Error('start failed after it began');
      }
      stop() {
        log.push('stopped');
      }
    })();
    let error: unknown;
    fromEmitter(() => helper, {
      start: (c) => c.start(),
      stop: (c) => c.stop(),
      progress: { event: 'progress', read: () => { throw new Error('bad read'); } },
      end: { event: 'end', result: () => 1 },
    }).subscribe({ error: (e: unknown) => void (error = e) });
    await Promise.resolve();
    expect(log).toEqual(['stopped']);
    expect((error as Error).message).toContain('bad read');
  });

  it("G7 G8 a create or start that throws is 'invalid' (the caller's mistake, never retried), told after subscribe() returns, and nothing is stopped", async () => {
    let stops = 0;
    const cases: [() => EventEmitter, (c: EventEmitter) => unknown, string][] = [
      [() => { throw new Error('Destination Folder must exist'); }, () => undefined, 'Destination Folder must exist'],
      [() => new EventEmitter(), () => { throw new TypeError('dl.start is not a function'); }, 'dl.start is not a function'],
    ];
    for (const [create, start, message] of cases) {
      let error: unknown;
      let inSubscribe = true;
      let syncError = false;
      fromEmitter(create, { start, stop: () => void (stops += 1), end: { event: 'end', result: () => 1 } }).subscribe({
        error: (e: unknown) => ((error = e), (syncError = inSubscribe)),
      });
      inSubscribe = false;
      await Promise.resolve();
      expect(syncError).toBe(false);
      expect(error).toMatchObject({ code: 'invalid' });
      expect((error as Error).message).toContain(message);
    }
    expect(stops).toBe(0);
    // The real helper refuses a folder that does not exist in its constructor.
    const missing = await lastValueFrom(downloadWithHelper(`${server.url}/file`, join(folder, 'missing'))).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'invalid' });
    expect((missing as Error).message).toContain('Destination Folder must exist');
  });

  it("G11 a component's failure that quotes a URL with credentials (Node's fetch and Request do) gives a message without them, however it is told", async () => {
    const secretUrl = `http://user:PaSsW0rd@127.0.0.1:${new URL(server.url).port}/file?token=T0k3n`;
    const made = (create: () => EventEmitter, start: (c: EventEmitter) => unknown) =>
      lastValueFrom(fromEmitter(create, { start, end: { event: 'end', result: () => 1 }, url: secretUrl, method: 'GET' })).then(() => new Error('no error'), (e: unknown) => e as Error);
    const failures = [
      // fetch rejects: the promise start returns.
      await made(() => new EventEmitter(), () => fetch(secretUrl)),
      // told through the component's error event.
      await made(() => new EventEmitter(), (c) => void fetch(secretUrl).catch((e: unknown) => c.emit('error', e))),
      // Request throws in create: 'invalid'.
      await made(() => (new Request(secretUrl), new EventEmitter()), () => undefined),
    ];
    for (const error of failures) {
      expect(error.message).toMatch(/includes credentials/);
      expect([error.message, String(error), inspect(error, { depth: 8 })].filter((view) => /PaSsW0rd|T0k3n/.test(view))).toEqual([]);
    }
  });
});
