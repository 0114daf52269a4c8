import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import axios from 'axios';
import { download, upload, isHttpStatusError, isTimeoutError, isTransferError, BODY_EXCERPT_LIMIT, type HttpStatusError, type TransferError } from 'rxtransfer';
import { startFaultServer, type FaultServer } from '../helpers/fault-server';
import { startTlsServer, type TlsServer } from '../helpers/fault-tls';
import { seededBytes, sha256Hex } from '../helpers/fault-bytes';
import { runTransfer } from '../helpers/fault-trace';

let server: FaultServer;
let tls: TlsServer;
beforeAll(async () => {
  server = await startFaultServer();
  tls = await startTlsServer();
});
afterAll(async () => {
  await tls.close();
  await server.close();
});

const headersSeenAt = (key: string) => server.requests.filter((r) => r.path === '/headers' && r.query.get('key') === key).map((r) => r.headers);
const credentials = { Authorization: 'Bearer TOPSECRET-token', Cookie: 'session=TOPSECRET-cookie', 'Proxy-Authorization': 'Basic TOPSECRET-proxy', 'X-Trace': 'kept' };

describe('G11 HTTP status errors', () => {
  it('G11 a 404 ends in HttpStatusError with status, headers and the body excerpt', async () => {
    const run = await runTransfer(download(server.url('/status/404', { body: 'no such thing here' })));
    expect(isHttpStatusError(run.error)).toBe(true);
    const error = run.error as HttpStatusError;
    expect(error.status).toBe(404);
    expect(error.code).toBe('http');
    expect(error.headers['content-type']).toBe('text/plain');
    expect(error.body).toBe('no such thing here');
    expect(error.message).toContain('404');
    expect(error.message).toContain(`127.0.0.1:${server.port}/status/404`);
  });

  it('G11 a large error body is kept only as a bounded excerpt', async () => {
    const run = await runTransfer(download(server.url('/status/500', { bodySize: 200_000 })));
    const error = run.error as HttpStatusError;
    expect(error.status).toBe(500);
    expect(error.body.length).toBeLessThanOrEqual(BODY_EXCERPT_LIMIT);
    expect(error.body.length).toBeGreaterThan(0);
  });

  it.each([400, 401, 403, 410, 418, 429, 500, 502, 503])('G11 status %i ends in HttpStatusError', async (status) => {
    const run = await runTransfer(download(server.url(`/status/${status}`)));
    expect((run.error as HttpStatusError).status).toBe(status);
  });

  it('G11 an upload answered 413 ends in HttpStatusError', async () => {
    const run = await runTransfer(upload(server.url('/status/413'), seededBytes(1, 100_000)));
    expect((run.error as HttpStatusError).status).toBe(413);
  });
});

