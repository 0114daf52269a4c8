import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import axios from 'axios';
import { firstValueFrom, take, toArray, timeout } from 'rxjs';
import type { Observable } from 'rxjs';
import { download, upload, resultOf, TransferSession, type Transport, type TransferError, type TransferEvent } from 'rxtransfer';
import { memorySessionStore } from '../../lib/internal/session/memory-store';
import { runTransfer } from '../helpers/fault-trace';

/** A loopback server whose handler the test sets; records every request's path and headers. */
interface Loop {
  readonly origin: string;
  readonly seen: Array<{ path: string; headers: IncomingHttpHeaders }>;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function loop(): Promise<Loop> {
  const seen: Loop['seen'] = [];
  const state: Loop = {
    origin: '',
    seen,
    handle: (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok'),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '/', headers: req.headers });
    req.resume();
    state.handle(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  (state as { origin: string }).origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

let a: Loop;
let b: Loop;
let dir: string;
const sessions: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  a = await loop();
  b = await loop();
  dir = await mkdtemp(join(tmpdir(), 'rx-sec-'));
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)));
  a.seen.length = 0;
  b.seen.length = 0;
});
afterAll(async () => {
  await a.close();
  await b.close();
  await rm(dir, { recursive: true, force: true });
});

const SECRET = 'TOPSECRET-k3y';

