/**
 * The browser demo page (`docs/demo/`) in a real headless Chromium, served by the real
 * `rxtransfer demo --web` (a child process). Checks what a user would see, and what the server
 * saw: a download reaching 100% with the right bytes, an upload's bytes arriving, a cancel
 * closing the connection, animation-frame delivery, EAP events. Screenshots of the finished
 * page go to spec/.output/demo.png, and to docs/demo/screenshot.png (the README's) when that is
 * missing or RXTRANSFER_UPDATE_SCREENSHOT=1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { patternBody } from '../../../lib/cli/demo-server';
import { killAllClis, removeCliEntry } from '../../helpers/cli-run';
import { demoStats, startDemoWeb, untilStats, within, type DemoWeb } from './demo-web';

const root = resolve(__dirname, '..', '..', '..');
const outputDir = join(root, 'spec', '.output');
const readmeShot = join(root, 'docs', 'demo', 'screenshot.png');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MiB = 1024 * 1024;

describe('rxtransfer demo --web in headless Chromium', () => {
  let cwd: string;
  let demo: DemoWeb | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  const state = (card: string) => page.locator(`#${card}-card`).getAttribute('data-state');
  const untilState = (card: string, wanted: string, ms = 20_000) =>
    page.waitForFunction(([c, w]) => document.getElementById(`${c}-card`)?.dataset['state'] === w, [card, wanted] as const, { timeout: ms });
  const barValue = (id: string) => page.locator(`#${id}`).evaluate((el) => (el as HTMLProgressElement).value);

  beforeAll(async () => {
    if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    cwd = mkdtempSync(join(tmpdir(), 'rxtransfer-demo-web-'));
    demo = await startDemoWeb(cwd);
    browser = await within(chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 }), 40_000, 'launching Chromium');
    page = await browser.newPage({ viewport: { width: 1120, height: 760 } });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
    await page.goto(`${demo.origin}/`, { waitUntil: 'load', timeout: 20_000 });
    await page.waitForFunction(() => document.body.dataset['ready'] === 'true', undefined, { timeout: 20_000 });
  }, 90_000);

  afterAll(async () => {
    try {
      await within(browser?.close() ?? Promise.resolve(), 15_000, 'closing Chromium').catch(() => undefined);
      if (demo) {
        demo.run.child.kill('SIGTERM');
        await within(demo.run.exited, 10_000, 'demo --web to stop').catch(() => undefined);
      }
    } finally {
      killAllClis();
      removeCliEntry();
      if (cwd) rmSync(cwd, { recursive: true, force: true });
    }
  }, 40_000);

  it('an upload picked in the page arrives at the server, every byte', async () => {
    const bytes = randomBytes(3 * MiB + 17);
    await page.setInputFiles('#upload-file', { name: 'photo.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await untilState('upload', 'done');
    const id = await page.locator('#upload-card').getAttribute('data-upload-id');
    expect(await barValue('upload-bar')).toBe(100);
    const stats = await demoStats(demo!.origin);
    expect(stats.uploads[id!]).toMatchObject({ received: bytes.length, complete: true, aborted: false, sha256: createHash('sha256').update(bytes).digest('hex') });
    expect(await page.locator('#upload-status').textContent()).toContain('the server received 3.00 MiB');
  });

  it('cancel closes the connection: the server sees it close before the body ends', async () => {
    await page.selectOption('#download-size', String(64 * MiB));
    await page.click('#download-start');
    await page.waitForFunction(() => (document.getElementById('download-bar') as HTMLProgressElement).value > 0, undefined, { timeout: 20_000 });
    const id = await page.locator('#download-card').getAttribute('data-download-id');
    await page.click('#download-cancel');
    await untilState('download', 'cancelled', 5_000);
    const stats = await untilStats(demo!.origin, (s) => s.downloads[id!]?.closedEarly === true, 5_000, 'the server to see the connection close');
    expect(stats.downloads[id!]).toMatchObject({ complete: false, requests: 1 });
    expect(stats.downloads[id!]!.sent).toBeLessThan(64 * MiB);
  });

  it('a download started again while the last one is still being checked is not shown done by that check', async () => {
    await page.selectOption('#download-size', String(4 * MiB));
    const seen = await page.evaluate(
      (big) =>
        new Promise<{ states: string[]; idAtRestart?: string; idAfter?: string }>((resolve) => {
          const card = document.getElementById('download-card')!;
          const start = document.getElementById('download-start') as HTMLButtonElement;
          const out: { states: string[]; idAtRestart?: string; idAfter?: string } = { states: [] };
          let restarted = false;
          new MutationObserver(() => {
            if (restarted) out.states.push(card.dataset['state'] ?? '');
          }).observe(card, { attributes: true, attributeFilter: ['data-state'] });
          // The first download completes (Start is enabled again) before its bytes are checked:
          // the next one starts at once, as a quick second click would.
          const watch = new MutationObserver(() => {
            if (restarted || start.disabled) return;
            restarted = true;
            watch.disconnect();
            (document.getElementById('download-size') as HTMLSelectElement).value = String(big);
            start.click();
            out.idAtRestart = card.dataset['downloadId'];
            setTimeout(() => {
              out.idAfter = card.dataset['downloadId'];
              resolve(out);
            }, 1_500);
          });
          watch.observe(start, { attributes: true, attributeFilter: ['disabled'] });
          start.click();
        }),
      64 * MiB,
    );
    // 64 MiB at 64 KiB every 8 ms takes over 8 s: still running.
    expect(seen.states.filter((s) => s !== 'running')).toEqual([]);
    expect(seen.idAfter).toBe(seen.idAtRestart);
    expect(await state('download')).toBe('running');
    await page.click('#download-cancel');
    await untilState('download', 'cancelled', 5_000);
  });

  it('a download reaches 100% and its bytes are right (checked in the page, and against the server)', async () => {
    await page.selectOption('#download-size', String(4 * MiB));
    await page.click('#download-start');
    await untilState('download', 'done');
    expect(await barValue('download-bar')).toBe(100);
    const card = page.locator('#download-card');
    expect(await card.getAttribute('data-verified')).toBe('true');
    expect(await card.getAttribute('data-sha256')).toBe(patternBody(4 * MiB).sha256);
    const id = await card.getAttribute('data-download-id');
    expect((await demoStats(demo!.origin)).downloads[id!]).toMatchObject({ complete: true, closedEarly: false, sent: 4 * MiB });
  });

  it('the same transfer delivered through an animation-frame context', async () => {
    await page.click('#frames-start');
    await untilState('frames', 'done');
    const card = page.locator('#frames-card');
    expect(await card.getAttribute('data-in-context')).toBe('true');
    expect(Number(await card.getAttribute('data-frames'))).toBeGreaterThan(0);
    expect(await barValue('frames-bar')).toBe(100);
    expect(await barValue('frames-raw-bar')).toBe(100);
  });

  it("an EAP component's events are listed as they arrive, then Completed once", async () => {
    await page.click('#eap-start');
    await untilState('eap', 'done');
    const events = await page.locator('#eap-events li').allTextContents();
    expect(events[0]).toContain("downloadAsync(url, 'job-1')");
    expect(events.filter((e) => e.includes('downloadProgressChanged')).length).toBeGreaterThan(0);
    expect(events.filter((e) => e.includes('downloadCompleted'))).toEqual([expect.stringContaining('result.size=8.00 MiB (job-1)')]);
    expect(events.at(-1)).toContain('downloadCompleted');
  });

  it('EAP cancelAsync() ends the operation with cancelled = true', async () => {
    await page.click('#eap-start');
    await page.waitForFunction(() => document.querySelectorAll('#eap-events li').length >= 2, undefined, { timeout: 20_000 });
    await page.click('#eap-cancel');
    await untilState('eap', 'cancelled', 10_000);
    const events = await page.locator('#eap-events li').allTextContents();
    expect(events.at(-1)).toContain('downloadCompleted cancelled=true (job-2)');
    // Leave the card finished for the screenshot.
    await page.click('#eap-start');
    await untilState('eap', 'done');
  });

  it('raised no page errors, and the finished page is saved as a screenshot', async () => {
    expect(pageErrors).toEqual([]);
    for (const card of ['upload', 'download', 'frames', 'eap']) expect(await state(card)).toBe('done');
    mkdirSync(outputDir, { recursive: true });
    await within(page.screenshot({ path: join(outputDir, 'demo.png'), fullPage: true }), 15_000, 'screenshot');
    if (!existsSync(readmeShot) || process.env.RXTRANSFER_UPDATE_SCREENSHOT === '1') {
      await within(page.screenshot({ path: readmeShot, fullPage: true }), 15_000, 'README screenshot');
    }
    expect(existsSync(join(outputDir, 'demo.png'))).toBe(true);
  });

  it('the server stops on SIGTERM (exit 143), as on Ctrl-C (130)', async () => {
    demo!.run.child.kill('SIGTERM');
    const result = await within(demo!.run.exited, 10_000, 'demo --web to stop');
    expect(result.code).toBe(143);
    expect(result.stderr).toContain('rxtransfer demo: stopped');
    await expect(demoStats(demo!.origin)).rejects.toThrow();
    demo = undefined;
  });
});
