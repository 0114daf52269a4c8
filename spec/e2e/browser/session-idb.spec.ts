/**
 * Sessions on the IndexedDB store in a real headless Chromium, across tabs, reloads and crashes
 * (S1, S2, S4, S8, S9). The page script is `session-page.ts`, served by `page-server.ts` on
 * 127.0.0.1. A second host name mapped to 127.0.0.1 (`INSECURE_HOST`) gives a page that is not a
 * secure context (no Web Locks API), as any plain-http site is.
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startPageServer, type PageServer } from './page-server';
import type { IdbPage } from './session-page';

const root = resolve(__dirname, '..', '..', '..');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const INSECURE_HOST = 'rxtransfer-insecure.example';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`];

async function bundle(): Promise<string> {
  const result = await build({ entryPoints: [join(__dirname, 'session-page.ts')], absWorkingDir: root, bundle: true, platform: 'browser', format: 'esm', target: 'chrome110', write: false, logLevel: 'silent' });
  return result.outputFiles[0]!.text;
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Calls `window.idb[name](...args)` in a tab, bounded. */
function call<K extends keyof IdbPage>(page: Page, name: K, ...args: Parameters<IdbPage[K]>): Promise<Awaited<ReturnType<IdbPage[K]>>> {
  const evaluated = page.evaluate(([n, a]) => (window.idb[n] as (...x: unknown[]) => unknown)(...(a as unknown[])), [name, args] as const);
  return within(evaluated as Promise<Awaited<ReturnType<IdbPage[K]>>>, 15_000, `idb.${name}`);
}