describe('G11 redirects', () => {
  it('G11 follows a chain of redirects up to maxRedirects', async () => {
    const run = await runTransfer(download(server.url('/redirect/chain/5', { to: '/bytes?size=100&seed=3' }), { responseType: 'uint8array' }));
    expect(run.error).toBeUndefined();
    expect(sha256Hex(run.result!.data)).toBe(sha256Hex(seededBytes(3, 100)));
    expect(run.result!.url).toContain('/bytes?size=100');
  });

  it('G11 one redirect more than maxRedirects is an error', async () => {
    const run = await runTransfer(download(server.url('/redirect/chain/3', { to: '/bytes' }), { maxRedirects: 2 }));
    expect(isHttpStatusError(run.error)).toBe(true);
    expect((run.error as Error).message).toMatch(/redirect/);
  });

  it('G11 maxRedirects defaults to 5: a sixth redirect is an HttpStatusError with the redirect status (docs/transfers.md)', async () => {
    const run = await runTransfer(download(server.url('/redirect/chain/6', { to: '/bytes' })));
    expect(isHttpStatusError(run.error) && run.error.status).toBe(302);
    expect((run.error as Error).message).toMatch(/^too many redirects \(more than 5\)/);
  });

  it('G11 maxRedirects 0 refuses any redirect', async () => {
    const run = await runTransfer(download(server.url('/redirect', { to: '/bytes' }), { maxRedirects: 0 }));
    expect(isHttpStatusError(run.error)).toBe(true);
  });

  it('G11 a redirect loop ends in an error after a bounded number of requests', async () => {
    const before = server.requests.filter((r) => r.path === '/redirect/loop').length;
    const run = await runTransfer(download(server.url('/redirect/loop')));
    expect(isHttpStatusError(run.error)).toBe(true);
    const made = server.requests.filter((r) => r.path === '/redirect/loop').length - before;
    expect(made).toBe(6); // the first request and 5 redirects followed
  });

  it('G11 a cross-origin redirect drops Authorization, Cookie and Proxy-Authorization', async () => {
    const target = server.cross.url('/headers', { key: 'g11-cross' });
    const run = await runTransfer(download(server.url('/redirect', { to: target }), { headers: credentials, responseType: 'json' }));
    expect(run.error).toBeUndefined();
    const [seen] = headersSeenAt('g11-cross');
    expect(seen).toBeDefined();
    expect(seen!['authorization']).toBeUndefined();
    expect(seen!['cookie']).toBeUndefined();
    expect(seen!['proxy-authorization']).toBeUndefined();
    expect(seen!['x-trace']).toBe('kept');
    expect(server.requests.find((r) => r.query.get('key') === 'g11-cross')?.server).toBe('cross');
  });

  it('G11 credentials stay dropped when the chain comes back to the first origin', async () => {
    const back = server.url('/headers', { key: 'g11-back' });
    const via = server.cross.url('/redirect', { to: back });
    const run = await runTransfer(download(server.url('/redirect', { to: via }), { headers: credentials }));
    expect(run.error).toBeUndefined();
    const [seen] = headersSeenAt('g11-back');
    expect(seen!['authorization']).toBeUndefined();
    expect(seen!['cookie']).toBeUndefined();
  });

  it("G11 a cross-origin redirect sends none of the user's axios instance's default credentials", async () => {
    const instance = axios.create({ headers: { Authorization: 'Bearer TOPSECRET-default', Cookie: 'sid=TOPSECRET-default' } });
    const basic = axios.create({ auth: { username: 'user', password: 'TOPSECRET-basic' } });
    for (const [key, client] of [['g11-defaults', instance], ['g11-basic', basic]] as const) {
      const run = await runTransfer(download(server.url('/redirect', { to: server.cross.url('/headers', { key }) }), { axios: client, responseType: 'json' }));
      expect(run.error).toBeUndefined();
      const [seen] = headersSeenAt(key);
      expect(seen!['authorization']).toBeUndefined();
      expect(seen!['cookie']).toBeUndefined();
    }
    // On the first origin they are sent as the instance says.
    const run = await runTransfer(download(server.url('/headers', { key: 'g11-defaults-home' }), { axios: instance }));
    expect(run.error).toBeUndefined();
    expect(headersSeenAt('g11-defaults-home')[0]!['authorization']).toBe('Bearer TOPSECRET-default');
  });

  it('G11 an interceptor that sets Authorization on every request does not send it past a cross-origin redirect', async () => {
    const instance = axios.create();
    instance.interceptors.request.use((config) => {
      // Forced past anything set before (rewrite), and assigned directly.
      config.headers.set('Authorization', 'Bearer TOPSECRET-interceptor', true);
      (config.headers as unknown as Record<string, string>)['Cookie'] = 'sid=TOPSECRET-interceptor';
      return config;
    });
    const run = await runTransfer(download(server.url('/redirect', { to: server.cross.url('/headers', { key: 'g11-interceptor' }) }), { axios: instance }));
    expect(run.error).toBeUndefined();
    const [seen] = headersSeenAt('g11-interceptor');
    expect(seen!['authorization']).toBeUndefined();
    expect(seen!['cookie']).toBeUndefined();
    // Back on the first origin after leaving it, still none.
    const back = await runTransfer(download(server.url('/redirect', { to: server.cross.url('/redirect', { to: server.url('/headers', { key: 'g11-interceptor-back' }) }) }), { axios: instance }));
    expect(back.error).toBeUndefined();
    expect(headersSeenAt('g11-interceptor-back')[0]!['authorization']).toBeUndefined();
  });

  it('G11 axios defaults set globally are not sent past a cross-origin redirect either', async () => {
    axios.defaults.headers.common['Authorization'] = 'Bearer TOPSECRET-global';
    try {
      const run = await runTransfer(download(server.url('/redirect', { to: server.cross.url('/headers', { key: 'g11-global' }) })));
      expect(run.error).toBeUndefined();
      expect(headersSeenAt('g11-global')[0]!['authorization']).toBeUndefined();
      const home = await runTransfer(download(server.url('/headers', { key: 'g11-global-home' })));
      expect(home.error).toBeUndefined();
      expect(headersSeenAt('g11-global-home')[0]!['authorization']).toBe('Bearer TOPSECRET-global');
    } finally {
      delete axios.defaults.headers.common['Authorization'];
    }
  });

  it('G11 a same-origin redirect keeps the credentials', async () => {
    const run = await runTransfer(download(server.url('/redirect', { to: '/headers?key=g11-same' }), { headers: credentials }));
    expect(run.error).toBeUndefined();
    const [seen] = headersSeenAt('g11-same');
    expect(seen!['authorization']).toBe(credentials.Authorization);
    expect(seen!['cookie']).toBe(credentials.Cookie);
    expect(seen!['proxy-authorization']).toBe(credentials['Proxy-Authorization']);
  });

  it('G11 URL userinfo is not sent to another origin after a redirect', async () => {
    const target = server.cross.url('/headers', { key: 'g11-userinfo' });
    const url = server.url('/redirect', { to: target }).replace('http://', 'http://user:secret@');
    const run = await runTransfer(download(url));
    expect(run.error).toBeUndefined();
    expect(headersSeenAt('g11-userinfo')[0]!['authorization']).toBeUndefined();
  });

  it('G11 a redirect to file: is refused', async () => {
    const run = await runTransfer(download(server.url('/redirect', { to: 'file:///etc/passwd' }), { responseType: 'text' }));
    expect(isHttpStatusError(run.error)).toBe(true);
    expect((run.error as Error).message).toMatch(/file:/);
  });

  it('G11 a redirect to another non-http scheme is refused', async () => {
    const run = await runTransfer(download(server.url('/redirect', { to: 'ftp://127.0.0.1/x' })));
    expect(isTransferError(run.error)).toBe(true);
  });

  it('G11 a redirect from https to http is refused (self-signed loopback TLS)', async () => {
    const http = server.url('/headers', { key: 'g11-downgrade' });
    const instance = axios.create({ httpsAgent: tls.agent });
    const ok = await runTransfer(download(tls.url('/hello'), { axios: instance, responseType: 'text' }));
    expect(ok.result?.data).toBe('hello over tls');
    const run = await runTransfer(download(tls.url(`/redirect?to=${encodeURIComponent(http)}`), { axios: instance, headers: credentials }));
    expect(isHttpStatusError(run.error)).toBe(true);
    expect((run.error as Error).message).toMatch(/https to http/);
    expect(headersSeenAt('g11-downgrade')).toEqual([]);
  });

  it('G11 a 307 redirect resends an upload with its method and body', async () => {
    const body = seededBytes(21, 300_000);
    const run = await runTransfer(upload(server.url('/redirect', { status: 307, to: '/upload' }), body, { method: 'PUT', responseType: 'json' }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toEqual({ bytes: 300_000, sha256: sha256Hex(body), method: 'PUT' });
  });

  it('G11 a 303 redirect after a POST becomes a GET without a body', async () => {
    const run = await runTransfer(upload(server.url('/redirect', { status: 303, to: '/upload' }), 'form data', { responseType: 'json' }));
    expect(run.result!.data).toEqual(expect.objectContaining({ bytes: 0, method: 'GET' }));
  });
});

describe('G11 redirects: the connection of a redirect', () => {
  /**
   * A server that counts its connections: `/moved?body=N` answers 302 to `/dest` with a body of N
   * bytes (`stall=1`: declares it, sends none of it), `/dest` answers 200 'ok'.
   */
  async function countingServer() {
    const sockets = new Set<import('node:net').Socket>();
    let connections = 0;
    const seen: Array<{ path: string; connection: number }> = [];
    const ids = new WeakMap<object, number>();
    const srv = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({ path: url.pathname, connection: ids.get(req.socket) ?? -1 });
      if (url.pathname === '/moved') {
        const size = Number(url.searchParams.get('body') ?? '0');
        res.writeHead(302, { location: '/dest', 'content-type': 'text/plain', 'content-length': String(size) });
        if (url.searchParams.get('stall') === '1') return void res.flushHeaders();
        return void res.end('r'.repeat(size));
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
    });
    srv.on('connection', (socket) => {
      ids.set(socket, ++connections);
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as AddressInfo).port;
    return {
      url: (path: string) => `http://127.0.0.1:${port}${path}`,
      seen,
      connections: () => connections,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => srv.close(() => resolve()));
      },
    };
  }

  it('G11 a redirect with a small body is read to its end: the next hop goes on the same kept-alive connection', async () => {
    const counting = await countingServer();
    try {
      // Through axios' default instance, and through one of the caller's (aborted by a signal, not directly).
      for (const [size, client] of [[0, undefined], [40, undefined], [4096, undefined], [40, axios.create()]] as const) {
        const before = counting.connections();
        const run = await runTransfer(download(counting.url(`/moved?body=${size}`), { responseType: 'text', ...(client ? { axios: client } : {}) }));
        expect(run.error).toBeUndefined();
        expect(run.result!.data).toBe('ok');
        const [moved, dest] = counting.seen.slice(-2);
        expect([moved!.path, dest!.path]).toEqual(['/moved', '/dest']);
        expect(dest!.connection).toBe(moved!.connection);
        expect(counting.connections() - before).toBeLessThanOrEqual(1);
      }
    } finally {
      await counting.close();
    }
  });

  it('G11 a redirect with a large body, or one that does not come, is not waited for: its connection is closed and the redirect followed', async () => {
    const counting = await countingServer();
    try {
      const large = await runTransfer(download(counting.url('/moved?body=1000000'), { responseType: 'text' }));
      expect(large.result?.data).toBe('ok');
      const [moved, dest] = counting.seen.slice(-2);
      expect(dest!.connection).not.toBe(moved!.connection);
      const began = performance.now();
      const stalled = await runTransfer(download(counting.url('/moved?body=100&stall=1'), { responseType: 'text', timeout: { idle: 5_000 } }));
      expect(stalled.result?.data).toBe('ok');
      expect(performance.now() - began).toBeLessThan(2_500);
    } finally {
      await counting.close();
    }
  });
});

