import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { lastValueFrom, toArray } from 'rxjs';
import { download, type TransferEvent, type DownloadResult, type TransferProgress } from 'rxtransfer';
import { bytes, sha256, startSessionServer, type SessionServer } from '../helpers/session-server';

const MiB = 1024 * 1024;
let server: SessionServer;
let dir: string;
let n = 0;

beforeAll(async () => {
  server = await startSessionServer();
  dir = await mkdtemp(join(tmpdir(), 'rxtransfer-resume-'));
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function fresh(): { path: string; to: string } {
  n++;
  return { path: `/file-${n}`, to: join(dir, `file-${n}.bin`) };
}

type Events = TransferEvent<DownloadResult<undefined>>[];

async function run(url: string, to: string, options: Record<string, unknown> = {}): Promise<{ events: Events; error?: unknown }> {
  const events: Events = [];
  try {
    const all = await lastValueFrom(download(url, { to, resume: true, progressInterval: 0, ...options }).pipe(toArray()));
    events.push(...all);
    return { events };
  } catch (error) {
    return { events, error };
  }
}

/** Runs until the server cuts it, leaving a partial file; returns its size. */
async function interrupted(url: string, to: string): Promise<number> {
  const { error } = await run(url, to);
  expect(error).toBeDefined();
  return (await stat(to + '.partial')).size;
}

function progress(events: Events): TransferProgress[] {
  return events.filter((e): e is TransferProgress => e.type === 'progress');
}

function expectMonotonic(events: Events): void {
  const loaded = progress(events).map((p) => p.loaded);
  for (let i = 1; i < loaded.length; i++) expect(loaded[i]!).toBeGreaterThanOrEqual(loaded[i - 1]!);
}

const requestsFor = (path: string) => server.requests.filter((r) => r.path === path);

describe('resume (S3) against a real server', () => {
  it('S3 resumes with Range + If-Range on a strong ETag and Accept-Encoding: identity', async () => {
    const { path, to } = fresh();
    const body = bytes(2 * MiB, 3);
    const url = server.put(path, { body, etag: '"v1"', resets: 1, resetAfter: 700 * 1024 });
    const offset = await interrupted(url, to);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(body.length);
    const { events, error } = await run(url, to);
    expect(error).toBeUndefined();
    const last = requestsFor(path).at(-1)!;
    expect(last).toMatchObject({ range: `bytes=${offset}-`, ifRange: '"v1"', acceptEncoding: 'identity', status: 206 });
    expect(sha256(await readFile(to))).toBe(sha256(body));
    const p = progress(events);
    expect(p[0]!.loaded).toBe(offset);
    expect(p.at(-1)).toMatchObject({ loaded: body.length, total: body.length, percent: 100 });
    expectMonotonic(events);
    const done = events.at(-1)!;
    expect(done.type === 'done' && done.result.size).toBe(body.length);
    await expect(stat(to + '.partial')).rejects.toThrow();
    await expect(stat(to + '.partial.json')).rejects.toThrow();
  });

  it('S3 a partial file is continued only for the URL that wrote it, never for another with the same ETag', async () => {
    const { path, to } = fresh();
    const first = bytes(1 * MiB, 30);
    const second = bytes(1 * MiB, 31);
    // Two resources that happen to share a strong ETag (nginx's mtime-size ETags do, across servers).
    const urlA = server.put(path + '-a', { body: first, etag: '"5f1-100000"', resets: 1, resetAfter: 300 * 1024 });
    const urlB = server.put(path + '-b', { body: second, etag: '"5f1-100000"' });
    const offset = await interrupted(urlA, to);
    expect(offset).toBeGreaterThan(0);
    // The record names the URL by a digest only: no URL (nor a signed URL's token) beside the file.
    const record = await readFile(to + '.partial.json', 'utf8');
    expect(JSON.parse(record)).toEqual({ validator: '"5f1-100000"', source: expect.stringMatching(/^sha256:[0-9a-f]{32}$/) });
    expect(record).not.toContain('127.0.0.1');
    const { error } = await run(urlB, to);
    expect(error).toBeUndefined();
    expect(requestsFor(path + '-b').map((r) => r.range)).toEqual([undefined]);
    expect(sha256(await readFile(to))).toBe(sha256(second));
    // The same origin and path with another query (a re-signed URL), credentials or a fragment
    // is the same resource: continued.
    const urlC = server.put(path + '-c', { body: first, etag: '"c1"', resets: 1, resetAfter: 300 * 1024 });
    const kept = await interrupted(urlC, to);
    const withUser = new URL(urlC);
    withUser.username = 'someone';
    withUser.search = '?X-Amz-Signature=resigned';
    withUser.hash = 'part';
    expect((await run(withUser.href, to)).error).toBeUndefined();
    expect(requestsFor(path + '-c').at(-1)!.range).toBe(`bytes=${kept}-`);
    expect(sha256(await readFile(to))).toBe(sha256(first));
  });

  it("keepPartial: 'resumable' keeps only what resume can continue", async () => {
    const exists = (path: string) => stat(path).then(() => true, () => false);
    const body = bytes(512 * 1024, 32);
    const wrong = 'sha256-' + createHash('sha256').update('not the body').digest('base64');
    // Cut short, with a strong validator: kept, and continued.
    const cut = fresh();
    const cutUrl = server.put(cut.path, { body, etag: '"k1"', resets: 1, resetAfter: 200 * 1024 });
    expect((await run(cutUrl, cut.to, { resume: false, keepPartial: 'resumable', retry: 0 })).error).toMatchObject({ code: 'integrity', reason: 'truncated' });
    expect(await exists(cut.to + '.partial')).toBe(true);
    expect(await exists(cut.to + '.partial.json')).toBe(true);
    expect((await run(cutUrl, cut.to)).error).toBeUndefined();
    expect(requestsFor(cut.path).at(-1)!.range).toMatch(/^bytes=[1-9]\d*-$/);
    // Cut short without a validator: nothing could prove those bytes, removed.
    const bare = fresh();
    const bareUrl = server.put(bare.path, { body, resets: 1, resetAfter: 200 * 1024 });
    expect((await run(bareUrl, bare.to, { resume: false, keepPartial: 'resumable', retry: 0 })).error).toMatchObject({ reason: 'truncated' });
    expect(await exists(bare.to + '.partial')).toBe(false);
    // Whole, but not the body promised: removed, validator and all.
    const bad = fresh();
    const badUrl = server.put(bad.path, { body, etag: '"k2"' });
    expect((await run(badUrl, bad.to, { keepPartial: 'resumable', integrity: wrong })).error).toMatchObject({ reason: 'digest' });
    expect(await exists(bad.to + '.partial')).toBe(false);
    expect(await exists(bad.to + '.partial.json')).toBe(false);
    // Not a boolean nor 'resumable': refused.
    expect((await run(badUrl, bad.to, { keepPartial: 'yes' })).error).toMatchObject({ code: 'invalid', message: expect.stringContaining("keepPartial must be true, false or 'resumable'") });
  });

  it('S3 never uses a weak ETag as a validator: it restarts from zero', async () => {
    const { path, to } = fresh();
    const body = bytes(MiB, 4);
    const url = server.put(path, { body, etag: '"w1"', weak: true, resets: 1, resetAfter: 300 * 1024 });
    await interrupted(url, to);
    const { error } = await run(url, to);
    expect(error).toBeUndefined();
    for (const r of requestsFor(path)) {
      expect(r.ifRange).toBeUndefined();
      expect(r.range).toBeUndefined();
    }
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S3 resumes with a strong Last-Modified date when there is no ETag', async () => {
    const { path, to } = fresh();
    const body = bytes(MiB, 5);
    const lastModified = new Date(Date.now() - 3600_000).toUTCString();
    const url = server.put(path, { body, lastModified, resets: 1, resetAfter: 300 * 1024 });
    const offset = await interrupted(url, to);
    const { error } = await run(url, to);
    expect(error).toBeUndefined();
    expect(requestsFor(path).at(-1)).toMatchObject({ range: `bytes=${offset}-`, ifRange: lastModified, status: 206 });
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S3 does not use a Last-Modified date that is not strong (within a second of Date)', async () => {
    const { path, to } = fresh();
    const body = bytes(MiB, 6);
    const now = new Date().toUTCString();
    const url = server.put(path, { body, lastModified: now, date: now, resets: 1, resetAfter: 300 * 1024 });
    await interrupted(url, to);
    const { error } = await run(url, to);
    expect(error).toBeUndefined();
    expect(requestsFor(path).at(-1)).toMatchObject({ range: undefined, ifRange: undefined, status: 200 });
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S3 restarts from zero when the ETag changed between attempts; the file is never spliced', async () => {
    const { path, to } = fresh();
    const v1 = bytes(2 * MiB, 7);
    const v2 = bytes(2 * MiB, 8);
    const url = server.put(path, { body: v1, etag: '"v1"', resets: 1, resetAfter: 600 * 1024 });
    await interrupted(url, to);
    server.put(path, { body: v2, etag: '"v2"' });
    const { events, error } = await run(url, to);
    expect(error).toBeUndefined();
    expect(requestsFor(path).at(-1)).toMatchObject({ ifRange: '"v1"', status: 200 });
    const got = await readFile(to);
    expect(got.length).toBe(v2.length);
    expect(sha256(got)).toBe(sha256(v2));
    expectMonotonic(events);
  });

  it('S3 restarts from zero when the server ignores Range (200)', async () => {
    const { path, to } = fresh();
    const body = bytes(MiB, 9);
    const url = server.put(path, { body, etag: '"i1"', resets: 1, resetAfter: 400 * 1024 });
    const offset = await interrupted(url, to);
    server.resources.get(path)!.ignoreRange = true;
    const { events, error } = await run(url, to);
    expect(error).toBeUndefined();
    expect(requestsFor(path).at(-1)).toMatchObject({ range: `bytes=${offset}-`, status: 200 });
    expect(sha256(await readFile(to))).toBe(sha256(body));
    expectMonotonic(events);
    expect(progress(events).at(-1)).toMatchObject({ loaded: body.length, percent: 100 });
  });

  it.each([
    ['garbage', () => 'bytes garbage'],
    ['a wrong start', (s: number, e: number, size: number) => `bytes ${s + 1}-${e}/${size}`],
    ['a range short of the end', (s: number, e: number, size: number) => `bytes ${s}-${e - 10}/${size}`],
    ['a wrong total', (s: number, e: number, size: number) => `bytes ${s}-${e}/${size + 5}`],
  ])('S3 restarts from zero on a malformed Content-Range (%s)', async (_name, contentRange) => {
    const { path, to } = fresh();
    const body = bytes(MiB, 10);
    const url = server.put(path, { body, etag: '"m1"', resets: 1, resetAfter: 300 * 1024 });
    await interrupted(url, to);
    server.resources.get(path)!.contentRange = contentRange;
    const { error } = await run(url, to);
    expect(error).toBeUndefined();
    const seen = requestsFor(path);
    expect(seen.at(-2)).toMatchObject({ status: 206 });
    expect(seen.at(-1)).toMatchObject({ range: undefined, status: 200 });
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S3 completes on 416 when the full size is already on disk', async () => {
    const { path, to } = fresh();
    const body = bytes(300 * 1024, 11);
    const url = server.put(path, { body, etag: '"f1"' });
    await writeFile(to + '.partial', body);
    await writeFile(to + '.partial.json', JSON.stringify({ validator: '"f1"' }));
    const integrity = 'sha256-' + createHash('sha256').update(body).digest('base64');
    const { events, error } = await run(url, to, { integrity });
    expect(error).toBeUndefined();
    expect(requestsFor(path).at(-1)).toMatchObject({ status: 416 });
    const done = events.at(-1)!;
    expect(done.type === 'done' && done.result).toMatchObject({ size: body.length, integrity });
    expect(progress(events).at(-1)).toMatchObject({ loaded: body.length, percent: 100 });
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });

  it('S3 checks integrity over the resumed bytes too (416 with a partial that does not match)', async () => {
    const { path, to } = fresh();
    const body = bytes(100 * 1024, 12);
    const url = server.put(path, { body, etag: '"f2"' });
    await writeFile(to + '.partial', body);
    await writeFile(to + '.partial.json', JSON.stringify({ validator: '"f2"' }));
    const { error } = await run(url, to, { integrity: 'sha256-' + createHash('sha256').update('other').digest('base64') });
    expect(error).toMatchObject({ code: 'integrity' });
    await expect(stat(to)).rejects.toThrow();
  });

  it('S3 a reset mid-body is resumed by the retry with Range, and progress never goes back', async () => {
    const { path, to } = fresh();
    const body = bytes(3 * MiB, 13);
    const url = server.put(path, { body, etag: '"r1"', resets: 2, resetAfter: 500 * 1024 });
    const { events, error } = await run(url, to, { retry: { count: 3, baseDelay: 1, jitter: 0 } });
    expect(error).toBeUndefined();
    const seen = requestsFor(path);
    expect(seen).toHaveLength(3);
    expect(seen[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(seen[1]!.status).toBe(206);
    expect(sha256(await readFile(to))).toBe(sha256(body));
    expectMonotonic(events);
    expect(progress(events).at(-1)).toMatchObject({ loaded: body.length, percent: 100 });
  });

  it('S3 a reset mid-body without resume restarts the retry from zero, never appending', async () => {
    const { path, to } = fresh();
    const body = bytes(2 * MiB, 14);
    const url = server.put(path, { body, etag: '"r2"', resets: 1, resetAfter: 500 * 1024 });
    const { error } = await run(url, to, { resume: false, retry: { count: 2, baseDelay: 1, jitter: 0 } });
    expect(error).toBeUndefined();
    const got = await readFile(to);
    expect(got.length).toBe(body.length);
    expect(sha256(got)).toBe(sha256(body));
  });

  it('an in-memory download retried after a reset mid-body holds the body once', async () => {
    const { path } = fresh();
    const body = bytes(MiB, 15);
    const url = server.put(path, { body, resets: 1, resetAfter: 200 * 1024 });
    const all = await lastValueFrom(download(url, { responseType: 'uint8array', retry: { count: 2, baseDelay: 1, jitter: 0 } }).pipe(toArray()));
    const done = all.at(-1)!;
    expect(done.type).toBe('done');
    if (done.type === 'done') expect(sha256(done.result.data)).toBe(sha256(body));
  });

  it('S3 a partial without a validator record is started over, never continued blindly', async () => {
    const { path, to } = fresh();
    const body = bytes(200 * 1024, 16);
    const url = server.put(path, { body, etag: '"n1"' });
    await writeFile(to + '.partial', bytes(50 * 1024, 99));
    const { error } = await run(url, to);
    expect(error).toBeUndefined();
    expect(requestsFor(path).at(-1)).toMatchObject({ range: undefined, status: 200 });
    expect(sha256(await readFile(to))).toBe(sha256(body));
  });
});
