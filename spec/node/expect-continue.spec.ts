import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import http from 'node:http';
import { Readable } from 'node:stream';
import axios from 'axios';
import { upload, isHttpStatusError, isTransferError, type HttpStatusError, type TransferError } from 'rxtransfer';
import { runTransfer, eventually } from '../helpers/fault-trace';

/**
 * `Expect: 100-continue` (UploadOptions.expectContinue) against real node:http servers on
 * 127.0.0.1: a server that refuses an upload at its head (as nginx does for a body over
 * `client_max_body_size`, or a missing credential) says so before any of the body is sent.
 */

const MiB = 1024 * 1024;

interface Seen {
  method: string;
  url: string;
  expect: string | undefined;
  /** Body bytes the server read for this request. */
  received: number;
}

interface TestServer {
  url(path: string): string;
  seen: Seen[];
  /** Connections open now. */
  openConnections(): number;
  close(): Promise<void>;
}

/**
 * A server that reads and counts every body it is sent, answering 200 with the count; `refuse`
 * answers a request with `Expect: 100-continue` at its head (before any 100), or returns
 * undefined to let it continue. `ignoreExpect` neither continues nor refuses: it waits for the body.
 */
async function startServer(options: { refuse?: (req: IncomingMessage, res: ServerResponse) => boolean; ignoreExpect?: boolean } = {}): Promise<TestServer> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const record = (req: IncomingMessage): Seen => {
    const entry: Seen = { method: req.method ?? '', url: req.url ?? '', expect: req.headers.expect, received: 0 };
    seen.push(entry);
    req.on('data', (chunk: Buffer) => void (entry.received += chunk.length));
    return entry;
  };
  const answer = (req: IncomingMessage, res: ServerResponse, entry: Seen) => {
    req.on('end', () => {
      if (req.url === '/hold') {
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('held'), 1_500);
        return;
      }
      if (req.url?.startsWith('/moved')) {
        res.writeHead(307, { location: '/up' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(String(entry.received));
    });
  };
  const server: Server = createServer((req, res) => answer(req, res, record(req)));
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const entry = record(req);
    if (options.refuse?.(req, res)) return;
    if (!options.ignoreExpect) res.writeContinue();
    answer(req, res, entry);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    seen,
    openConnections: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A one-shot body of `size` bytes that records whether it was read and whether it was closed. */
function trackedStream(size: number): { stream: Readable; read: () => number; closed: () => boolean } {
  let read = 0;
  let closed = false;
  let left = size;
  const stream = new Readable({
    read() {
      const n = Math.min(left, 256 * 1024);
      left -= n;
      read += n;
      this.push(n === 0 ? null : Buffer.alloc(n, 1));
    },
  });
  stream.on('close', () => (closed = true));
  return { stream, read: () => read, closed: () => closed };
}

const refuseWith = (status: number, headers: Record<string, string> = {}) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(`refused with ${status}`);
  return true;
};

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('Expect: 100-continue', () => {
  it('a 413 at the head of a large upload is an HttpStatusError, with none of the body sent (it was EPIPE, retried)', async () => {
    server = await startServer({ refuse: refuseWith(413) });
    const run = await runTransfer(upload(server.url('/up'), Buffer.alloc(8 * MiB, 1), { method: 'PUT', retry: 2, progressInterval: 0 }));
    expect(isHttpStatusError(run.error)).toBe(true);
    expect((run.error as HttpStatusError).status).toBe(413);
    expect((run.error as HttpStatusError).body).toBe('refused with 413');
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0]).toMatchObject({ expect: '100-continue', received: 0 });
    expect(run.progress.filter((p) => p.direction === 'upload' && p.loaded > 0)).toEqual([]);
  });

  it('a 401 to a one-shot stream body: the stream is never read, and it is closed', async () => {
    server = await startServer({ refuse: refuseWith(401, { 'www-authenticate': 'Bearer' }) });
    const body = trackedStream(4 * MiB);
    const run = await runTransfer(upload(server.url('/up'), body.stream, { method: 'POST' }));
    expect((run.error as HttpStatusError).status).toBe(401);
    expect(server.seen[0]).toMatchObject({ expect: '100-continue', received: 0 });
    expect(body.read()).toBe(0);
    expect(await eventually(body.closed, 2_000)).toBe(true);
  });

  it('a 2xx at the head: done claims no bytes sent, and the next upload does not find them on a kept connection', async () => {
    let answered = 0;
    const storeAtHead = (_req: IncomingMessage, res: ServerResponse) => {
      if (answered++ > 0) return false;
      res.writeHead(201, { 'content-type': 'text/plain' }).end('stored');
      return true;
    };
    server = await startServer({ refuse: storeAtHead });
    const early = await runTransfer(upload(server.url('/up'), Buffer.alloc(4 * MiB, 2), { method: 'PUT' }));
    expect(early.error).toBeUndefined();
    expect(early.result).toMatchObject({ status: 201, data: 'stored', sent: 0 });
    const next = await runTransfer(upload(server.url('/up'), Buffer.alloc(3 * MiB, 3), { method: 'PUT' }));
    expect(next.error).toBeUndefined();
    expect(next.result!.data).toBe(String(3 * MiB));
    // Two requests seen, no stray bytes of the first body read as a third.
    expect(server.seen.map((s) => [s.method, s.url, s.received])).toEqual([
      ['PUT', '/up', 0],
      ['PUT', '/up', 3 * MiB],
    ]);
  });

  it('a 307 at the head: the body goes once, to where it was sent', async () => {
    server = await startServer({ refuse: (req, res) => req.url === '/moved' && (res.writeHead(307, { location: '/up' }).end(), true) });
    const run = await runTransfer(upload(server.url('/moved'), Buffer.alloc(2 * MiB, 4), { method: 'PUT', progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe(String(2 * MiB));
    expect(server.seen.map((s) => [s.url, s.received])).toEqual([
      ['/moved', 0],
      ['/up', 2 * MiB],
    ]);
    const uploads = run.progress.filter((p) => p.direction === 'upload').map((p) => p.loaded);
    expect(uploads).toEqual([...uploads].sort((a, b) => a - b));
    expect(uploads.at(-1)).toBe(2 * MiB);
  });

  it('a 307 at the head to a one-shot stream body, none of it read: followed, the stream sent once, to where it was sent', async () => {
    server = await startServer({ refuse: (req, res) => req.url === '/moved' && (res.writeHead(307, { location: '/up' }).end(), true) });
    const body = trackedStream(3 * MiB);
    const run = await runTransfer(upload(server.url('/moved'), body.stream, { method: 'POST', progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe(String(3 * MiB));
    expect(server.seen.map((s) => [s.method, s.url, s.received])).toEqual([
      ['POST', '/moved', 0],
      ['POST', '/up', 3 * MiB],
    ]);
    expect(body.read()).toBe(3 * MiB);
  });

  it('a 303 at the head to a one-shot stream body, none of it read: the GET it leads to goes without it, and the stream is closed unread', async () => {
    server = await startServer({ refuse: (req, res) => req.url === '/moved' && (res.writeHead(303, { location: '/up' }).end(), true) });
    const body = trackedStream(3 * MiB);
    const run = await runTransfer(upload(server.url('/moved'), body.stream, { method: 'POST' }));
    expect(run.error).toBeUndefined();
    expect(server.seen.map((s) => [s.method, s.url, s.received])).toEqual([
      ['POST', '/moved', 0],
      ['GET', '/up', 0],
    ]);
    expect(body.read()).toBe(0);
    expect(await eventually(body.closed, 2_000)).toBe(true);
  });

  it("a 303 at the head (the POST-redirect-GET pattern): done's `sent` is the bytes that went out (none), not the body's size", async () => {
    server = await startServer({ refuse: (req, res) => req.url === '/moved' && (res.writeHead(303, { location: '/up' }).end(), true) });
    for (const body of [Buffer.alloc(3 * MiB, 5), trackedStream(3 * MiB).stream]) {
      const run = await runTransfer(upload(server.url('/moved'), body, { method: 'POST' }));
      expect(run.error).toBeUndefined();
      expect(run.result).toMatchObject({ status: 200, sent: 0 });
      expect(run.progress.filter((p) => p.direction === 'upload' && p.loaded > 0)).toEqual([]);
    }
    expect(server.seen.map((s) => [s.method, s.url, s.received])).toEqual([
      ['POST', '/moved', 0],
      ['GET', '/up', 0],
      ['POST', '/moved', 0],
      ['GET', '/up', 0],
    ]);
  });

  it('a 303 at the head to a one-shot stream body, none of it read: the stream is closed as the GET goes, not held open until that ends', async () => {
    server = await startServer({ refuse: (req, res) => req.url === '/moved' && (res.writeHead(303, { location: '/hold' }).end(), true) });
    const body = trackedStream(3 * MiB);
    // /hold answers 1.5 s after its request.
    const running = runTransfer(upload(server.url('/moved'), body.stream, { method: 'POST' }));
    expect(await eventually(() => server!.seen.length === 2, 1_000)).toBe(true);
    expect(await eventually(body.closed, 1_000)).toBe(true);
    expect(body.read()).toBe(0);
    const run = await running;
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe('held');
  });

  it('a 503 (Retry-After: 0) at the head to a one-shot async iterable, none of it read: retried with the same body', async () => {
    let refused = 0;
    server = await startServer({ refuse: (_req, res) => refused++ === 0 && (res.writeHead(503, { 'retry-after': '0', 'content-type': 'text/plain' }).end('busy'), true) });
    let pulled = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 8; i++) {
        pulled++;
        yield new Uint8Array(256 * 1024).fill(i);
      }
    }
    const run = await runTransfer(upload(server.url('/up'), source(), { method: 'PUT', retry: { count: 2, baseDelay: 1 }, progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe(String(2 * MiB));
    expect(server.seen.map((s) => [s.expect, s.received])).toEqual([
      ['100-continue', 0],
      ['100-continue', 2 * MiB],
    ]);
    expect(pulled).toBe(8);
    const uploads = run.progress.filter((p) => p.direction === 'upload');
    expect(uploads.at(-1)).toMatchObject({ loaded: 2 * MiB, attempt: 2 });
  });

  it.each([
    ['a 307', 307, /cannot follow a 307 redirect with a one-shot stream body/],
    ['a 503', 503, /HTTP 503/],
  ])('%s after some of a one-shot stream was read (no 100, the wait ran out): not resent, the typed error', async (_name, status, message) => {
    // No 100: the body goes once the wait (half the idle limit) runs out; the server answers at its first bytes.
    server = await startServer({
      refuse: (req, res) => {
        req.once('data', () => res.writeHead(status, { location: '/up', 'retry-after': '0', 'content-type': 'text/plain' }).end('not now'));
        return true;
      },
    });
    const body = trackedStream(4 * MiB);
    const run = await runTransfer(upload(server.url('/moved'), body.stream, { method: 'PUT', retry: { count: 2, baseDelay: 1 }, timeout: { idle: 400 } }));
    expect(isHttpStatusError(run.error)).toBe(true);
    expect((run.error as HttpStatusError).status).toBe(status);
    expect((run.error as HttpStatusError).message).toMatch(message);
    expect(server.seen).toHaveLength(1);
    expect(body.read()).toBeGreaterThan(0);
    expect(await eventually(body.closed, 2_000)).toBe(true);
  });

  it('a 401 at the head to a one-shot stream nobody retries: its excerpt is kept and the unread stream is closed', async () => {
    server = await startServer({ refuse: refuseWith(401, { 'www-authenticate': 'Bearer' }) });
    const body = trackedStream(4 * MiB);
    const run = await runTransfer(upload(server.url('/up'), body.stream, { method: 'PUT', retry: 2 }));
    expect((run.error as HttpStatusError).status).toBe(401);
    expect((run.error as HttpStatusError).body).toBe('refused with 401');
    expect(server.seen).toHaveLength(1);
    expect(body.read()).toBe(0);
    expect(await eventually(body.closed, 2_000)).toBe(true);
  });

  it('a one-shot stream given back at the head (503) that breaks during the retry delay: the local invalid error, no request sent with it', async () => {
    let refused = 0;
    server = await startServer({ refuse: (_req, res) => refused++ === 0 && (res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/plain' }).end('busy'), true) });
    const body = trackedStream(3 * MiB);
    // The caller's source fails on its own while it waits (a proxied request whose client went away).
    const breaking = setTimeout(() => body.stream.destroy(new Error('the client went away')), 300);
    try {
      const run = await runTransfer(upload(server.url('/up'), body.stream, { method: 'PUT', retry: { count: 2, baseDelay: 1 } }));
      expect(isTransferError(run.error)).toBe(true);
      expect((run.error as TransferError).code).toBe('invalid');
      expect((run.error as TransferError).message).toMatch(/cannot send the request body: the client went away/);
      expect(server.seen).toHaveLength(1);
      expect(body.read()).toBe(0);
    } finally {
      clearTimeout(breaking);
    }
  });

  it('417: asked again once without the expectation, with the same one-shot stream, read once', async () => {
    server = await startServer({ refuse: refuseWith(417) });
    const body = trackedStream(3 * MiB);
    const run = await runTransfer(upload(server.url('/up'), body.stream, { method: 'PUT', progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe(String(3 * MiB));
    expect(run.result!.sent).toBe(3 * MiB);
    expect(server.seen.map((s) => [s.expect, s.received])).toEqual([
      ['100-continue', 0],
      [undefined, 3 * MiB],
    ]);
    expect(body.read()).toBe(3 * MiB);
    expect(run.progress.filter((p) => p.direction === 'upload').at(-1)).toMatchObject({ loaded: 3 * MiB, attempt: 1 });
  });

  it('a server that ignores the expectation gets the body after the wait (about 1 s)', async () => {
    server = await startServer({ ignoreExpect: true });
    const began = performance.now();
    const run = await runTransfer(upload(server.url('/up'), Buffer.alloc(2 * MiB, 5), { method: 'PUT' }));
    const took = performance.now() - began;
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe(String(2 * MiB));
    // The wait is what makes this pass at all (the server never sends 100); its length is loose.
    expect(took).toBeGreaterThanOrEqual(900);
  });

  it('with an idle timeout under 2 s the wait is half of it: a server that ignores the expectation is no idle timeout', async () => {
    server = await startServer({ ignoreExpect: true });
    const run = await runTransfer(upload(server.url('/up'), Buffer.alloc(2 * MiB, 6), { method: 'PUT', timeout: { idle: 600 } }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe(String(2 * MiB));
    // The caller's own header waits no longer.
    const own = await runTransfer(upload(server.url('/up'), Buffer.alloc(10, 6), { method: 'PUT', timeout: { idle: 600 }, headers: { Expect: '100-continue' } }));
    expect(own.error).toBeUndefined();
    expect(own.result!.data).toBe('10');
  });

  it('by default: bodies over 1 MiB and of unknown size expect it, smaller ones do not; the option overrides either way', async () => {
    server = await startServer();
    const send = async (body: Parameters<typeof upload>[1], options: Parameters<typeof upload>[2] = {}) => {
      const run = await runTransfer(upload(server!.url('/up'), body, { method: 'PUT', ...options }));
      expect(run.error).toBeUndefined();
      return server!.seen.at(-1)!;
    };
    expect((await send(Buffer.alloc(MiB, 1))).expect).toBeUndefined();
    expect((await send(Buffer.alloc(MiB + 1, 1))).expect).toBe('100-continue');
    expect((await send(trackedStream(1000).stream)).expect).toBe('100-continue');
    expect((await send(Buffer.alloc(10, 1), { expectContinue: true })).expect).toBe('100-continue');
    expect((await send(Buffer.alloc(2 * MiB, 1), { expectContinue: false })).expect).toBeUndefined();
    // The caller's own header is sent as given, once, and the body waits for the 100 all the same.
    const own = await send(Buffer.alloc(10, 1), { headers: { expect: '100-Continue' }, expectContinue: false });
    expect(own).toMatchObject({ expect: '100-Continue', received: 10 });
    // An empty one asks for none (curl's -H 'Expect:'): it was sent as it was, and refused with 417.
    expect(await send(Buffer.alloc(2 * MiB, 1), { headers: { Expect: ' ' } })).toMatchObject({ expect: undefined, received: 2 * MiB });
    expect(server.seen.every((s) => s.received > 0)).toBe(true);
  });

  it("the caller's own Expect header and a refusal: the body is not sent", async () => {
    server = await startServer({ refuse: refuseWith(413) });
    const run = await runTransfer(upload(server.url('/up'), Buffer.alloc(100, 1), { method: 'PUT', headers: { Expect: '100-continue' } }));
    expect((run.error as HttpStatusError).status).toBe(413);
    expect(server.seen).toEqual([expect.objectContaining({ received: 0 })]);
  });

  it('unsubscribing while the body waits for the 100 closes the connection and the source', async () => {
    server = await startServer({ ignoreExpect: true });
    const body = trackedStream(4 * MiB);
    const subscription = upload(server.url('/up'), body.stream, { method: 'PUT' }).subscribe();
    expect(await eventually(() => server!.seen.length === 1, 2_000)).toBe(true);
    subscription.unsubscribe();
    expect(await eventually(body.closed, 2_000)).toBe(true);
    expect(body.read()).toBe(0);
    expect(await eventually(() => server!.openConnections() === 0, 2_000)).toBe(true);
    expect(server.seen[0]!.received).toBe(0);
  });

  it.each([['yes'], [1], [null]])('expectContinue %p is invalid', async (value) => {
    const run = await runTransfer(upload('http://127.0.0.1:9/up', 'x', { expectContinue: value as never }));
    expect(isTransferError(run.error)).toBe(true);
    expect((run.error as TransferError).code).toBe('invalid');
    expect((run.error as TransferError).message).toContain('expectContinue');
  });
});

describe('Expect: 100-continue: bodies and requests that wait', () => {
  it('417 with a web ReadableStream body (a fetch() response body): asked again with the same stream, read once', async () => {
    server = await startServer({ refuse: refuseWith(417) });
    let pulls = 0;
    const total = 2 * MiB;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls * 256 * 1024 >= total) return controller.close();
        pulls++;
        controller.enqueue(new Uint8Array(256 * 1024).fill(7));
      },
    });
    // An async iterable on Node (its reader is taken, the stream locked, once iterated).
    const run = await runTransfer(upload(server.url('/up'), stream as unknown as AsyncIterable<Uint8Array>, { method: 'PUT', progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe(String(total));
    expect(server.seen.map((s) => [s.expect, s.received])).toEqual([
      ['100-continue', 0],
      [undefined, total],
    ]);
  });

  it('a request that waits over 1 s for a socket (the agent at its maxSockets) still waits for the 100 once connected', async () => {
    server = await startServer({ refuse: refuseWith(413) });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const instance = axios.create({ httpAgent: agent });
      // The only socket is held for 1.5 s by a GET the server answers late: the upload queued
      // behind it must not have spent its wait for the 100 in the queue, then sent its body with its head.
      const held = instance.get(server.url('/hold')).catch(() => undefined);
      const run = await runTransfer(upload(server.url('/up'), Buffer.alloc(4 * MiB, 1), { method: 'PUT', axios: instance, progressInterval: 0 }));
      await held;
      expect((run.error as HttpStatusError | undefined)?.status).toBe(413);
      expect(server.seen.find((s) => s.url === '/up')).toMatchObject({ expect: '100-continue', received: 0 });
      expect(run.progress.filter((p) => p.direction === 'upload' && p.loaded > 0)).toEqual([]);
    } finally {
      agent.destroy();
    }
  });
});