describe('G11 retries', () => {
  it('G11 retries a 503 and then succeeds, counting attempts', async () => {
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-503', fail: 2, size: 1000, seed: 4 }), { retry: { count: 3, baseDelay: 20 }, responseType: 'uint8array' }));
    expect(run.error).toBeUndefined();
    expect(server.hits('r-503')).toBe(3);
    expect(sha256Hex(run.result!.data)).toBe(sha256Hex(seededBytes(4, 1000)));
    expect(run.progress.at(-1)!.attempt).toBe(3);
  });

  it('G11 retries a network error (reset) and then succeeds', async () => {
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-reset', fail: 1, failWith: 'reset' }), { retry: { count: 2, baseDelay: 20 } }));
    expect(run.error).toBeUndefined();
    expect(server.hits('r-reset')).toBe(2);
  });

  it('G11 retries an attempt that went idle, closing the stalled connection', async () => {
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-idle', fail: 1, failWith: 'stall', size: 5_000 }), { retry: { count: 1, baseDelay: 10 }, timeout: { idle: 400 } }));
    expect(run.error).toBeUndefined();
    const [first] = server.requests.filter((r) => r.query.get('key') === 'r-idle');
    expect(await first!.closedEarly).toBe(true);
    expect(server.hits('r-idle')).toBe(2);
  });

  it('G11 gives up after the retry count with the last error', async () => {
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-count', fail: 10 }), { retry: { count: 2, baseDelay: 10 } }));
    expect((run.error as HttpStatusError).status).toBe(503);
    expect(server.hits('r-count')).toBe(3);
  });

  it('G11 does not retry a 404', async () => {
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-404', fail: 1, failWith: '404' }), { retry: { count: 3, baseDelay: 10 } }));
    expect((run.error as HttpStatusError).status).toBe(404);
    expect(server.hits('r-404')).toBe(1);
  });

  it('G11 honours Retry-After in seconds', async () => {
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-after', fail: 1, retryAfter: 1 }), { retry: { count: 1, baseDelay: 1, jitter: 0 } }));
    expect(run.error).toBeUndefined();
    const [first, second] = server.requests.filter((r) => r.query.get('key') === 'r-after');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
  });

  it('G11 honours Retry-After as an HTTP date', async () => {
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-date', fail: 1, retryAfter: 'date:2' }), { retry: { count: 1, baseDelay: 1, jitter: 0 } }));
    expect(run.error).toBeUndefined();
    const [first, second] = server.requests.filter((r) => r.query.get('key') === 'r-date');
    // An HTTP date has whole seconds: "in 2 s" is between 1 and 2 s away.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(900);
  });

  it('G11 a Retry-After beyond maxRetryAfter ends the transfer instead of waiting', async () => {
    const started = Date.now();
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-long', fail: 1, retryAfter: 3600 }), { retry: { count: 1, maxRetryAfter: 5_000 } }));
    expect((run.error as HttpStatusError).status).toBe(503);
    expect(server.hits('r-long')).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('G11 a POST is not retried unless retry.unsafeMethods', async () => {
    const run = await runTransfer(upload(server.url('/upload', { key: 'r-post', fail: 1 }), 'payload', { retry: { count: 3, baseDelay: 10 } }));
    expect((run.error as HttpStatusError).status).toBe(503);
    expect(server.hits('r-post')).toBe(1);
    const allowed = await runTransfer(upload(server.url('/upload', { key: 'r-post-ok', fail: 1 }), 'payload', { retry: { count: 3, baseDelay: 10, unsafeMethods: true }, responseType: 'json' }));
    expect(allowed.error).toBeUndefined();
    expect(server.hits('r-post-ok')).toBe(2);
    expect(allowed.result!.data).toMatchObject({ bytes: 7 });
  });

  it('G11 a POST whose connection was refused is retried: the server never saw it (a reset after connecting is not)', async () => {
    // A port nothing listens on until the first attempt has been refused.
    const late = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => void (bytes += chunk.length));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes })));
    });
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const refusals: string[] = [];
    try {
      const shouldRetry = (error: TransferError) => {
        refusals.push(String((error as { errno?: string }).errno));
        if (!late.listening) late.listen(port, '127.0.0.1');
        return true;
      };
      const run = await runTransfer(upload(`http://127.0.0.1:${port}/up`, 'payload', { retry: { count: 3, baseDelay: 200, jitter: 0, shouldRetry }, responseType: 'json' }));
      expect(run.error).toBeUndefined();
      expect(refusals).toEqual(['ECONNREFUSED']);
      expect(run.result!.data).toEqual({ bytes: 7 });
    } finally {
      if (late.listening) await new Promise<void>((resolve) => late.close(() => resolve()));
    }
    const reset = await runTransfer(upload(server.url('/upload', { key: 'r-post-reset', fail: 1, failWith: 'reset' }), 'payload', { retry: { count: 3, baseDelay: 10 } }));
    expect(isTransferError(reset.error) && reset.error.code).toBe('network');
    expect(server.hits('r-post-reset')).toBe(1);
  });

  it('G11 a PUT upload is retried with its whole body', async () => {
    const body = seededBytes(22, 500_000);
    const run = await runTransfer(upload(server.url('/upload', { key: 'r-put', fail: 1 }), body, { method: 'PUT', retry: { count: 1, baseDelay: 10 }, responseType: 'json' }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toMatchObject({ bytes: 500_000, sha256: sha256Hex(body) });
  });

  it('G11 never retries past the total timeout: a Retry-After that would end after it stops at once', async () => {
    const started = Date.now();
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-total', fail: 5, retryAfter: 2 }), { retry: { count: 5, baseDelay: 1 }, timeout: { total: 1_000 } }));
    expect(isHttpStatusError(run.error)).toBe(true);
    expect(server.hits('r-total')).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_900);
  });

  it('G11 never retries past the total timeout: retries stop when the time is up', async () => {
    const run = await runTransfer(download(server.url('/bytes', { key: 'r-total-2', fail: 1000 }), { retry: { count: 1000, baseDelay: 100, maxDelay: 100, jitter: 0 }, timeout: { total: 1_500 } }));
    expect(isHttpStatusError(run.error) || isTimeoutError(run.error)).toBe(true);
    const hits = server.hits('r-total-2');
    expect(hits).toBeGreaterThan(1);
    expect(hits).toBeLessThanOrEqual(16); // at most one attempt per 100 ms backoff
    const last = server.requests.filter((r) => r.query.get('key') === 'r-total-2').at(-1)!;
    const first = server.requests.find((r) => r.query.get('key') === 'r-total-2')!;
    // Server-side times: the last attempt left before the deadline; its arrival may lag by a few ms.
    expect(last.at - first.at).toBeLessThan(1_600);
  });
});

