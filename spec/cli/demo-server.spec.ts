/**
 * The demo's embedded server (`lib/cli/demo-server.ts`): any page the browser opens can reach it
 * on 127.0.0.1 while `demo --web` runs, so what a request names must not reach the process's objects.
 */
import { request } from 'node:http';
import { startDemoServer, type DemoServer } from '../../lib/cli/demo-server';

let server: DemoServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('rxtransfer demo server: ids from the query', () => {
  it('an id such as __proto__ or constructor is recorded like any other, and Object.prototype is untouched', async () => {
    server = await startDemoServer();
    try {
      for (const id of ['__proto__', 'constructor', 'toString']) {
        const got = await fetch(`${server.origin}/api/bytes?size=10&id=${id}`);
        expect(got.status).toBe(200);
        expect((await got.arrayBuffer()).byteLength).toBe(10);
        const up = await fetch(`${server.origin}/api/upload?id=${id}`, { method: 'PUT', body: 'abc' });
        expect(await up.json()).toMatchObject({ id, received: 3 });
      }
      const probe = {} as Record<string, unknown>;
      for (const key of ['requests', 'sent', 'complete', 'closedEarly', 'received']) expect(probe[key]).toBeUndefined();
      const stats = (await (await fetch(`${server.origin}/api/stats`)).json()) as { downloads: Record<string, unknown>; uploads: Record<string, unknown> };
      for (const id of ['__proto__', 'constructor', 'toString']) {
        expect(Object.getOwnPropertyDescriptor(stats.downloads, id)?.value).toMatchObject({ id, requests: 1, sent: 10, complete: true });
        expect(Object.getOwnPropertyDescriptor(stats.uploads, id)?.value).toMatchObject({ id, received: 3, complete: true });
      }
    } finally {
      // Whatever the server did, later tests get a clean Object.prototype.
      for (const key of ['requests', 'sent', 'complete', 'closedEarly', 'rangeStart']) delete (Object.prototype as Record<string, unknown>)[key];
    }
  });
});

describe('rxtransfer demo server: what a page elsewhere can make it do', () => {
  it('answers only requests for 127.0.0.1 or localhost (a rebound DNS name is refused with 421)', async () => {
    server = await startDemoServer();
    const port = new URL(server.origin).port;
    const statusFor = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/api/stats', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject).end();
      });
    expect(await statusFor(`127.0.0.1:${port}`)).toBe(200);
    expect(await statusFor(`localhost:${port}`)).toBe(200);
    expect(await statusFor(`rebound.example:${port}`)).toBe(421);
    expect(await statusFor('127.0.0.1')).toBe(421);
  });
});

describe('rxtransfer demo server: numbers from the query', () => {
  it.each(['abc', '-1', '1.5', '1e3', '', ' 10', '0x10', String(256 * 1024 * 1024 + 1), '9'.repeat(30)])(
    'size=%j is answered 400 with a short text saying so (it was served as 1 MiB, 0 or 256 MiB), and nothing is recorded',
    async (size) => {
      server = await startDemoServer();
      const got = await fetch(`${server.origin}/api/bytes?size=${encodeURIComponent(size)}&id=bad`);
      expect(got.status).toBe(400);
      expect(got.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await got.text();
      expect(text).toMatch(/^size must be a whole number from 0 to 268435456, got ".*"\n$/);
      expect(text.length).toBeLessThan(120);
      expect(server.stats.downloads['bad']).toBeUndefined();
    },
  );

  it('a bad delay is answered 400 too, for a download and an upload; good numbers (0, the most, none: 1 MiB) are taken', async () => {
    server = await startDemoServer();
    const bytes = await fetch(`${server.origin}/api/bytes?size=10&delay=soon`);
    expect([bytes.status, await bytes.text()]).toEqual([400, 'delay must be a whole number from 0 to 1000, got "soon"\n']);
    const up = await fetch(`${server.origin}/api/upload?id=u&delay=-5`, { method: 'PUT', body: 'abc' });
    expect([up.status, await up.text()]).toEqual([400, 'delay must be a whole number from 0 to 1000, got "-5"\n']);
    expect(server.stats.uploads['u']).toBeUndefined();
    for (const size of ['0', '10']) {
      const ok = await fetch(`${server.origin}/api/bytes?size=${size}&delay=1000`);
      expect([ok.status, (await ok.arrayBuffer()).byteLength]).toEqual([200, Number(size)]);
    }
    const byDefault = await fetch(`${server.origin}/api/bytes`);
    expect([byDefault.status, (await byDefault.arrayBuffer()).byteLength]).toEqual([200, 1024 * 1024]);
  });
});