describe('security: session challenges (S7, G11)', () => {
  it('S7 G11 a header supplied by the challenge callback is not sent to another origin after a redirect', async () => {
    // A asks for a key; once it has it, A redirects to B (another origin: another port).
    a.handle = (req, res) => {
      if (req.headers['x-api-key'] !== SECRET) return void res.writeHead(401, { 'www-authenticate': 'ApiKey', 'content-length': '0' }).end();
      res.writeHead(302, { location: `${b.origin}/file`, 'content-length': '0' }).end();
    };
    b.handle = (_req, res) => res.writeHead(200, { 'content-length': '5' }).end('hello');
    const session = await TransferSession.open({ id: 'sec-1', store: memorySessionStore(), onChallenge: () => ({ type: 'headers', headers: { 'X-Api-Key': SECRET } }) });
    sessions.push(session);
    await session.download(`${a.origin}/file`, { to: join(dir, 's1'), id: 't' });
    const [done] = await firstValueFrom(session.completions$.pipe(take(1), toArray(), timeout(10_000)));
    expect(done!.state).toBe('completed');
    expect(a.seen.map((r) => r.headers['x-api-key'])).toEqual([undefined, SECRET]);
    expect(b.seen.map((r) => r.headers['x-api-key'])).toEqual([undefined]);
  });

  it("S7 G11 a 401 from another origin (after a redirect) is not answered with, nor attributed to, the task's origin", async () => {
    // A redirects to B; B challenges. The callback is told A's URL, its answer is filed under A,
    // and the replay sends it to A, which never asked for it.
    a.handle = (_req, res) => res.writeHead(302, { location: `${b.origin}/file`, 'content-length': '0' }).end();
    b.handle = (_req, res) => res.writeHead(401, { 'www-authenticate': 'Bearer realm="b"', 'content-length': '0' }).end();
    const asked: string[] = [];
    const session = await TransferSession.open({
      id: 'sec-2',
      store: memorySessionStore(),
      onChallenge: (challenge) => {
        asked.push(challenge.url);
        return { type: 'token', token: SECRET };
      },
    });
    sessions.push(session);
    await session.download(`${a.origin}/file`, { to: join(dir, 's2'), id: 't' });
    const [done] = await firstValueFrom(session.completions$.pipe(take(1), toArray(), timeout(10_000)));
    expect(done!.state).toBe('failed');
    // Whatever the callback is asked, it is never told that A challenged (A did not), and A never gets B's answer.
    expect(asked.every((url) => !url.startsWith(a.origin))).toBe(true);
    expect(a.seen.map((r) => r.headers.authorization)).not.toContain(`Bearer ${SECRET}`);
  });

  it("S7 G11 a 407's answer goes with the tasks of the origin that was challenged, not with every task", async () => {
    // A's requests meet a proxy asking for credentials (407); B's do not (NO_PROXY, or a direct
    // route): B is a server, and must never see the proxy's credentials.
    a.handle = (req, res) => {
      if (!req.headers['proxy-authorization']) return void res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"', 'content-length': '0' }).end();
      res.writeHead(200, { 'content-length': '2' }).end('ok');
    };
    b.handle = (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok');
    const asked: Array<[string, number]> = [];
    const session = await TransferSession.open({
      id: 'sec-3',
      store: memorySessionStore(),
      onChallenge: (challenge) => {
        asked.push([challenge.url, challenge.status]);
        return { type: 'credentials', username: 'me', password: SECRET };
      },
    });
    sessions.push(session);
    const proxyAuth = `Basic ${Buffer.from(`me:${SECRET}`).toString('base64')}`;
    await session.download(`${a.origin}/one`, { to: join(dir, 's3a'), id: 'a' });
    const [first] = await firstValueFrom(session.completions$.pipe(take(1), toArray(), timeout(10_000)));
    expect(first!.state).toBe('completed');
    await first!.ack();
    await session.download(`${b.origin}/two`, { to: join(dir, 's3b'), id: 'b' });
    await session.download(`${a.origin}/three`, { to: join(dir, 's3c'), id: 'c' });
    const rest = await firstValueFrom(session.completions$.pipe(take(2), toArray(), timeout(10_000)));
    expect(rest.map((c) => [c.taskId, c.state]).sort()).toEqual([['b', 'completed'], ['c', 'completed']]);
    expect(asked).toEqual([[`${a.origin}/one`, 407]]);
    expect(b.seen.map((r) => r.headers['proxy-authorization'])).toEqual([undefined]);
    // A's later task starts with the answer (no second challenge).
    expect(a.seen.map((r) => [r.path, r.headers['proxy-authorization']])).toEqual([['/one', undefined], ['/one', proxyAuth], ['/three', proxyAuth]]);
  });

  it('S7 a 407 met on the other origin of a redirect fails the task without asking', async () => {
    a.handle = (_req, res) => res.writeHead(302, { location: `${b.origin}/file`, 'content-length': '0' }).end();
    b.handle = (_req, res) => res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"', 'content-length': '0' }).end();
    const asked: string[] = [];
    const session = await TransferSession.open({
      id: 'sec-4',
      store: memorySessionStore(),
      onChallenge: (challenge) => {
        asked.push(challenge.url);
        return { type: 'credentials', username: 'me', password: SECRET };
      },
    });
    sessions.push(session);
    await session.download(`${a.origin}/file`, { to: join(dir, 's4'), id: 't' });
    const [done] = await firstValueFrom(session.completions$.pipe(take(1), toArray(), timeout(10_000)));
    expect(done!.state).toBe('failed');
    expect(done!.task.error?.status).toBe(407);
    expect(asked).toEqual([]);
    expect(a.seen).toHaveLength(1);
  });
});

describe('security: user-declared sensitive headers (G11)', () => {
  it('G11 headers named in sensitiveHeaders are dropped when a redirect leaves the origin, kept on the same origin', async () => {
    a.handle = (req, res) => {
      if (req.url === '/start') return void res.writeHead(302, { location: '/same', 'content-length': '0' }).end();
      res.writeHead(307, { location: `${b.origin}/there`, 'content-length': '0' }).end();
    };
    b.handle = (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok');
    const run = await runTransfer(download(`${a.origin}/start`, { headers: { 'X-Api-Key': SECRET, 'X-Trace': 'kept' }, sensitiveHeaders: ['x-api-key'] }), 10_000);
    expect(run.error).toBeUndefined();
    expect(a.seen.map((r) => r.headers['x-api-key'])).toEqual([SECRET, SECRET]);
    expect(b.seen.map((r) => [r.headers['x-api-key'], r.headers['x-trace']])).toEqual([[undefined, 'kept']]);
  });

  it("G11 sensitiveHeaders also withholds the user's axios instance's own (a default header, one an interceptor sets) past the first origin", async () => {
    const { default: axios } = await import('axios');
    a.handle = (_req, res) => res.writeHead(302, { location: `${b.origin}/there`, 'content-length': '0' }).end();
    b.handle = (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok');
    const instance = axios.create({ headers: { 'X-Api-Key': SECRET } });
    instance.interceptors.request.use((config) => {
      config.headers.set('X-Other-Key', SECRET);
      return config;
    });
    const run = await runTransfer(download(`${a.origin}/start`, { axios: instance, sensitiveHeaders: ['X-Api-Key', 'x-other-key'] }), 10_000);
    expect(run.error).toBeUndefined();
    expect(a.seen.map((r) => [r.headers['x-api-key'], r.headers['x-other-key']])).toEqual([[SECRET, SECRET]]);
    expect(b.seen.map((r) => [r.headers['x-api-key'], r.headers['x-other-key']])).toEqual([[undefined, undefined]]);
  });

  it("an Authorization header of the caller's own wins over the URL's user:password@ (as with curl); without one, the URL's are sent as Basic", async () => {
    a.handle = (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok');
    const withCredentials = new URL(`${a.origin}/auth`);
    withCredentials.username = 'me';
    withCredentials.password = SECRET;
    const given = await runTransfer(download(withCredentials.href, { headers: { authorization: 'Bearer own-token' } }), 10_000);
    expect(given.error).toBeUndefined();
    const sent = await runTransfer(upload(withCredentials.href, 'body', { method: 'PUT', headers: { Authorization: 'Bearer own-token' } }), 10_000);
    expect(sent.error).toBeUndefined();
    const basic = await runTransfer(download(withCredentials.href), 10_000);
    expect(basic.error).toBeUndefined();
    expect(a.seen.map((r) => r.headers.authorization)).toEqual(['Bearer own-token', 'Bearer own-token', `Basic ${Buffer.from(`me:${SECRET}`).toString('base64')}`]);
  });

  it('G8 sensitiveHeaders that are not header names are invalid', async () => {
    const run = await runTransfer(download(`${a.origin}/x`, { sensitiveHeaders: ['bad name'] }), 10_000);
    expect((run.error as TransferError).code).toBe('invalid');
  });
});

describe('security: credentials in errors', () => {
  const PASSWORD = 'PaSsW0rd-SECRET';
  const TOKEN = 'QueryTok-SECRET';
  const HEADER = 'Header-SECRET';
  const leaks = (error: unknown): string[] => {
    const e = error as Error & { cause?: unknown };
    const views = [e.message, e.stack ?? '', JSON.stringify(e), inspect(e, { depth: 20 }), String(e)];
    // The response's own headers (a Location that repeats the query) are the server's words, not ours.
    const own = { ...e, headers: undefined };
    const views2 = [e.message, e.stack ?? '', String(e), JSON.stringify(own), inspect({ ...own, message: e.message, stack: e.stack, cause: e.cause }, { depth: 20 })];
    return [PASSWORD, TOKEN, HEADER].filter((secret) => views2.some((v) => v.includes(secret)) || (secret !== TOKEN && views.some((v) => v.includes(secret))));
  };

  beforeEach(() => {
    a.handle = (req, res) => {
      const url = new URL(req.url ?? '/', a.origin);
      switch (url.pathname) {
        case '/404': return void res.writeHead(404, { 'content-type': 'text/plain', 'content-length': '9' }).end('not found');
        case '/ftp': return void res.writeHead(302, { location: 'ftp://example.invalid/x', 'content-length': '0' }).end();
        case '/loop': return void res.writeHead(302, { location: url.pathname + url.search, 'content-length': '0' }).end();
        case '/short': res.writeHead(200, { 'content-length': '100' }).write('abc', () => res.destroy()); return;
        case '/stall': return void res.writeHead(200, { 'content-length': '100' }).write('x');
        default: return void res.writeHead(200, { 'content-length': '2' }).end('ok');
      }
    };
  });

  const throwingAxios = (message: string) => {
    const instance = axios.create();
    instance.interceptors.request.use(() => {
      throw new Error(message);
    });
    return instance;
  };
  // A transport of the caller's own built on axios, failing as axios does: its error's own
  // `config`, `request` and `response` carry the URL and the headers sent, credentials and all.
  const axiosTransport = (): Transport => ({
    name: 'own-axios',
    followsRedirects: false,
    streamsBodies: false,
    send: async (req) => {
      await axios.get(req.url, { headers: req.headers, timeout: 5000 });
      throw new Error('unreachable: the server answers 404');
    },
  });
  const url = (path: string) => `http://user:${PASSWORD}@127.0.0.1:${new URL(a.origin).port}${path}?token=${TOKEN}`;
  const options = { headers: { Authorization: `Bearer ${HEADER}`, 'X-Api-Key': HEADER }, maxRedirects: 2 };

  it.each([
    ['404', () => download(url('/404'), options)],
    ['a refused redirect', () => download(url('/ftp'), options)],
    ['too many redirects', () => download(url('/loop'), options)],
    ['a truncated body', () => download(url('/short'), options)],
    ['an idle timeout', () => download(url('/stall'), { ...options, timeout: { idle: 200 } })],
    ['an integrity failure', () => download(url('/ok'), { ...options, integrity: 'sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' })],
    ['a refused connection', () => download(`http://user:${PASSWORD}@127.0.0.1:1/x?token=${TOKEN}`, options)],
    ['an invalid option', () => download(url('/ok'), { ...options, timeout: -1 })],
    ['an upload 404', () => upload(url('/404'), 'body', options)],
    ['a 404 through a transport of the caller\'s own that fails with an axios error', () => download(url('/404'), { ...options, transport: axiosTransport() })],
    ['a refused connection through a transport of the caller\'s own that fails with an axios error', () => download(`http://user:${PASSWORD}@127.0.0.1:1/x?token=${TOKEN}`, { ...options, transport: axiosTransport() })],
    // A password written into a URL with its `@` unencoded (valid: the last `@` ends the userinfo).
    ['an interceptor error naming a URL with userinfo', () => download(url('/ok'), { ...options, axios: throwingAxios(`token refresh failed at https://svc:p@${PASSWORD}@auth.example/token`) })],
  ])('no credential in any view of the error of %s', async (_what, make) => {
    const run = await runTransfer(make() as Observable<TransferEvent<unknown>>, 10_000);
    expect(run.error).toBeDefined();
    expect((run.error as TransferError).url).toBeDefined();
    expect(leaks(run.error)).toEqual([]);
  });
});

describe('security: symlinks at the target and its side files', () => {
  const BODY = 'the downloaded body';
  beforeEach(() => {
    a.handle = (req, res) => {
      if (req.headers.range) {
        // A resume: continue honestly from the offset asked.
        const start = Number(/bytes=(\d+)-/.exec(req.headers.range)![1]);
        return void res.writeHead(206, { etag: '"v1"', 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`, 'content-length': String(BODY.length - start) }).end(BODY.slice(start));
      }
      res.writeHead(200, { etag: '"v1"', 'content-length': String(BODY.length) }).end(BODY);
    };
  });

  let n = 0;
  async function setup(): Promise<{ to: string; victim: string }> {
    const d = join(dir, `links-${++n}`);
    await (await import('node:fs/promises')).mkdir(d);
    const victim = join(d, 'victim');
    await writeFile(victim, 'precious');
    return { to: join(d, 'out'), victim };
  }

  it.each([
    ['<to>', ''],
    ['<to>.partial', '.partial'],
    ['<to>.partial.json', '.partial.json'],
  ])('a symlink at %s is never written through (resume and not)', async (_what, suffix) => {
    for (const resume of [false, true]) {
      const { to, victim } = await setup();
      await symlink(victim, to + suffix);
      if (suffix === '.partial.json') {
        await writeFile(to + '.partial', 'the d');
      }
      const run = await runTransfer(download(`${a.origin}/f`, { to, resume }), 10_000);
      expect(run.error).toBeUndefined();
      expect(await readFile(victim, 'utf8')).toBe('precious');
      expect(await readFile(to, 'utf8')).toBe(BODY);
    }
  });

  it('a symlink at <to>.partial that points at a file with the right prefix is not continued into', async () => {
    const { to, victim } = await setup();
    await writeFile(victim, 'the d');
    await symlink(victim, to + '.partial');
    await writeFile(to + '.partial.json', JSON.stringify({ validator: '"v1"' }));
    const run = await runTransfer(download(`${a.origin}/f`, { to, resume: true }), 10_000);
    expect(run.error).toBeUndefined();
    expect(await readFile(victim, 'utf8')).toBe('the d');
    expect(await readFile(to, 'utf8')).toBe(BODY);
  });

  it('a failed download leaves no file at <to> and keeps a finished one there', async () => {
    const { to } = await setup();
    await writeFile(to, 'finished before');
    a.handle = (_req, res) => void res.writeHead(200, { 'content-length': '100', etag: '"v2"' }).write('partial', () => res.destroy());
    const run = await runTransfer(download(`${a.origin}/f`, { to, resume: true }), 10_000);
    expect(run.error).toBeDefined();
    expect(await readFile(to, 'utf8')).toBe('finished before');
    // Beside it, at most the side files of what arrived (kept to resume; none when nothing did).
    const names = (await readdir(join(to, '..'))).sort();
    expect(names.filter((name) => !['out.partial', 'out.partial.json'].includes(name))).toEqual(['out', 'victim']);
  });
});

describe('security: session files', () => {
  it('S9 a session directory (and the directories made for it) and its files are not readable by others', async () => {
    const { stat, readdir: list } = await import('node:fs/promises');
    const base = join(dir, 'home', 'deep');
    a.handle = (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok');
    const session = await TransferSession.open({ id: 'perm', directory: base });
    sessions.push(session);
    await session.download(`${a.origin}/x`, { to: join(dir, 'perm-out'), id: 't', headers: { Authorization: `Bearer ${SECRET}` } });
    await firstValueFrom(session.completions$.pipe(take(1), timeout(10_000)));
    const sessionDir = join(base, (await list(base))[0]!);
    for (const d of [base, sessionDir]) expect(((await stat(d)).mode & 0o077).toString(8)).toBe('0');
    for (const f of await list(sessionDir)) expect([f, ((await stat(join(sessionDir, f))).mode & 0o077).toString(8)]).toEqual([f, '0']);
  });
});

describe('security: proxies from the environment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it("G11 the proxy's credentials go to the proxy only: not to an origin reached directly after a redirect (NO_PROXY)", async () => {
    // The proxy (server A) answers the proxied request itself with a redirect to B, which NO_PROXY exempts.
    const bPort = new URL(b.origin).port;
    a.handle = (_req, res) => res.writeHead(302, { location: `${b.origin}/there`, 'content-length': '0' }).end();
    b.handle = (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok');
    process.env['HTTP_PROXY'] = `http://puser:${SECRET}@127.0.0.1:${new URL(a.origin).port}`;
    process.env['NO_PROXY'] = `127.0.0.1:${bPort}`;
    const run = await runTransfer(download('http://127.0.0.2:9/here', { headers: { Authorization: `Bearer ${SECRET}` } }), 10_000);
    expect(run.error).toBeUndefined();
    expect(a.seen[0]!.headers['proxy-authorization']).toBeDefined();
    expect(b.seen.map((r) => [r.headers['proxy-authorization'], r.headers.authorization])).toEqual([[undefined, undefined]]);
  });

  it("G11 a Proxy-Authorization of the user's axios instance (a default header, one an interceptor sets) does not reach another origin that no proxy stands before", async () => {
    a.handle = (_req, res) => res.writeHead(302, { location: `${b.origin}/there`, 'content-length': '0' }).end();
    b.handle = (_req, res) => res.writeHead(200, { 'content-length': '2' }).end('ok');
    const byDefault = axios.create({ headers: { 'Proxy-Authorization': `Basic ${SECRET}` } });
    const intercepted = axios.create();
    intercepted.interceptors.request.use((config) => {
      config.headers.set('Proxy-Authorization', `Basic ${SECRET}`);
      return config;
    });
    for (const instance of [byDefault, intercepted]) {
      const run = await runTransfer(download(`${a.origin}/here`, { axios: instance }), 10_000);
      expect(run.error).toBeUndefined();
    }
    expect(b.seen.map((r) => r.headers['proxy-authorization'])).toEqual([undefined, undefined]);
  });

  it("G11 a proxy that carries every hop still gets its credentials on a hop to another origin", async () => {
    // A is the proxy (HTTP_PROXY, with credentials): it answers the first origin's request with
    // a redirect to another origin, whose request it carries too.
    a.handle = (req, res) => {
      if (req.url === 'http://127.0.0.2:9/here') return void res.writeHead(302, { location: 'http://127.0.0.3:9/there', 'content-length': '0' }).end();
      res.writeHead(200, { 'content-length': '2' }).end('ok');
    };
    process.env['HTTP_PROXY'] = `http://puser:${SECRET}@127.0.0.1:${new URL(a.origin).port}`;
    delete process.env['NO_PROXY'];
    delete process.env['no_proxy'];
    const run = await runTransfer(download('http://127.0.0.2:9/here'), 10_000);
    expect(run.error).toBeUndefined();
    const proxyAuth = `Basic ${Buffer.from(`puser:${SECRET}`).toString('base64')}`;
    expect(a.seen.map((r) => [r.path, r.headers['proxy-authorization']])).toEqual([['http://127.0.0.2:9/here', proxyAuth], ['http://127.0.0.3:9/there', proxyAuth]]);
  });

  it('G11 an https URL through an http proxy is tunnelled (CONNECT): the proxy never sees its request headers in clear', async () => {
    const { createServer: plain } = await import('node:http');
    const seen: string[] = [];
    const proxy = plain((req, res) => {
      seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      res.writeHead(502, { 'content-length': '0' }).end();
    });
    proxy.on('connect', (req, socket) => {
      seen.push(`CONNECT ${req.url} ${JSON.stringify(req.headers)}`);
      socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      process.env['HTTPS_PROXY'] = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      await runTransfer(download('https://127.0.0.3:9/secret', { headers: { Authorization: `Bearer ${SECRET}` } }), 10_000);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.join('\n')).not.toContain(SECRET);
      expect(seen.every((line) => line.startsWith('CONNECT '))).toBe(true);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});

describe('security: a private file replaced by a download', () => {
  it('G5 the side file of a download that replaces a private file is private too, while it is written and when kept', async () => {
    const { writeFile: write, stat, chmod, mkdir } = await import('node:fs/promises');
    const d = join(dir, 'private');
    await mkdir(d);
    const to = join(d, 'secret.txt');
    await write(to, 'old secret');
    await chmod(to, 0o600);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    a.handle = (_req, res) => {
      res.writeHead(200, { 'content-length': '20', etag: '"p1"' });
      res.write('new secret', () => void held.then(() => res.destroy()));
    };
    const modes: string[] = [];
    const transfer = download(`${a.origin}/secret`, { to, resume: true, progressInterval: 0 });
    const ended = new Promise<unknown>((resolve) => {
      const sub = transfer.subscribe({
        next: (e) => {
          if (e.type === 'progress' && e.loaded >= 10 && modes.length === 0) {
            modes.push('pending');
            void stat(to + '.partial').then((s) => (modes[0] = (s.mode & 0o777).toString(8)), () => (modes[0] = 'none')).finally(release);
          }
        },
        error: resolve,
        complete: () => resolve(undefined),
      });
      setTimeout(() => (sub.unsubscribe(), release(), resolve('timeout')), 10_000).unref();
    });
    expect(await ended).toBeDefined();
    expect(modes[0]).toBe('600');
    expect(((await stat(to + '.partial')).mode & 0o777).toString(8)).toBe('600');
    expect(await readFile(to, 'utf8')).toBe('old secret');
  });
});

describe('security: rxtransfer get --content-disposition --force', () => {
  it('a private file replaced by a server-named download stays private', async () => {
    const { writeFile: write, stat, chmod, mkdir } = await import('node:fs/promises');
    const { PassThrough } = await import('node:stream');
    const { runGet } = await import('../../lib/cli/get-command');
    const d = join(dir, 'cd-force');
    await mkdir(d);
    await write(join(d, 'secret.txt'), 'old secret');
    await chmod(join(d, 'secret.txt'), 0o600);
    a.handle = (_req, res) => res.writeHead(200, { 'content-length': '10', 'content-disposition': 'attachment; filename="secret.txt"' }).end('new secret');
    const out = new PassThrough();
    const err = new PassThrough();
    out.resume();
    err.resume();
    const code = await runGet(`${a.origin}/x`, { output: d + '/', contentDisposition: true, force: true, quiet: true }, { stdout: out, stderr: err });
    expect(code).toBe(0);
    expect(await readFile(join(d, 'secret.txt'), 'utf8')).toBe('new secret');
    expect(((await stat(join(d, 'secret.txt'))).mode & 0o777).toString(8)).toBe('600');
  });
});

describe('a proxy from the environment (docs/transfers.md: the package axios takes it as axios does)', () => {
  it('HTTP_PROXY carries the request (the origin never resolved here), with its credentials for the origin kept out of the URL it asks for; NO_PROXY exempts a host', async () => {
    const asked: { url: string | undefined; authorization: string | undefined }[] = [];
    const proxy = createServer((req, res) => {
      asked.push({ url: req.url, authorization: req.headers.authorization });
      res.writeHead(200, { 'content-length': '7' }).end('proxied');
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const saved = { HTTP_PROXY: process.env['HTTP_PROXY'], NO_PROXY: process.env['NO_PROXY'] };
    try {
      process.env['HTTP_PROXY'] = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      process.env['NO_PROXY'] = '127.0.0.1';
      const result = await resultOf(download('http://user:pw@origin.invalid/file?x=1', { responseType: 'text', timeout: 5000 }));
      expect(result.data).toBe('proxied');
      expect(asked).toEqual([{ url: 'http://origin.invalid/file?x=1', authorization: `Basic ${Buffer.from('user:pw').toString('base64')}` }]);
      // NO_PROXY: straight to the origin.
      const origin = createServer((_req, res) => res.writeHead(200, { 'content-length': '6' }).end('direct'));
      await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
      try {
        expect((await resultOf(download(`http://127.0.0.1:${(origin.address() as AddressInfo).port}/file`, { responseType: 'text', timeout: 5000 }))).data).toBe('direct');
      } finally {
        await new Promise<void>((r) => origin.close(() => r()));
      }
      expect(asked).toHaveLength(1);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });
});
