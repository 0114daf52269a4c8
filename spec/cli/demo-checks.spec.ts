/**
 * Review of `rxtransfer demo`: each step must report `ok` only for what it checked itself, and
 * the summary must not read "all ok" for a tour that did not run all its steps.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { DemoContext } from '../../lib/cli/demo-steps';
import type { DemoServer } from '../../lib/cli/demo-server';

/** A stream that keeps what is written to it. */
function collector(): Writable & { text(): string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return Object.assign(out, { text: () => text });
}

let dir: string;
let server: DemoServer | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rxtransfer-demo-review-'));
});
afterEach(async () => {
  jest.useRealTimers();
  jest.resetModules();
  jest.dontMock('../../lib/index.node');
  jest.dontMock('../../lib/cli/demo-steps');
  jest.dontMock('../../lib/cli/demo-resume');
  jest.dontMock('../../lib/cli/demo-eap');
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function context(signal: AbortSignal): Promise<DemoContext> {
  const { startDemoServer } = await import('../../lib/cli/demo-server');
  server = await startDemoServer();
  return { origin: server.origin, stats: server.stats, dir, out: collector(), bars: false, signal };
}

describe('rxtransfer demo: a step is ok only for what it checked', () => {
  it('cancel: a download stopped by the demo itself (safety timer, Ctrl-C) before 1 MiB is not "ok"', async () => {
    const { cancelStep } = await import('../../lib/cli/demo-steps');
    const ctx = await context(AbortSignal.timeout(150));
    const outcome = await cancelStep(ctx);
    // The step's own AbortSignal never fired: it did not show what its title says.
    expect(outcome.ok).toBe(false);
  }, 15_000);

  it('after the safety timer, the summary does not say "k of k ok" for a tour that ran k of 5 steps', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const okNow = (name: string) => jest.fn(async () => ({ step: name, ok: true, detail: 'fine' }));
    // A step still running when the safety timer fires, and that ends ok on the demo's signal
    // (as the real cancel step does, see above).
    const okOnAbort = (name: string) =>
      jest.fn(
        (ctx: DemoContext) =>
          new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ step: name, ok: true, detail: 'fine' }), { once: true })),
      );
    jest.doMock('../../lib/cli/demo-steps', () => ({
      ...jest.requireActual('../../lib/cli/demo-steps'),
      downloadStep: okNow('download'),
      uploadStep: okNow('upload'),
      cancelStep: okOnAbort('cancel'),
    }));
    jest.doMock('../../lib/cli/demo-resume', () => ({ resumeStep: okNow('session') }));
    jest.doMock('../../lib/cli/demo-eap', () => ({ eapStep: okNow('eap') }));
    const { runDemo, DEMO_SAFETY_MS } = await import('../../lib/cli/demo-command');
    const stdout = collector();
    const stderr = collector();
    const code = runDemo({}, { stdout, stderr });
    for (let i = 0; i < 5_000 && !stdout.text().includes('(3/5)'); i++) await new Promise((r) => setImmediate(r));
    expect(stdout.text()).toContain('(3/5)');
    await jest.advanceTimersByTimeAsync(DEMO_SAFETY_MS + 10);
    expect(await code).toBe(1);
    expect(stderr.text()).toContain('gave up');
    expect(stdout.text()).not.toMatch(/^(\d+) of \1 ok/m);
    expect(stdout.text()).toMatch(/^3 of 5 ok/m);
  }, 15_000);

  it('session: a task that fails before 40% ends the step at once, with its error (not after the 50 s safety timer)', async () => {
    const { resumeStep } = await import('../../lib/cli/demo-resume');
    const failing: Server = createServer((_req, res) => res.writeHead(404).end('gone'));
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    try {
      const stop = new AbortController();
      const timer = setTimeout(() => stop.abort(), 8_000);
      const ctx = { ...(await context(stop.signal)), origin: `http://127.0.0.1:${(failing.address() as AddressInfo).port}` };
      const started = Date.now();
      const outcome = await resumeStep(ctx);
      clearTimeout(timer);
      expect(outcome.ok).toBe(false);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(outcome.detail).toMatch(/404/);
    } finally {
      failing.closeAllConnections();
      await new Promise<void>((resolve) => failing.close(() => resolve()));
    }
  }, 20_000);

  it('eap: the summary says userState \'report\' only when the events carried it', async () => {
    jest.doMock('../../lib/index.node', () => {
      const actual = jest.requireActual('../../lib/index.node');
      // A component that loses userState: the step must not claim it.
      const toEap: typeof actual.toEap = (methods: Parameters<typeof actual.toEap>[0]) => {
        const client = actual.toEap(methods);
        const on = client.on.bind(client);
        return Object.assign(client, {
          on: (name: string, handler: (e: { userState: unknown }) => void) => on(name as never, ((e: object) => handler(new Proxy(e, { get: (t, p) => (p === 'userState' ? undefined : Reflect.get(t, p, t)) }) as never)) as never),
        });
      };
      return { ...actual, toEap };
    });
    const { eapStep } = await import('../../lib/cli/demo-eap');
    const ctx = await context(new AbortController().signal);
    const outcome = await eapStep(ctx);
    expect((ctx.out as ReturnType<typeof collector>).text()).toMatch(/userState=undefined/);
    expect(outcome.ok).toBe(false);
  }, 15_000);

  it('download: "checked against its sha256" means the library checked it (result.integrity), not only the demo afterwards', async () => {
    jest.doMock('../../lib/index.node', () => {
      const actual = jest.requireActual('../../lib/index.node');
      // A library that ignored `integrity`: the demo must not report the check.
      const download = (url: string, options: Record<string, unknown>) => actual.download(url, { ...options, integrity: undefined });
      return { ...actual, download };
    });
    const { downloadStep } = await import('../../lib/cli/demo-steps');
    const outcome = await downloadStep(await context(new AbortController().signal));
    expect(outcome.ok).toBe(false);
  }, 15_000);
});

describe('rxtransfer demo: what it tells the user to do next', () => {
  it('suggests a command that works where `npm start` ran it (a clone: rxtransfer is not on PATH, npx finds it)', async () => {
    jest.doMock('../../lib/cli/demo-steps', () => ({
      ...jest.requireActual('../../lib/cli/demo-steps'),
      downloadStep: async () => ({ step: 'download', ok: true, detail: '' }),
      uploadStep: async () => ({ step: 'upload', ok: true, detail: '' }),
      cancelStep: async () => ({ step: 'cancel', ok: true, detail: '' }),
    }));
    jest.doMock('../../lib/cli/demo-resume', () => ({ resumeStep: async () => ({ step: 'session', ok: true, detail: '' }) }));
    jest.doMock('../../lib/cli/demo-eap', () => ({ eapStep: async () => ({ step: 'eap', ok: true, detail: '' }) }));
    const { runDemo } = await import('../../lib/cli/demo-command');
    const stdout = collector();
    expect(await runDemo({}, { stdout, stderr: collector() })).toBe(0);
    expect(stdout.text()).toMatch(/^Next: `npx rxtransfer demo --web`/m);
  });
});
