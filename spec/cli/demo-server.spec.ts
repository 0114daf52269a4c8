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