async function poll<T>(what: string, ms: number, get: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await get();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(value)})`);
    await sleep(50);
  }
}

describe('sessions on IndexedDB in headless Chromium: tabs, reloads, crashes', () => {
  let server: PageServer;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let secureOrigin: string;
  let insecureOrigin: string;
  let n = 0;
  // A download that runs for ~30 s and stays under the 64 KiB a browser session keeps (a larger
  // one fails at its head as too large): a task still running when the test reloads or crashes.
  const slow = (tag: string) => `${secureOrigin}/bytes?size=60000&chunk=100&delay=50&tag=${tag}`;
  const sessionId = () => `idb-e2e-${Date.now()}-${++n}`;

  async function tab(origin = secureOrigin): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${origin}/`, { waitUntil: 'load', timeout: 15_000 });
    await page.waitForFunction(() => window.idbReady === true, undefined, { timeout: 15_000 });
    return page;
  }

  async function reload(page: Page): Promise<void> {
    await page.reload({ waitUntil: 'load', timeout: 15_000 });
    await page.waitForFunction(() => window.idbReady === true, undefined, { timeout: 15_000 });
  }

  /** Crashes a tab's renderer (no unload, no IndexedDB close: as a killed tab). */
  async function crash(page: Page): Promise<void> {
    const crashed = new Promise<void>((r) => page.once('crash', () => r()));
    const cdp = await context.newCDPSession(page);
    void cdp.send('Page.crash').catch(() => undefined);
    await within(crashed, 10_000, 'tab crash');
  }

  beforeAll(async () => {
    if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}`);
    server = await startPageServer(bundle);
    secureOrigin = server.origin;
    insecureOrigin = server.origin.replace('127.0.0.1', INSECURE_HOST);
    browser = await within(chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 }), 40_000, 'launching Chromium');
    context = await browser.newContext();
  }, 60_000);

  afterEach(async () => {
    for (const page of context.pages()) await within(page.close({ runBeforeUnload: false }), 5_000, 'closing a tab').catch(() => undefined);
  });

  afterAll(async () => {
    await within(browser?.close() ?? Promise.resolve(), 15_000, 'closing Chromium').catch(() => undefined);
    await server?.close();
  }, 30_000);

  it('S8 a second tab opening the same session gets SessionLockedError', async () => {
    const id = sessionId();
    const [a, b] = [await tab(), await tab()];
    expect(await call(a, 'env')).toEqual({ secure: true, locks: true });
    expect((await call(a, 'open', id)).ok).toBe(true);
    expect(await call(b, 'open', id)).toMatchObject({ ok: false, error: { name: 'SessionLockedError' } });
    await call(a, 'close', id);
    expect((await call(b, 'open', id)).ok).toBe(true);
    await call(b, 'close', id);
  });

  it("S1 S8 the store's close() has let go of the session when it resolves: opening it again at once in the same tab is no SessionLockedError", async () => {
    const id = sessionId();
    const a = await tab();
    expect(await call(a, 'env')).toEqual({ secure: true, locks: true });
    expect(await call(a, 'reopenStore', id, 20)).toEqual([]);
  });

  it('S8 a crashed tab does not keep the session locked', async () => {
    const id = sessionId();
    const a = await tab();
    expect((await call(a, 'open', id)).ok).toBe(true);
    await crash(a);
    const b = await tab();
    const opened = await poll('open after the crash', 5_000, () => call(b, 'open', id), (r) => r.ok);
    expect(opened.ok).toBe(true);
    await call(b, 'close', id);
  });

  it('S1 S8 a reload reopens the session at once (the old page\'s lock is gone), reconnecting to its running task', async () => {
    const id = sessionId();
    const a = await tab();
    expect((await call(a, 'open', id)).ok).toBe(true);
    await call(a, 'add', id, slow(id), { id: 'drip' });
    for (let i = 0; i < 5; i++) {
      await reload(a);
      const again = await call(a, 'open', id);
      expect(again).toMatchObject({ ok: true, tasks: [{ id: 'drip', state: 'queued' }] });
    }
    await call(a, 'close', id);
  });

  it('S1 a page being unloaded stores nothing more: its aborted transfers are not recorded as failed, the next page runs them again', async () => {
    const id = sessionId();
    const a = await tab();
    expect((await call(a, 'open', id)).ok).toBe(true);
    await call(a, 'add', id, slow(id), { id: 'drip' });
    // Into the back/forward cache (persisted): the page may come back, the session goes on storing.
    await a.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
    expect(await call(a, 'add', id, slow(`${id}-2`), { id: 'second' })).toMatchObject({ id: 'second' });
    // Unloaded: what the session would record now (a task cut short by the page's end) is not stored.
    await a.evaluate(() => window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: false })));
    const refused = await call(a, 'add', id, `${secureOrigin}/bytes?size=10`, { id: 'late' }).then(
      () => 'stored',
      (error: Error) => error.message,
    );
    // Refused by the store, or by the session the store's refusal of a checkpoint already ended.
    expect(refused).toMatch(/the page is being unloaded|takes no new tasks/);
    await a.close();
    const b = await tab();
    const again = await within(call(b, 'open', id), 5_000, 'reopen');
    expect(again).toMatchObject({ ok: true });
    expect(again.tasks!.map((t) => [t.id, t.state]).sort()).toEqual([
      ['drip', 'queued'],
      ['second', 'queued'],
    ]);
    await call(b, 'close', id);
  });

  it('S2 a task whose add() resolved is there after the tab crashes right after', async () => {
    const id = sessionId();
    const a = await tab();
    expect((await call(a, 'open', id)).ok).toBe(true);
    await call(a, 'add', id, slow(id), { id: 'kept' });
    await crash(a);
    const b = await tab();
    const opened = await poll('open after the crash', 5_000, () => call(b, 'open', id), (r) => r.ok);
    expect(opened.tasks).toEqual([expect.objectContaining({ id: 'kept', state: 'queued', acked: false })]);
    await call(b, 'close', id);
  });

  it('S4 a completion no one acknowledged is delivered again after a reload, and never after its ack', async () => {
    const id = sessionId();
    const a = await tab();
    expect((await call(a, 'open', id)).ok).toBe(true);
    await call(a, 'add', id, `${secureOrigin}/bytes?size=1000`, { id: 'small' });
    await poll('completion', 10_000, () => call(a, 'state', id), (s) => s.completions.length === 1);
    await reload(a);
    expect((await call(a, 'open', id)).ok).toBe(true);
    expect((await call(a, 'state', id)).completions).toEqual([expect.objectContaining({ taskId: 'small', state: 'completed', size: 1000 })]);
    await call(a, 'ack', id, 'small');
    await reload(a);
    expect((await call(a, 'open', id)).ok).toBe(true);
    await sleep(300);
    expect((await call(a, 'state', id)).completions).toEqual([]);
    await call(a, 'close', id);
  });

  it('S8 on a plain-http page (no Web Locks), a second tab opening the same session gets SessionLockedError', async () => {
    const id = sessionId();
    const [a, b] = [await tab(insecureOrigin), await tab(insecureOrigin)];
    expect(await call(a, 'env')).toEqual({ secure: false, locks: false });
    expect((await call(a, 'open', id)).ok).toBe(true);
    const second = await call(b, 'open', id);
    if (second.ok) await call(b, 'close', id);
    await call(a, 'close', id);
    expect(second).toMatchObject({ ok: false, error: { name: 'SessionLockedError' } });
  });

  it('S4 S8 on a plain-http page, a second tab never undoes an acknowledged completion', async () => {
    const id = sessionId();
    const [a, b] = [await tab(insecureOrigin), await tab(insecureOrigin)];
    expect((await call(a, 'open', id)).ok).toBe(true);
    // A slow download (about 1.6 s): still running when the second tab opens.
    await call(a, 'add', id, `${insecureOrigin}/bytes?size=40000&chunk=1000&delay=40`, { id: 'slow' });
    await sleep(200);
    const second = await call(b, 'open', id);
    await poll('the first tab completes', 10_000, () => call(a, 'state', id), (s) => s.completions.length === 1);
    await call(a, 'ack', id, 'slow');
    // The second tab (if it could open) runs the same task and stores its own end over the ack.
    await sleep(2_500);
    if (second.ok) await call(b, 'close', id);
    await call(a, 'close', id);
    const c = await tab(insecureOrigin);
    const reopened = await call(c, 'open', id);
    await sleep(300);
    const state = await call(c, 'state', id);
    await call(c, 'close', id);
    expect(reopened.tasks).toEqual([expect.objectContaining({ id: 'slow', state: 'completed', acked: true })]);
    expect(state.completions).toEqual([]);
  });

  it('S8 on a plain-http page, two tabs opening the same session at the same moment: one owner, the other locked out or ended at once', async () => {
    const id = sessionId();
    const [a, b] = [await tab(insecureOrigin), await tab(insecureOrigin)];
    const [ra, rb] = await Promise.all([call(a, 'open', id), call(b, 'open', id)]);
    const tabs = [
      { page: a, r: ra },
      { page: b, r: rb },
    ].filter((t) => t.r.ok);
    expect(tabs.length).toBeGreaterThanOrEqual(1);
    for (const t of [ra, rb]) if (!t.ok) expect(t.error?.name).toBe('SessionLockedError');
    // Both opened (neither had taken it when the other asked): the first to take it ends at once.
    const alive = await poll('one owner left', 5_000, async () => (await Promise.all(tabs.map((t) => call(t.page, 'state', id)))).filter((s) => !s.invalidated).length, (count) => count === 1);
    expect(alive).toBe(1);
    for (const t of tabs) {
      const s = await call(t.page, 'state', id);
      if (s.invalidated) expect(s.invalidated).toMatchObject({ reason: 'store-failed', error: expect.stringMatching(/opened in another tab or window/) });
      await call(t.page, 'close', id);
    }
  });

  it('S9 a browser download given `to` (as on Node) keeps its body in the completion, or is refused when added', async () => {
    const id = sessionId();
    const a = await tab();
    expect((await call(a, 'open', id)).ok).toBe(true);
    const added = await call(a, 'add', id, `${secureOrigin}/bytes?size=1000`, { id: 'with-to', to: 'report.bin' }).then(
      () => 'added',
      (error: Error) => error.message,
    );
    if (added === 'added') {
      const s = await poll('completion', 10_000, () => call(a, 'state', id), (x) => x.completions.length === 1);
      await call(a, 'close', id);
      // Completed with neither a file nor the body: what was downloaded is gone.
      expect(s.completions[0]).toMatchObject({ state: 'completed', size: 1000, dataLength: expect.any(Number) });
    } else {
      await call(a, 'close', id);
      expect(added).toMatch(/`to`/);
    }
  });

  it('S4 a browser download keeps its response text whole when it fits, and says when it was cut', async () => {
    const id = sessionId();
    const a = await tab();
    expect((await call(a, 'open', id)).ok).toBe(true);
    await call(a, 'add', id, `${secureOrigin}/bytes?size=1000`, { id: 'fits' });
    await call(a, 'add', id, `${secureOrigin}/bytes?size=100000`, { id: 'big' });
    const s = await poll('completions', 10_000, () => call(a, 'state', id), (x) => x.completions.length === 2);
    await call(a, 'close', id);
    const byId = Object.fromEntries(s.completions.map((c) => [c.taskId, c]));
    expect(byId['fits']).toMatchObject({ state: 'completed', size: 1000 });
    expect(byId['fits']!.truncated).toBeUndefined();
    expect(byId['fits']!.dataLength).toBeGreaterThan(0);
    // The body is text decoded from bytes (the pattern is not UTF-8): cut at 65,536 characters, and marked.
    expect(byId['big']).toMatchObject({ state: 'completed', size: 100000, dataLength: 65536, truncated: true });
  });

  it("S9 a full storage quota is said so: Chromium's QuotaExceededError has an empty message, the session's errors name the quota, the session and its database", async () => {
    // Each step in a context of its own: Chromium applies a quota override to storage this origin
    // starts using after it, not to a database already in use.
    const contexts: BrowserContext[] = [];
    const fresh = async (quotaSize?: number) => {
      const own = await browser!.newContext();
      contexts.push(own);
      const page = await own.newPage();
      const cdp = await own.newCDPSession(page);
      if (quotaSize !== undefined) await cdp.send('Storage.overrideQuotaForOrigin', { origin: secureOrigin, quotaSize });
      await page.goto(`${secureOrigin}/`, { waitUntil: 'load', timeout: 15_000 });
      await page.waitForFunction(() => window.idbReady === true, undefined, { timeout: 15_000 });
      return { page, usage: async () => (await cdp.send('Storage.getUsageAndQuota', { origin: secureOrigin })).usage };
    };
    const quotaMessage = (id: string) => expect.stringMatching(new RegExp(`storage quota.*session "${id}".*"rxtransfer-session:${id}"`));
    try {
      // No room for the database: the open fails.
      const first = sessionId();
      const full = await fresh(1);
      expect(await call(full.page, 'open', first)).toEqual({ ok: false, error: { name: 'QuotaExceededError', message: quotaMessage(first) } });

      // Room for the database (what one takes, measured), not for a task of 256 KiB (random: not compressible).
      const measured = await fresh();
      const probe = sessionId();
      expect((await call(measured.page, 'open', probe)).ok).toBe(true);
      const room = (await measured.usage()) + 32 * 1024;
      await call(measured.page, 'close', probe);
      const tight = await fresh(room);
      const second = sessionId();
      expect((await call(tight.page, 'open', second)).ok).toBe(true);
      expect(await call(tight.page, 'tryAdd', second, `${secureOrigin}/bytes?size=10`, 256 * 1024)).toEqual({ ok: false, error: { name: 'QuotaExceededError', message: quotaMessage(second) } });
      await call(tight.page, 'close', second);
    } finally {
      for (const own of contexts) await within(own.close(), 10_000, 'closing a context').catch(() => undefined);
    }
  });

  it('S9 a relative URL is read against the page, as download() reads it, and stored absolute', async () => {
    const id = sessionId();
    const a = await tab();
    expect((await call(a, 'open', id)).ok).toBe(true);
    const added = await call(a, 'add', id, '/bytes?size=1000', { id: 'relative' });
    expect(added.url).toBe(`${secureOrigin}/bytes?size=1000`);
    const s = await poll('completion', 10_000, () => call(a, 'state', id), (x) => x.completions.length === 1);
    await call(a, 'close', id);
    expect(s.completions[0]).toMatchObject({ taskId: 'relative', state: 'completed', size: 1000 });
  });

});
