import { download, upload, isCancelledError, isTimeoutError, type TimeoutError, type TransferEvent } from 'rxtransfer';
import { recordTransfer } from 'rxtransfer/testing';
import { startFaultServer, type FaultServer, type RecordedRequest } from '../helpers/fault-server';
import { startBlackhole, type Blackhole } from '../helpers/fault-blackhole';
import { delay, eventually, runTransfer, within } from '../helpers/fault-trace';
import type { Observable } from 'rxjs';
import http from 'node:http';
import axios from 'axios';
import { axiosHttpTransport } from 'rxtransfer/node';
import type { Transport, TransportResponse } from '../../lib/internal/core/transport.js';
import { Readable } from 'node:stream';

let server: FaultServer;
let blackhole: Blackhole;
beforeAll(async () => {
  server = await startFaultServer();
  blackhole = await startBlackhole();
});
afterAll(async () => {
  await blackhole.close();
  await server.close();
});

/** Subscribes, waits until the server saw the request and `ready()` holds, then unsubscribes. */
async function unsubscribeMidway<R>(transfer: Observable<TransferEvent<R>>, path: string, ready: (trace: unknown[]) => boolean) {
  const requested = server.nextRequest(path);
  const recording = recordTransfer(transfer);
  const rec = await within(requested, 5_000, undefined);
  expect(rec).toBeDefined();
  expect(await eventually(() => ready(recording.trace), 5_000)).toBe(true);
  recording.unsubscribe();
  const delivered = recording.trace.length;
  return { rec: rec as RecordedRequest, recording, delivered };
}

describe('G6 cancelling frees the resource', () => {
  it('G6 unsubscribe closes the connection (seen by the server) mid-body, and delivers nothing more', async () => {
    const transfer = download(server.url('/bytes', { size: 50_000_000, chunk: 16_384, delay: 20 }), { progressInterval: 0 });
    const { rec, recording, delivered } = await unsubscribeMidway(transfer, '/bytes', (t) => t.length >= 2);
    expect(await within(rec.closedEarly, 3_000, 'still open')).toBe(true);
    await delay(200);
    expect(recording.trace.length).toBe(delivered);
    expect(recording.trace.every((n) => n.kind === 'next' && n.value.type === 'progress')).toBe(true);
  });

  it('G6 unsubscribe closes the connection while waiting for the head', async () => {
    const { rec, recording } = await unsubscribeMidway(download(server.url('/stall')), '/stall', () => true);
    expect(await within(rec.closedEarly, 3_000, 'still open')).toBe(true);
    await delay(100);
    expect(recording.trace).toEqual([]);
  });

  it('G6 unsubscribe aborts an upload (the server sees the body end early)', async () => {
    const size = 32 * 1024 * 1024;
    const transfer = upload(server.url('/upload', { read: 0 }), Buffer.alloc(size, 1), { progressInterval: 0 });
    const { rec, recording, delivered } = await unsubscribeMidway(transfer, '/upload', (t) => t.length >= 1);
    rec.release(); // a server that does not read cannot see the close: read what is buffered
    expect(await within(rec.closedEarly, 5_000, 'still open')).toBe(true);
    expect((await rec.bodyEnded).complete).toBe(false);
    expect(recording.trace.length).toBe(delivered);
  });

  it('G6 unsubscribe during a retry backoff sends no further attempt', async () => {
    const transfer = download(server.url('/bytes', { key: 'g6-backoff', fail: 5 }), { retry: { count: 5, baseDelay: 400, jitter: 0 } });
    const recording = recordTransfer(transfer);
    expect(await eventually(() => server.hits('g6-backoff') === 1, 5_000)).toBe(true);
    await delay(50);
    recording.unsubscribe();
    await delay(1_000);
    expect(server.hits('g6-backoff')).toBe(1);
    expect(recording.trace).toEqual([]);
  });

  it('G6 aborting signal ends in CancelledError and closes the connection', async () => {
    const controller = new AbortController();
    const requested = server.nextRequest('/bytes');
    const recording = recordTransfer(download(server.url('/bytes', { size: 50_000_000, chunk: 16_384, delay: 20 }), { signal: controller.signal }));
    const rec = (await within(requested, 5_000, undefined))!;
    expect(rec).toBeDefined();
    await delay(100);
    controller.abort();
    const trace = await within(recording.ended, 5_000, undefined);
    expect(trace).toBeDefined();
    const last = trace!.at(-1)!;
    expect(last.kind).toBe('error');
    expect(isCancelledError(last.kind === 'error' ? last.error : undefined)).toBe(true);
    expect(await within(rec.closedEarly, 3_000, 'still open')).toBe(true);
  });

  it('G6 an already aborted signal ends in CancelledError without a request', async () => {
    const before = server.requests.length;
    const run = await runTransfer(download(server.url('/bytes'), { signal: AbortSignal.abort() }));
    expect(isCancelledError(run.error)).toBe(true);
    await delay(50);
    expect(server.requests.length).toBe(before);
  });

  it('G6 aborting signal during a stalled upload closes the connection', async () => {
    const controller = new AbortController();
    const requested = server.nextRequest('/upload');
    const recording = recordTransfer(upload(server.url('/upload', { read: 0 }), Buffer.alloc(16 * 1024 * 1024, 2), { signal: controller.signal }));
    const rec = (await within(requested, 5_000, undefined))!;
    await delay(200);
    controller.abort();
    const trace = await within(recording.ended, 5_000, undefined);
    expect(isCancelledError(trace?.at(-1)?.kind === 'error' ? (trace.at(-1) as { error: unknown }).error : undefined)).toBe(true);
    rec.release();
    expect(await within(rec.closedEarly, 5_000, 'still open')).toBe(true);
  });
});