describe('G11 credentials never appear in errors', () => {
  const secretFree = (error: unknown, secret: string) => {
    expect(isTransferError(error)).toBe(true);
    const e = error as TransferError;
    expect(e.message).not.toContain(secret);
    expect(String(e.url)).not.toContain(secret);
    expect(JSON.stringify(e)).not.toContain(secret);
    expect(inspect(e, { depth: 6 })).not.toContain(secret);
    expect(String(e.stack)).not.toContain(secret);
  };

  it('G11 URL userinfo is not in the result of a success', async () => {
    const url = server.url('/bytes', { size: 10 }).replace('http://', 'http://user:secret@');
    const run = await runTransfer(download(url));
    expect(run.error).toBeUndefined();
    expect(JSON.stringify({ ...run.result, data: undefined })).not.toContain('secret');
  });

  it('G11 URL userinfo is not in the message of a 404', async () => {
    const url = server.url('/status/404').replace('http://', 'http://user:secret@');
    const run = await runTransfer(download(url));
    expect((run.error as HttpStatusError).status).toBe(404);
    secretFree(run.error, 'secret');
    expect((run.error as Error).message).toContain(`127.0.0.1:${server.port}/status/404`);
  });

  const failures: Array<[string, () => string, { timeout?: { idle: number } }]> = [
    ['a 404', () => server.url('/status/404'), {}],
    ['a reset', () => server.url('/reset'), {}],
    ['a refused connection', () => 'http://127.0.0.1:1/x', {}],
    ['an idle timeout', () => server.url('/stall'), { timeout: { idle: 300 } }],
    ['a truncated body', () => server.url('/bytes', { size: 100_000, cut: 1000 }), {}],
    ['a refused redirect', () => server.url('/redirect', { to: 'file:///etc/passwd' }), {}],
  ];
  it.each(failures)('G11 an Authorization header value never appears in the error of %s', async (_name, url, options) => {
    const withUser = url().replace('http://', 'http://user:pw-TOPSECRET@');
    const run = await runTransfer(download(withUser, { ...options, headers: credentials }));
    secretFree(run.error, 'TOPSECRET');
  });
});