describe('G9 timeouts', () => {
  const phaseOf = (error: unknown) => (isTimeoutError(error) ? (error as TimeoutError).phase : `not a timeout: ${String(error)}`);

  it('G9 connect: a port whose accept queue is full ends in TimeoutError(connect)', async () => {
    const started = Date.now();
    const run = await runTransfer(download(blackhole.url, { timeout: { connect: 400 } }));
    expect(phaseOf(run.error)).toBe('connect');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('G9 connect: the connect timer does not fire once connected, even when the head is slow', async () => {
    const run = await runTransfer(download(server.url('/bytes', { size: 20_000, headDelay: 800 }), { timeout: { connect: 300, idle: 5_000 } }));
    expect(run.error).toBeUndefined();
  });

  it('G9 idle: a body that stalls mid-way ends in TimeoutError(idle)', async () => {
    const requested = server.nextRequest('/bytes');
    const run = await runTransfer(download(server.url('/bytes', { size: 100_000, stallAfter: 20_000 }), { timeout: { idle: 400 } }));
    expect(phaseOf(run.error)).toBe('idle');
    expect(await within((await requested).closedEarly, 3_000, 'still open')).toBe(true);
  });

  it('G9 idle: a server that never answers ends in TimeoutError(idle)', async () => {
    const run = await runTransfer(download(server.url('/stall'), { timeout: { idle: 400 } }));
    expect(phaseOf(run.error)).toBe('idle');
  });

  it('G9 idle: a slow drip that keeps moving is not idle', async () => {
    const run = await runTransfer(download(server.url('/bytes', { size: 12_000, chunk: 1_000, delay: 100 }), { timeout: { idle: 1_000 } }));
    expect(run.error).toBeUndefined();
  });

  it('G9 idle: a slow upload that keeps sending is not idle (idle resets on bytes either way)', async () => {
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 12; i++) {
        await delay(100);
        yield new Uint8Array(1_000).fill(i);
      }
    }
    const run = await runTransfer(upload(server.url('/upload'), slow(), { timeout: { idle: 700 }, responseType: 'json' }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toMatchObject({ bytes: 12_000 });
  });

  it('G9 idle: an upload the server stops reading ends in TimeoutError(idle)', async () => {
    const requested = server.nextRequest('/upload');
    const run = await runTransfer(upload(server.url('/upload', { read: 0 }), Buffer.alloc(32 * 1024 * 1024, 3), { timeout: { idle: 500 } }));
    expect(phaseOf(run.error)).toBe('idle');
    const rec = await requested;
    rec.release();
    expect(await within(rec.closedEarly, 5_000, 'still open')).toBe(true);
  });

  it('G9 total: a slow drip ends in TimeoutError(total)', async () => {
    const run = await runTransfer(download(server.url('/bytes', { size: 100_000, chunk: 1_000, delay: 50 }), { timeout: { total: 600, idle: 5_000 } }));
    expect(phaseOf(run.error)).toBe('total');
  });

  it('G9 total: a number as timeout is the total', async () => {
    const run = await runTransfer(download(server.url('/stall'), { timeout: 400 }));
    expect(phaseOf(run.error)).toBe('total');
  });
});

describe('G6 when the request may not go through rxtransfer\'s own socket layer', () => {
  // The Node transport normally aborts by destroying the ClientRequest it made for axios
  // (`config.transport`); whatever can take the request past that layer must get a signal instead.
  const bypass = (config: { transport?: unknown }) => {
    config.transport = http; // a request interceptor that routes the request past rxtransfer's layer
    return config;
  };

  it('G6 a caller\'s axios instance whose interceptor replaces the transport: unsubscribe still closes the connection', async () => {
    const instance = axios.create();
    instance.interceptors.request.use(bypass as never);
    const { rec } = await unsubscribeMidway(download(server.url('/stall'), { axios: instance }), '/stall', () => true);
    expect(await within(rec.closedEarly, 3_000, 'still open')).toBe(true);
  });

  it('G6 a response interceptor that throws after the head: the transfer errors and the connection is closed', async () => {
    const instance = axios.create();
    instance.interceptors.response.use(() => {
      throw new Error('rejected by the interceptor');
    });
    const requested = server.nextRequest('/bytes');
    const run = await runTransfer(download(server.url('/bytes', { size: 50_000_000, chunk: 16_384, delay: 20 }), { axios: instance }));
    expect((run.error as Error | undefined)?.message).toMatch(/rejected by the interceptor/);
    const rec = await within(requested, 5_000, undefined);
    expect(await within(rec!.closedEarly, 3_000, 'still open')).toBe(true);
  });

  it('G6 a request interceptor on axios\' default instance: unsubscribe still closes the connection', async () => {
    const id = axios.interceptors.request.use(bypass as never);
    try {
      const { rec } = await unsubscribeMidway(download(server.url('/stall')), '/stall', () => true);
      expect(await within(rec.closedEarly, 3_000, 'still open')).toBe(true);
    } finally {
      axios.interceptors.request.eject(id);
    }
  });

  it('G6 a transport that wraps the Node transport and gives it a signal of its own: aborting that signal closes the connection', async () => {
    const inner = axiosHttpTransport();
    const own = new AbortController();
    const wrapper: Transport = {
      name: 'wrapper',
      followsRedirects: false,
      streamsBodies: true,
      send: (request) => inner.send({ ...request, signal: AbortSignal.any([request.signal, own.signal]) }),
    };
    const requested = server.nextRequest('/stall');
    const run = runTransfer(download(server.url('/stall'), { transport: wrapper }));
    const rec = (await within(requested, 5_000, undefined)) as RecordedRequest;
    own.abort(new Error('the wrapper gave up'));
    expect(await within(rec.closedEarly, 3_000, 'still open')).toBe(true);
    expect((await run).error).toBeDefined();
  });
});

describe('G6 the upload source is released', () => {
  it('G6 unsubscribe after the head of an upload the server answers early: the source is closed too', async () => {
    const seen: string[] = [];
    const early = http.createServer((req, res) => {
      req.on('data', () => undefined);
      req.socket.once('close', () => seen.push('socket closed'));
      res.writeHead(200, { 'content-length': '100' });
      res.write('x');
    });
    await new Promise<void>((resolve) => early.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = early.address() as { port: number };
      let yielded = 0;
      async function* endless(): AsyncGenerator<Uint8Array> {
        try {
          for (let i = 0; i < 2_000; i++) {
            yielded++;
            yield new Uint8Array(1024);
            await delay(5);
          }
        } finally {
          seen.push('source closed');
        }
      }
      const recording = recordTransfer(upload(`http://127.0.0.1:${port}/u`, endless(), { method: 'PUT' }));
      expect(await eventually(() => recording.trace.some((n) => n.kind === 'next' && n.value.type === 'progress' && n.value.direction === 'download'), 5_000)).toBe(true);
      recording.unsubscribe();
      expect(await eventually(() => seen.includes('source closed') && seen.includes('socket closed'), 3_000)).toBe(true);
      expect(yielded).toBeLessThan(2_000);
    } finally {
      early.closeAllConnections();
      await new Promise((resolve) => early.close(resolve));
    }
  });
});

describe('G6 a custom transport whose response comes after the transfer ended', () => {
  /**
   * A transport that ignores the signal while it waits (as one wrapping a client that takes
   * none would): its `send` resolves with a real `node:http` response once `release()` is called.
   */
  function lateTransport(body: (res: http.IncomingMessage) => TransportResponse['body']) {
    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const transport: Transport = {
      name: 'late',
      followsRedirects: false,
      streamsBodies: false,
      send: (req) => new Promise<TransportResponse>((resolve, reject) => {
        http.get(req.url, (res) => {
          void released.then(() => resolve({ status: res.statusCode!, statusText: '', headers: {}, url: req.url, decoded: false, body: body(res) }));
        }).on('error', reject);
      }),
    };
    return { transport, release };
  }

  async function endless() {
    const seen: string[] = [];
    const srv = http.createServer((req, res) => {
      req.socket.once('close', () => seen.push('closed'));
      res.writeHead(200, { 'content-length': '100000000' });
      res.write('x');
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const close = async () => {
      srv.closeAllConnections();
      await new Promise((resolve) => srv.close(resolve));
    };
    return { url: `http://127.0.0.1:${(srv.address() as { port: number }).port}/x`, seen, close };
  }

  const bodies: Array<[string, (res: http.IncomingMessage) => TransportResponse['body']]> = [
    ['a Node stream', (res) => res],
    ['a web ReadableStream', (res) => Readable.toWeb(res) as unknown as TransportResponse['body']],
    ['an async generator that destroys the stream when left', (res) => (async function* () {
      try {
        for await (const chunk of res) yield chunk as Buffer;
      } finally {
        res.destroy();
      }
    })()],
  ];

  for (const end of ['unsubscribe', 'signal'] as const) {
    it.each(bodies)(`G6 its body is let go when it arrives after ${end === 'signal' ? 'a cancel through signal' : 'an unsubscribe'}: %s`, async (_label, body) => {
      const server = await endless();
      try {
        const { transport, release } = lateTransport(body);
        const controller = new AbortController();
        const recording = recordTransfer(download(server.url, { transport, signal: controller.signal, timeout: { idle: 60_000 } }));
        await delay(200);
        if (end === 'signal') controller.abort();
        else recording.unsubscribe();
        if (end === 'signal') expect(isCancelledError(await within(recording.ended.then((t) => (t.at(-1) as { error?: unknown }).error), 5_000, 'no end'))).toBe(true);
        release();
        expect(await eventually(() => server.seen.includes('closed'), 3_000)).toBe(true);
      } finally {
        await server.close();
      }
    });
  }
});
