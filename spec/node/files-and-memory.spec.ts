import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { appendFileSync, constants, createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { download, upload, isIntegrityError, isTransferError, type BodySource, type DownloadResult, type Transfer } from 'rxtransfer';
import { fileBody, PARTIAL_META_SUFFIX, PARTIAL_SUFFIX } from 'rxtransfer/node';
import { recordTransfer } from 'rxtransfer/testing';
import { startFaultServer, type FaultServer } from '../helpers/fault-server';
import { seededChunks, seededIntegrity, seededSha256Hex } from '../helpers/fault-bytes';
import { delay, eventually, runTransfer, within } from '../helpers/fault-trace';
import { startBlackhole } from '../helpers/fault-blackhole';
import { createTransfer } from '../../lib/internal/core/transfer';
import type { Platform } from '../../lib/internal/core/platform';
import { nodePlatform } from '../../lib/internal/node/node-platform';
import { isLocalFileError, openFileSink } from '../../lib/internal/node/file-sink';

let server: FaultServer;
let dir: string;
beforeAll(async () => {
  server = await startFaultServer();
  dir = mkdtempSync(join(tmpdir(), 'rxtransfer-node-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const target = () => join(dir, `file-${++n}.bin`);
const toFile = (url: string, to: string, options: Parameters<typeof download>[1] = {}) =>
  download(url, { ...options, to }) as Transfer<DownloadResult<undefined>>;

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What the conditional server below serves, with ETag "v1". */
const CACHED = Buffer.from('the cached copy, still current');

/** Runs `work` against a loopback server that answers `If-None-Match: "v1"` with a 304, then closes it. */
async function withConditionalServer(work: (url: string) => Promise<void>): Promise<void> {
  const cond = createServer((req, res) => {
    if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { etag: '"v1"' }).end();
    res.writeHead(200, { etag: '"v1"', 'content-length': String(CACHED.length) }).end(CACHED);
  });
  await new Promise<void>((r) => cond.listen(0, '127.0.0.1', () => r()));
  try {
    await work(`http://127.0.0.1:${(cond.address() as AddressInfo).port}/file`);
  } finally {
    cond.closeAllConnections();
    await new Promise<void>((r) => cond.close(() => r()));
  }
}

describe('G5 file downloads', () => {
  it("a 304 to the caller's conditional request leaves the file at `to` as it is (never an empty one) and ends in done", async () => {
    await withConditionalServer(async (url) => {
      const to = target();
      expect((await runTransfer(toFile(url, to))).error).toBeUndefined();
      for (const options of [{}, { resume: true }]) {
        const run = await runTransfer(toFile(url, to, { headers: { 'If-None-Match': '"v1"' }, ...options }));
        expect(run.error).toBeUndefined();
        expect(run.result).toMatchObject({ status: 304, size: 0, path: to });
        expect(run.result!.integrity).toBeUndefined();
        expect(readFileSync(to)).toEqual(CACHED);
        expect(existsSync(`${to}.partial`)).toBe(false);
      }
      // No copy at `to`: nothing is made there either.
      const none = target();
      const run = await runTransfer(toFile(url, none, { headers: { 'If-None-Match': '"v1"' } }));
      expect(run.result).toMatchObject({ status: 304, size: 0 });
      expect(existsSync(none)).toBe(false);
    });
  });

  it('G5 with `integrity`, a 304 checks the file it keeps at `to`: done with its digest, or an IntegrityError (the file left as it is)', async () => {
    const sri = `sha256-${createHash('sha256').update(CACHED).digest('base64')}`;
    await withConditionalServer(async (url) => {
      const conditional = { headers: { 'If-None-Match': '"v1"' }, integrity: sri };
      const to = target();
      expect((await runTransfer(toFile(url, to))).error).toBeUndefined();
      const current = await runTransfer(toFile(url, to, conditional));
      expect(current.error).toBeUndefined();
      expect(current.result).toMatchObject({ status: 304, size: 0, path: to, integrity: sri });
      // The copy kept was changed on disk since: the server's 304 does not make it the one expected.
      writeFileSync(to, 'the cached copy, since damaged');
      const damaged = await runTransfer(toFile(url, to, conditional));
      expect(damaged.result).toBeUndefined();
      expect(isIntegrityError(damaged.error) && [damaged.error.reason, damaged.error.message]).toEqual(['digest', expect.stringContaining('304')]);
      expect(readFileSync(to, 'utf8')).toBe('the cached copy, since damaged');
      expect(existsSync(`${to}.partial`)).toBe(false);
      // No copy at all: nothing holds the digest expected, and nothing is made there.
      const none = target();
      const missing = await runTransfer(toFile(url, none, conditional));
      expect(isIntegrityError(missing.error) && missing.error.reason).toBe('digest');
      expect(existsSync(none)).toBe(false);
    });
  });

  it("G5 a `to` that is a device, FIFO or socket, or a symlink to one, is refused before any request ('invalid') and left as it is", async () => {
    const fifo = target();
    execFileSync('mkfifo', [fifo]);
    const toFifo = target();
    symlinkSync(fifo, toFifo);
    // A link to /dev/null, never /dev/null itself: without the check, the rename would replace
    // the link here, not the system's device.
    const toNull = target();
    symlinkSync('/dev/null', toNull);
    const url = server.url('/bytes', { size: 1000, key: 'special-to' });
    for (const to of [fifo, toFifo, toNull]) {
      for (const options of [{}, { resume: true }, { overwrite: false }]) {
        const run = await runTransfer(toFile(url, to, options), 5_000);
        expect(isTransferError(run.error) && [run.error.code, run.error.message]).toEqual(['invalid', expect.stringContaining('not a regular file')]);
      }
    }
    expect(server.hits('special-to')).toBe(0);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(lstatSync(toFifo).isSymbolicLink() && lstatSync(toNull).isSymbolicLink()).toBe(true);
    expect(existsSync(fifo + PARTIAL_SUFFIX)).toBe(false);
  });

  it("G5 a `to` that leads to an open file descriptor's link (/dev/stdout → /proc/self/fd/1) is refused when that descriptor is a regular file too, the link left as it is", async () => {
    // stdout redirected to a file: `stat` sees a regular file, and the rename would replace the
    // link (as root, /dev/stdout itself). Links here, never /dev/stdout: this test changes nothing outside `dir`.
    const file = target();
    writeFileSync(file, 'kept');
    const handle = await open(file, 'r');
    try {
      const viaProc = target();
      symlinkSync(`/proc/self/fd/${handle.fd}`, viaProc);
      const viaTwo = target();
      symlinkSync(viaProc, viaTwo);
      const url = server.url('/bytes', { size: 1000, key: 'fd-to' });
      for (const to of [viaProc, viaTwo, `/proc/self/fd/${handle.fd}`]) {
        const run = await runTransfer(toFile(url, to), 5_000);
        expect(isTransferError(run.error) && [run.error.code, run.error.message]).toEqual(['invalid', expect.stringContaining('open file descriptor')]);
      }
      expect(server.hits('fd-to')).toBe(0);
      expect(lstatSync(viaProc).isSymbolicLink() && lstatSync(viaTwo).isSymbolicLink()).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe('kept');
      // A link to a plain file is still a name a download may replace.
      const plain = target();
      symlinkSync(file, plain);
      expect((await runTransfer(toFile(server.url('/bytes', { size: 10 }), plain))).error).toBeUndefined();
    } finally {
      await handle.close();
    }
  });

  it('G1 a file download touches neither the network nor the disk before subscribe', async () => {
    const to = target();
    const before = server.requests.length;
    const transfer = toFile(server.url('/bytes', { size: 1000 }), to);
    await delay(100);
    expect(server.requests.length).toBe(before);
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(false);
    const run = await runTransfer(transfer);
    expect(run.error).toBeUndefined();
    expect(existsSync(to)).toBe(true);
  });

  it('G2 G5 a cancel or total timeout that comes while the finished file is renamed into place does not turn the download into an error', async () => {
    // The rename is held for 400 ms; the total timeout (and, in the second run, the caller's
    // signal) fires meanwhile, too late to stop anything: the file is published, the end is done.
    const fsp = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
    const rename = fsp.rename;
    const spy = jest.spyOn(fsp, 'rename').mockImplementation(async (from, to) => {
      await delay(400);
      return rename(from, to);
    });
    try {
      const timed = target();
      const run = await runTransfer(toFile(server.url('/bytes', { size: 1000 }), timed, { timeout: { total: 250 } }));
      expect(run.error).toBeUndefined();
      expect(run.result!.size).toBe(1000);
      expect(readFileSync(timed).length).toBe(1000);
      const cancelled = target();
      const controller = new AbortController();
      const transfer = toFile(server.url('/bytes', { size: 1000 }), cancelled, { signal: controller.signal });
      const ran = runTransfer(transfer);
      await eventually(() => spy.mock.calls.some(([, to]) => to === cancelled), 5_000);
      controller.abort();
      const second = await ran;
      expect(second.error).toBeUndefined();
      expect(existsSync(cancelled)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });

  it('G5 a successful file download has the right bytes at `to` and no side file', async () => {
    const to = target();
    const run = await runTransfer(toFile(server.url('/bytes', { size: 3_000_000, seed: 31 }), to));
    expect(run.error).toBeUndefined();
    expect(run.result!.path).toBe(to);
    expect(run.result!.size).toBe(3_000_000);
    expect(await fileSha256(to)).toBe(seededSha256Hex(31, 3_000_000));
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(false);
    expect(existsSync(to + PARTIAL_META_SUFFIX)).toBe(false);
  });

  it('durable: false skips only the fsync: the file is still renamed into place whole, with no side file', async () => {
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
    await probe.close();
    const sync = jest.spyOn(proto, 'sync');
    try {
      const to = target();
      const run = await runTransfer(toFile(server.url('/bytes', { size: 3_000_000, seed: 34 }), to, { durable: false }));
      expect(run.error).toBeUndefined();
      expect(run.result!.path).toBe(to);
      expect(await fileSha256(to)).toBe(seededSha256Hex(34, 3_000_000));
      expect(existsSync(to + PARTIAL_SUFFIX)).toBe(false);
      expect(existsSync(to + PARTIAL_META_SUFFIX)).toBe(false);
      expect(sync).not.toHaveBeenCalled();
      // A failure still leaves nothing at `to` (G5), durable or not.
      const cut = target();
      const failed = await runTransfer(toFile(server.url('/bytes', { size: 2_000_000, cut: 500_000 }), cut, { durable: false }));
      expect(isIntegrityError(failed.error)).toBe(true);
      expect(existsSync(cut)).toBe(false);
      expect(existsSync(cut + PARTIAL_SUFFIX)).toBe(false);
      // The default fsyncs before the rename.
      const durable = target();
      expect((await runTransfer(toFile(server.url('/bytes', { size: 1000 }), durable))).error).toBeUndefined();
      expect(sync).toHaveBeenCalled();
      expect(existsSync(durable)).toBe(true);
    } finally {
      sync.mockRestore();
    }
  });

  it('durable, overwrite and resume must be booleans: overwrite "false" replaces no file', async () => {
    for (const name of ['durable', 'overwrite', 'resume']) {
      const to = target();
      writeFileSync(to, 'kept');
      const run = await runTransfer(toFile(server.url('/bytes', { size: 10 }), to, { [name]: 'false' }));
      expect(isTransferError(run.error) && run.error.code).toBe('invalid');
      expect(String((run.error as Error).message)).toContain(`${name} must be true or false, got false`);
      expect(readFileSync(to, 'utf8')).toBe('kept');
    }
  });

  it('G5 a truncated file download leaves no file at `to` and no side file', async () => {
    const to = target();
    const run = await runTransfer(toFile(server.url('/bytes', { size: 2_000_000, cut: 500_000 }), to));
    expect(isIntegrityError(run.error)).toBe(true);
    expect(existsSync(to)).toBe(false);
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(false);
  });

  it('G5 an integrity mismatch leaves no file at `to`', async () => {
    const to = target();
    const run = await runTransfer(toFile(server.url('/bytes', { size: 400_000, seed: 32 }), to, { integrity: seededIntegrity(33, 400_000) }));
    expect(isIntegrityError(run.error)).toBe(true);
    expect(existsSync(to)).toBe(false);
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(false);
  });

  it('G5 a failed download never replaces an existing file at `to`', async () => {
    const to = target();
    writeFileSync(to, 'the previous version');
    const run = await runTransfer(toFile(server.url('/bytes', { size: 1_000_000, resetAfter: 300_000 }), to));
    expect(isTransferError(run.error)).toBe(true);
    expect(readFileSync(to, 'utf8')).toBe('the previous version');
  });

  it('G5 an HTTP error leaves no file at `to`', async () => {
    const to = target();
    const run = await runTransfer(toFile(server.url('/status/404'), to));
    expect(isTransferError(run.error)).toBe(true);
    expect(existsSync(to)).toBe(false);
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(false);
  });

  it('G5 G6 unsubscribing a file download leaves no file at `to` and removes the side file', async () => {
    const to = target();
    const requested = server.nextRequest('/bytes');
    const recording = recordTransfer(toFile(server.url('/bytes', { size: 50_000_000, chunk: 16_384, delay: 10 }), to, { progressInterval: 0 }));
    const rec = (await within(requested, 5_000, undefined))!;
    expect(await eventually(() => recording.trace.length >= 3, 5_000)).toBe(true);
    recording.unsubscribe();
    expect(await within(rec.closedEarly, 3_000, 'still open')).toBe(true);
    expect(await eventually(() => !existsSync(to + PARTIAL_SUFFIX), 3_000)).toBe(true);
    expect(existsSync(to)).toBe(false);
  });

  it('G5 a resumed download continues with Range + If-Range (strong ETag) and is whole', async () => {
    const to = target();
    const first = await runTransfer(toFile(server.url('/bytes', { size: 1_000_000, seed: 34, etag: 'v1', cut: 400_000 }), to, { resume: true }));
    expect(isIntegrityError(first.error)).toBe(true);
    expect(existsSync(to)).toBe(false);
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(true);
    const requested = server.nextRequest('/bytes');
    const second = await runTransfer(toFile(server.url('/bytes', { size: 1_000_000, seed: 34, etag: 'v1' }), to, { resume: true, integrity: seededIntegrity(34, 1_000_000) }));
    expect(second.error).toBeUndefined();
    const rec = await requested;
    expect(rec.headers['range']).toMatch(/^bytes=\d+-$/);
    expect(rec.headers['if-range']).toBe('"v1"');
    expect(await fileSha256(to)).toBe(seededSha256Hex(34, 1_000_000));
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(false);
  });

  it('G9 a resume with integrity hashes the bytes held before its request: a large partial file does not run the idle clock', async () => {
    const to = target();
    const size = 320 << 20;
    const first = await runTransfer(toFile(server.url('/bytes', { size, seed: 45, etag: 'v45', cut: size - 100 }), to, { resume: true, retry: 0 }), 60_000);
    expect(first.error).toMatchObject({ code: 'integrity', reason: 'truncated' });
    // Most of it is held (the server's cut may lose what it had not flushed).
    const kept = (await stat(to + PARTIAL_SUFFIX)).size;
    expect(kept).toBeGreaterThan(size / 2);
    // Hashing 320 MiB with sha512 takes about twice the idle limit (~0.5 s here); the 100 bytes left take far less.
    const second = await runTransfer(toFile(server.url('/bytes', { size, seed: 45, etag: 'v45' }), to, { resume: true, integrity: seededIntegrity(45, size, 'sha512'), timeout: { idle: 250 } }), 60_000);
    expect(second.error).toBeUndefined();
    expect(second.result!.size).toBe(size);
    expect(server.requests.at(-1)!.headers.range).toBe(`bytes=${kept}-`);
    rmSync(to);
  }, 90_000);

  it('a partial file that cannot be read for the digest of a resume is a local file error (no network error, no retry, no request), with its path and no credentials', async () => {
    const to = target();
    const first = await runTransfer(toFile(server.url('/bytes', { size: 600_000, seed: 46, etag: 'v46', cut: 200_000 }), to, { resume: true, retry: 0 }));
    expect(first.error).toMatchObject({ code: 'integrity', reason: 'truncated' });
    const partial = to + PARTIAL_SUFFIX;
    expect(existsSync(partial)).toBe(true);
    // The real file sink, whose partial file turns unreadable once opened (a directory in its place: EISDIR).
    const platform: Platform = {
      ...nodePlatform,
      openFileSink: async (path, options) => {
        const sink = await openFileSink(path, options);
        renameSync(partial, partial + '.aside');
        mkdirSync(partial);
        return sink;
      },
    };
    const url = new URL(server.url('/bytes', { size: 600_000, seed: 46, etag: 'v46', key: 'unreadable-partial' }));
    url.username = 'user';
    url.password = 'hunter2';
    const run = await runTransfer(createTransfer<DownloadResult<undefined>>(platform, 'download', url.href, undefined, { to, resume: true, integrity: seededIntegrity(46, 600_000), retry: { count: 2, baseDelay: 1 } }));
    expect(isTransferError(run.error)).toBe(true);
    expect(isLocalFileError(run.error)).toBe(true);
    expect(run.error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`cannot read ${partial}`) });
    expect((run.error as Error).message).not.toContain('hunter2');
    expect(server.requests.filter((r) => r.query.get('key') === 'unreadable-partial')).toEqual([]);
    rmSync(partial, { recursive: true, force: true });
    rmSync(partial + '.aside', { force: true });
    rmSync(to + PARTIAL_META_SUFFIX, { force: true });
  });

  it('G9 a disk that is only slow (one write taking longer than the idle timeout, then done) keeps the idle timeout, retried as before', async () => {
    const to = target();
    let slowed = 0;
    // The real file sink, one of whose writes (past the first 128 KiB) takes 700 ms more: longer than the idle timeout.
    const platform: Platform = {
      ...nodePlatform,
      openFileSink: async (path, options) => {
        const sink = await openFileSink(path, options);
        let written = 0;
        const write = sink.write.bind(sink);
        return Object.assign(Object.create(sink) as typeof sink, {
          write(chunk: Uint8Array) {
            written += chunk.byteLength;
            if (written <= 128 * 1024 || slowed > 0) return write(chunk);
            slowed++;
            return delay(700).then(() => write(chunk));
          },
        });
      },
    };
    const run = await runTransfer(createTransfer<DownloadResult<undefined>>(platform, 'download', server.url('/bytes', { size: 2_000_000, seed: 49, key: 'slow-disk' }), undefined, { to, timeout: { idle: 300 }, retry: { count: 2, baseDelay: 1 } }), 15_000);
    expect(slowed).toBe(1);
    expect(run.error).toBeUndefined();
    expect(server.requests.filter((r) => r.query.get('key') === 'slow-disk')).toHaveLength(2);
    expect(run.progress.map((p) => p.attempt)).toContain(2);
    expect(await fileSha256(to)).toBe(seededSha256Hex(49, 2_000_000));
  });

  it('G2 G9 a disk that stops taking writes (a stalled network mount) does not hold the download past its idle timeout, nor its cleanup the error: a local file error, not retried', async () => {
    const to = target();
    let stalled = 0;
    let real: Awaited<ReturnType<typeof openFileSink>> | undefined;
    // The real file sink, whose writes stop completing after the first 128 KiB (as a hard-stalled
    // mount's), and whose cleanup then never completes either (closing waits for those writes).
    const platform: Platform = {
      ...nodePlatform,
      openFileSink: async (path, options) => {
        const sink = (real = await openFileSink(path, options));
        let written = 0;
        const write = sink.write.bind(sink);
        return Object.assign(Object.create(sink) as typeof sink, {
          write(chunk: Uint8Array) {
            written += chunk.byteLength;
            if (written <= 128 * 1024) return write(chunk);
            stalled++;
            return new Promise<void>(() => undefined);
          },
          abort: () => new Promise<void>(() => undefined),
        });
      },
    };
    try {
      // Retries allowed: the stall is the disk's, and another attempt would begin by resetting the
      // file on it (waiting for ever): a local file error, not retried.
      const run = await runTransfer(createTransfer<DownloadResult<undefined>>(platform, 'download', server.url('/bytes', { size: 2_000_000, seed: 48, key: 'stalled-disk' }), undefined, { to, timeout: { idle: 300 }, retry: { count: 3, baseDelay: 1 } }), 10_000);
      expect(stalled).toBe(1);
      expect(isLocalFileError(run.error)).toBe(true);
      expect(run.error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`cannot write ${to}: the disk took no more of it for 2300 ms (the idle timeout, then 2 s more)`) });
      expect(server.requests.filter((r) => r.query.get('key') === 'stalled-disk')).toHaveLength(1);
      expect(existsSync(to)).toBe(false);
    } finally {
      await real?.abort(new Error('test over'));
    }
  });

  it('G6 a transport that yields one more chunk after the cancel: the write it starts, which the abort then fails, is no unhandled rejection', async () => {
    const to = target();
    const controller = new AbortController();
    const chunk = new Uint8Array(1 << 20);
    // A transport of one's own that does not stop at the abort: it yields what it holds.
    const transport = {
      name: 'custom',
      followsRedirects: false,
      streamsBodies: false,
      send: (req: { url: string }) => Promise.resolve({
        status: 200,
        statusText: 'OK',
        headers: { 'content-length': String(4 * chunk.byteLength) },
        url: req.url,
        decoded: false,
        body: (async function* () {
          yield chunk;
          controller.abort();
          yield chunk;
        })(),
      }),
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const run = await runTransfer(toFile('http://example.test/x.bin', to, { transport, signal: controller.signal }), 10_000);
      expect(run.error).toMatchObject({ code: 'cancelled' });
      // A rejection left unhandled is reported after a turn of the event loop.
      await delay(50);
      expect(unhandled).toEqual([]);
      expect(existsSync(to + PARTIAL_SUFFIX)).toBe(false);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a partial file cut short by another program before the digest of a resume is a local file error (no retry, no request)', async () => {
    const to = target();
    const first = await runTransfer(toFile(server.url('/bytes', { size: 600_000, seed: 47, etag: 'v47', cut: 200_000 }), to, { resume: true, retry: 0 }));
    expect(first.error).toMatchObject({ code: 'integrity', reason: 'truncated' });
    const partial = to + PARTIAL_SUFFIX;
    const held = statSync(partial).size;
    expect(held).toBeGreaterThan(1000);
    // The real file sink, whose partial file loses its second half once opened (the sink counted it whole).
    const platform: Platform = {
      ...nodePlatform,
      openFileSink: async (path, options) => {
        const sink = await openFileSink(path, options);
        truncateSync(partial, Math.floor(held / 2));
        return sink;
      },
    };
    const run = await runTransfer(createTransfer<DownloadResult<undefined>>(platform, 'download', server.url('/bytes', { size: 600_000, seed: 47, etag: 'v47', key: 'short-partial' }), undefined, { to, resume: true, integrity: seededIntegrity(47, 600_000), retry: { count: 2, baseDelay: 1 } }));
    expect(isLocalFileError(run.error)).toBe(true);
    expect(run.error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`cannot resume from ${partial}: it holds ${Math.floor(held / 2)} bytes, not the ${held} counted`) });
    expect(server.requests.filter((r) => r.query.get('key') === 'short-partial')).toEqual([]);
    rmSync(partial, { force: true });
    rmSync(to + PARTIAL_META_SUFFIX, { force: true });
  });

  it('G5 a retry after a cut continues the side file with Range within the same run', async () => {
    const to = target();
    const query = { size: 900_000, seed: 40, etag: 'same', key: 'f-retry', fail: 1, failWith: 'cut' };
    const run = await runTransfer(toFile(server.url('/bytes', query), to, { retry: { count: 1, baseDelay: 10 }, integrity: seededIntegrity(40, 900_000), progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    const [, second] = server.requests.filter((r) => r.query.get('key') === 'f-retry');
    expect(second!.headers['range']).toMatch(/^bytes=[1-9]\d*-$/);
    expect(await fileSha256(to)).toBe(seededSha256Hex(40, 900_000));
    const loaded = run.progress.map((p) => p.loaded);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
  });

  it('G5 a resumed download whose ETag changed starts over and is never spliced', async () => {
    const to = target();
    await runTransfer(toFile(server.url('/bytes', { size: 800_000, seed: 35, etag: 'old', cut: 300_000 }), to, { resume: true }));
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(true);
    const run = await runTransfer(toFile(server.url('/bytes', { size: 800_000, seed: 36, etag: 'new' }), to, { resume: true }));
    expect(run.error).toBeUndefined();
    expect(await fileSha256(to)).toBe(seededSha256Hex(36, 800_000));
  });

  it('G5 S3 a 206 of another version (a server that ignores If-Range) is never appended: the download starts over', async () => {
    const to = target();
    await runTransfer(toFile(server.url('/bytes', { size: 800_000, seed: 41, etag: 'old', cut: 300_000 }), to, { resume: true }));
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(true);
    const key = `ignore-if-range-${n}`;
    const run = await runTransfer(toFile(server.url('/bytes', { size: 800_000, seed: 42, etag: 'new', ifRange: 'ignore', key }), to, { resume: true }));
    expect(run.error).toBeUndefined();
    const [ranged, whole] = server.requests.filter((r) => r.query.get('key') === key);
    expect(ranged!.headers['if-range']).toBe('"old"');
    expect(whole!.headers['range']).toBeUndefined();
    expect(await fileSha256(to)).toBe(seededSha256Hex(42, 800_000));
    const loaded = run.progress.map((p) => p.loaded);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
  });

  it('G5 a retry within a run is never spliced from two versions either (in memory)', async () => {
    // Version "a" (all 0x61) is cut after 400 bytes; the resource is then "b" (all 0x62), and the
    // server answers the retry's Range with a 206 of "b" whatever its If-Range says.
    const seen: Array<{ range?: string; ifRange?: string }> = [];
    const versioned = createServer((req, res) => {
      seen.push({ range: req.headers['range'], ifRange: req.headers['if-range'] as string | undefined });
      if (seen.length === 1) {
        res.writeHead(200, { ETag: '"a"', 'Content-Length': 1000 });
        res.write(Buffer.alloc(400, 0x61));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      const body = Buffer.alloc(1000, 0x62);
      const m = /^bytes=(\d+)-$/.exec(req.headers['range'] ?? '');
      if (!m) return void res.writeHead(200, { ETag: '"b"', 'Content-Length': 1000 }).end(body);
      const from = Number(m[1]);
      res.writeHead(206, { ETag: '"b"', 'Content-Range': `bytes ${from}-999/1000`, 'Content-Length': 1000 - from }).end(body.subarray(from));
    });
    await new Promise<void>((ready) => versioned.listen(0, '127.0.0.1', ready));
    try {
      const { port } = versioned.address() as AddressInfo;
      const run = await runTransfer(download(`http://127.0.0.1:${port}/v`, { responseType: 'arraybuffer', retry: { count: 3, baseDelay: 10 } }));
      expect(run.error).toBeUndefined();
      expect(seen[1]).toEqual({ range: 'bytes=400-', ifRange: '"a"' });
      expect(seen[2]!.range).toBeUndefined();
      expect(Buffer.from(run.result!.data as ArrayBuffer).equals(Buffer.alloc(1000, 0x62))).toBe(true);
    } finally {
      await new Promise<void>((closed) => versioned.close(() => closed()));
      versioned.closeAllConnections();
    }
  });

  it('G5 a partial file that holds the whole body (a 416 on resume) over maxBytes is too large, not done', async () => {
    const full = createServer((req, res) => {
      if (req.headers['range'] === 'bytes=1000-') return void res.writeHead(416, { ETag: '"v1"', 'Content-Range': 'bytes */1000' }).end();
      res.writeHead(200, { ETag: '"v1"', 'Content-Length': 1000 }).end(Buffer.alloc(1000, 1));
    });
    await new Promise<void>((ready) => full.listen(0, '127.0.0.1', ready));
    try {
      const url = `http://127.0.0.1:${(full.address() as AddressInfo).port}/whole`;
      const to = target();
      writeFileSync(`${to}.partial`, Buffer.alloc(1000, 1));
      writeFileSync(`${to}.partial.json`, JSON.stringify({ validator: '"v1"' }));
      const run = await runTransfer(toFile(url, to, { resume: true, maxBytes: 500 }));
      expect(run.error).toMatchObject({ code: 'integrity', reason: 'too-large' });
      expect(existsSync(to)).toBe(false);
      // Within the limit, the same bytes are done.
      writeFileSync(`${to}.partial`, Buffer.alloc(1000, 1));
      writeFileSync(`${to}.partial.json`, JSON.stringify({ validator: '"v1"' }));
      const ok = await runTransfer(toFile(url, to, { resume: true, maxBytes: 1000 }));
      expect(ok.error).toBeUndefined();
      expect(ok.result).toMatchObject({ status: 416, size: 1000 });
    } finally {
      full.closeAllConnections();
      await new Promise<void>((closed) => full.close(() => closed()));
    }
  });

  it('G5 a 416 of another version whose size is the bytes held is not taken for "already complete"', async () => {
    // Version "a" (1000 bytes of 0x61) is cut after 600; the resource is then "b", 600 bytes of
    // 0x62, and a server that ignores If-Range answers `Range: bytes=600-` with 416 */600.
    const seen: Array<string | undefined> = [];
    const versioned = createServer((req, res) => {
      seen.push(req.headers['range']);
      if (seen.length === 1) {
        res.writeHead(200, { ETag: '"a"', 'Content-Length': 1000 });
        res.write(Buffer.alloc(600, 0x61));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      if (req.headers['range'] !== undefined) return void res.writeHead(416, { ETag: '"b"', 'Content-Range': 'bytes */600' }).end();
      res.writeHead(200, { ETag: '"b"', 'Content-Length': 600 }).end(Buffer.alloc(600, 0x62));
    });
    await new Promise<void>((ready) => versioned.listen(0, '127.0.0.1', ready));
    try {
      const { port } = versioned.address() as AddressInfo;
      const run = await runTransfer(download(`http://127.0.0.1:${port}/v`, { responseType: 'arraybuffer', retry: { count: 3, baseDelay: 10 } }));
      expect(run.error).toBeUndefined();
      expect(seen).toEqual([undefined, 'bytes=600-', undefined]);
      expect(Buffer.from(run.result!.data as ArrayBuffer).equals(Buffer.alloc(600, 0x62))).toBe(true);
    } finally {
      await new Promise<void>((closed) => versioned.close(() => closed()));
      versioned.closeAllConnections();
    }
  });

  it('G5 a weak ETag is never used for If-Range: the download starts over', async () => {
    const to = target();
    await runTransfer(toFile(server.url('/bytes', { size: 600_000, seed: 37, etag: 'w', weak: 1, cut: 200_000 }), to, { resume: true }));
    const requested = server.nextRequest('/bytes');
    const run = await runTransfer(toFile(server.url('/bytes', { size: 600_000, seed: 37, etag: 'w', weak: 1 }), to, { resume: true }));
    expect(run.error).toBeUndefined();
    const rec = await requested;
    expect(rec.headers['if-range']).toBeUndefined();
    expect(rec.headers['range']).toBeUndefined();
    expect(await fileSha256(to)).toBe(seededSha256Hex(37, 600_000));
  });

  it('G5 Last-Modified serves as the validator when there is no ETag', async () => {
    const to = target();
    const lastModified = Date.UTC(2024, 0, 2, 3, 4, 5);
    await runTransfer(toFile(server.url('/bytes', { size: 600_000, seed: 38, lastModified, cut: 250_000 }), to, { resume: true }));
    const key = `last-modified-${n}`;
    const run = await runTransfer(toFile(server.url('/bytes', { size: 600_000, seed: 38, lastModified, key }), to, { resume: true }));
    expect(run.error).toBeUndefined();
    // One request, continued: the bytes on disk were appended to, not downloaded again.
    const requests = server.requests.filter((r) => r.query.get('key') === key);
    expect(requests.map((r) => [r.headers['range'], r.headers['if-range']])).toEqual([[expect.stringMatching(/^bytes=[1-9]\d*-$/), new Date(lastModified).toUTCString()]]);
    expect(run.progress[0]!.loaded).toBeGreaterThan(0);
    expect(await fileSha256(to)).toBe(seededSha256Hex(38, 600_000));
  });

  it.each([
    ['an ETag only on the 200', { etag: '"e1"' }, {}],
    ['Last-Modified and Date only on the 200', { 'last-modified': 'Tue, 02 Jan 2024 03:04:05 GMT', date: 'Wed, 03 Jan 2024 03:04:05 GMT' }, {}],
    ['Last-Modified on the 206 too, without a Date', { 'last-modified': 'Tue, 02 Jan 2024 03:04:05 GMT', date: 'Wed, 03 Jan 2024 03:04:05 GMT' }, { 'last-modified': 'Tue, 02 Jan 2024 03:04:05 GMT' }],
  ])('G5 a 206 that repeats no validator (or the same one) continues the bytes held: %s', async (_what, onFull: Record<string, string>, on206: Record<string, string>) => {
    // RFC 9110 has a 206 repeat the ETag, but not Last-Modified, and servers differ: what does
    // not name another version is appended to.
    const seen: Array<string | undefined> = [];
    const body = Buffer.alloc(1000, 0x63);
    const plain = createServer((req, res) => {
      res.sendDate = false; // no automatic Date: only the headers the case gives
      seen.push(req.headers['range']);
      const m = /^bytes=(\d+)-$/.exec(req.headers['range'] ?? '');
      if (m) {
        const from = Number(m[1]);
        return void res.writeHead(206, { ...on206, 'Content-Range': `bytes ${from}-999/1000`, 'Content-Length': 1000 - from }).end(body.subarray(from));
      }
      res.writeHead(200, { ...onFull, 'Content-Length': 1000 });
      res.write(body.subarray(0, 400));
      setTimeout(() => res.destroy(), 20);
    });
    await new Promise<void>((ready) => plain.listen(0, '127.0.0.1', ready));
    try {
      const { port } = plain.address() as AddressInfo;
      const run = await runTransfer(download(`http://127.0.0.1:${port}/p`, { responseType: 'arraybuffer', retry: { count: 2, baseDelay: 10 } }));
      expect(run.error).toBeUndefined();
      expect(seen).toEqual([undefined, 'bytes=400-']);
      expect(Buffer.from(run.result!.data as ArrayBuffer).equals(body)).toBe(true);
    } finally {
      await new Promise<void>((closed) => plain.close(() => closed()));
      plain.closeAllConnections();
    }
  });

  it('G5 a server that ignores Range (200) restarts the file from zero', async () => {
    const to = target();
    await runTransfer(toFile(server.url('/bytes', { size: 500_000, seed: 39, etag: 'x', cut: 100_000 }), to, { resume: true }));
    const run = await runTransfer(toFile(server.url('/bytes', { size: 500_000, seed: 39, etag: 'x', ranges: 0 }), to, { resume: true }));
    expect(run.error).toBeUndefined();
    expect(await fileSha256(to)).toBe(seededSha256Hex(39, 500_000));
  });

  it('G5 a 206 to a request for the whole body is never done with the part: a part from byte 0 is a body cut short (a retry continues it), any other fails', async () => {
    // A server that answers a request without Range with the first 400 bytes of 1000 (or, on
    // /middle, bytes 200-599), and a Range request as it should.
    const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const seen: Array<string | undefined> = [];
    const parts = createServer((req, res) => {
      seen.push(req.headers['range']);
      const m = /^bytes=(\d+)-$/.exec(req.headers['range'] ?? '');
      const [from, to] = m ? [Number(m[1]), 999] : req.url === '/middle' ? [200, 599] : [0, 399];
      res.writeHead(206, { ETag: '"p"', 'Content-Range': `bytes ${from}-${to}/1000`, 'Content-Length': to - from + 1 }).end(body.subarray(from, to + 1));
    });
    await new Promise<void>((ready) => parts.listen(0, '127.0.0.1', ready));
    try {
      const { port } = parts.address() as AddressInfo;
      const once = target();
      const cut = await runTransfer(toFile(`http://127.0.0.1:${port}/first`, once));
      expect(cut.error).toMatchObject({ code: 'integrity', reason: 'truncated', message: expect.stringContaining('400 of 1000 bytes') });
      expect(existsSync(once)).toBe(false);
      seen.length = 0;
      const retried = target();
      const whole = await runTransfer(toFile(`http://127.0.0.1:${port}/first`, retried, { retry: { count: 1, baseDelay: 1 } }));
      expect(whole.error).toBeUndefined();
      expect(seen).toEqual([undefined, 'bytes=400-']);
      expect(readFileSync(retried).equals(body)).toBe(true);
      const middle = target();
      const other = await runTransfer(toFile(`http://127.0.0.1:${port}/middle`, middle));
      expect(other.error).toMatchObject({ code: 'network', message: expect.stringContaining('bytes 200-599/1000') });
      expect(existsSync(middle)).toBe(false);
    } finally {
      await new Promise<void>((closed) => parts.close(() => closed()));
      parts.closeAllConnections();
    }
  });

  it("G5 S3 bytes of the caller's own Range are never continued as the start of the file by a later resume", async () => {
    const to = target();
    // Bytes 500 000-799 999 asked for, cut after 100 000 of them: kept (resume), but they are not the file's start.
    const first = await runTransfer(toFile(server.url('/bytes', { size: 800_000, seed: 51, etag: 'v51', cut: 100_000 }), to, { resume: true, headers: { Range: 'bytes=500000-' } }));
    expect(first.error).toMatchObject({ code: 'integrity', reason: 'truncated' });
    const key = `user-range-${n}`;
    const run = await runTransfer(toFile(server.url('/bytes', { size: 800_000, seed: 51, etag: 'v51', key }), to, { resume: true }));
    expect(run.error).toBeUndefined();
    expect(server.requests.filter((r) => r.query.get('key') === key).map((r) => r.headers['range'])).toEqual([undefined]);
    expect(await fileSha256(to)).toBe(seededSha256Hex(51, 800_000));
  });

  it('G5 bytes kept after a digest mismatch (keepPartial: true) are never resumed: the next run starts over instead of failing on them again', async () => {
    const to = target();
    const size = 300_000;
    // The first answer is seed 53's bytes, not those the integrity names (seed 52's).
    const bad = await runTransfer(toFile(server.url('/bytes', { size, seed: 53, etag: 'v52' }), to, { resume: true, integrity: seededIntegrity(52, size) }));
    expect(bad.error).toMatchObject({ code: 'integrity', reason: 'digest' });
    expect(existsSync(to + PARTIAL_SUFFIX)).toBe(true);
    const key = `digest-kept-${n}`;
    const run = await runTransfer(toFile(server.url('/bytes', { size, seed: 52, etag: 'v52', key }), to, { resume: true, integrity: seededIntegrity(52, size) }));
    expect(run.error).toBeUndefined();
    expect(server.requests.filter((r) => r.query.get('key') === key).map((r) => r.headers['range'])).toEqual([undefined]);
    expect(await fileSha256(to)).toBe(seededSha256Hex(52, size));
  });
});

describe('uploads: the body sent is the body declared', () => {
  /** `fileBody(path)` whose attempts are counted. */
  const countedFile = (path: string) => {
    const body = fileBody(path);
    const counted = { ...body, opens: 0, open: () => (counted.opens++, body.open()) };
    return counted;
  };

  it('G9 G4 a connect that hangs ends in the connect phase, with no upload byte counted', async () => {
    const hole = await startBlackhole();
    try {
      const run = await runTransfer(upload(hole.url, new Uint8Array(1_000_000), { method: 'PUT', timeout: { connect: 500, idle: 5000 }, progressInterval: 0 }), 20_000);
      expect(run.error).toMatchObject({ code: 'timeout', phase: 'connect' });
      expect(run.progress.filter((p) => p.loaded > 0)).toEqual([]);
    } finally {
      await hole.close();
    }
  }, 30_000);

  it("a file gone before the upload is 'invalid', named, and never retried", async () => {
    const from = target();
    writeFileSync(from, 'x');
    const body = countedFile(from);
    rmSync(from);
    const run = await runTransfer(upload(server.url('/upload'), body, { method: 'PUT', retry: { count: 2, baseDelay: 1 } }));
    expect(run.error).toMatchObject({ code: 'invalid' });
    expect((run.error as Error).message).toContain(`cannot send the request body: ENOENT`);
    expect((run.error as Error).message).toContain(from);
    expect(body.opens).toBe(1);
  });

  it("a Node stream that fails before the transfer is subscribed to (a file stream of a missing file) is 'invalid', a local error, never an uncaught 'error' event", async () => {
    const missing = target();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    // Without a listener, the stream's 'error' is an uncaught exception (in a plain Node
    // process, its end: checked by hand with the built package); any that reaches here is kept.
    process.on('uncaughtException', onUncaught);
    try {
      const stream = createReadStream(missing);
      const transfer = upload(server.url('/upload', { key: 'early-error' }), stream, { method: 'PUT', retry: { count: 2, baseDelay: 1 } });
      // Given to upload() again (a plan rebuilt, say): still one listener of the library's.
      upload(server.url('/upload'), stream, { method: 'PUT' });
      expect(stream.listenerCount('error')).toBe(1);
      // The stream fails on its own (its open) before anyone subscribes.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const run = await runTransfer(transfer);
      expect(uncaught).toEqual([]);
      expect(isLocalFileError(run.error)).toBe(true);
      expect(run.error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`cannot send the request body: ENOENT`) });
      expect(server.requests.filter((r) => r.query.get('key') === 'early-error')).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it("a file whose size changed since fileBody() is 'invalid' before a byte is sent, grown or shrunk", async () => {
    for (const [size, now] of [[100_000, 150_000], [100_000, 40_000]] as const) {
      const from = target();
      writeFileSync(from, new Uint8Array(size));
      const body = countedFile(from);
      writeFileSync(from, new Uint8Array(now));
      const before = server.requests.length;
      const run = await runTransfer(upload(server.url('/upload'), body, { method: 'PUT', retry: { count: 2, baseDelay: 1 }, timeout: { idle: 10_000 } }), 8000);
      expect(run.error).toMatchObject({ code: 'invalid' });
      expect((run.error as Error).message).toContain(`changed size since fileBody(): ${size} bytes then, ${now} now`);
      expect(body.opens).toBe(1);
      expect(run.progress.filter((p) => p.direction === 'upload' && p.loaded > 0)).toEqual([]);
      // At most the request's head reached the server (Node sends it with the first byte of the body), no byte of the body.
      await delay(50);
      expect(server.requests.length - before).toBeLessThanOrEqual(1);
      expect(server.requests.slice(before).map((r) => r.bytesReceived)).toEqual(server.requests.length > before ? [0] : []);
    }
  });

  it('a connection reset while a file is sent is the network\'s: retried, the file sent whole', async () => {
    const from = target();
    const size = 8 << 20;
    await pipeline(Readable.from(seededChunks(44, 0, size, 1 << 20)), createWriteStream(from));
    for (let round = 0; round < 3; round++) {
      const key = `reset-upload-${round}`;
      const run = await runTransfer(upload(server.url('/upload', { key, fail: 1, failWith: 'reset' }), fileBody(from), { method: 'PUT', retry: { count: 1, baseDelay: 1 }, responseType: 'json' }), 20_000);
      expect(run.error).toBeUndefined();
      expect(run.result!.data).toMatchObject({ bytes: size, sha256: seededSha256Hex(44, size) });
      expect(server.hits(key)).toBe(2);
    }
  }, 60_000);

  /** A 3 MiB file as a `fileBody`, appended to once its first read went out. */
  function growingFile(): BodySource {
    const from = target();
    writeFileSync(from, new Uint8Array(3 << 20));
    const body = fileBody(from);
    return {
      ...body,
      async *open() {
        let first = true;
        for await (const chunk of body.open()) {
          yield chunk;
          if (first) appendFileSync(from, new Uint8Array(1000));
          first = false;
        }
      },
    };
  }

  it("a file that holds more than its size by the end of the read (grown meanwhile; a /proc file, whose stat says 0) is 'invalid', never sent cut short", async () => {
    const before = server.requests.length;
    const proc = await runTransfer(upload(server.url('/upload'), fileBody('/proc/self/status'), { method: 'PUT', retry: { count: 2, baseDelay: 1 } }));
    expect(proc.error).toMatchObject({ code: 'invalid' });
    expect((proc.error as Error).message).toContain('/proc/self/status holds more than the 0 bytes it had when fileBody() read its size');
    expect(server.requests.length - before).toBeLessThanOrEqual(1);
    // Appended to once its first MiB was read.
    const run = await runTransfer(upload(server.url('/upload'), growingFile(), { method: 'PUT' }));
    expect(run.error).toMatchObject({ code: 'invalid' });
    expect((run.error as Error).message).toMatch(/holds more than the 3145728 bytes .*\(it grew while it was read\)/);
  });

  it("a file that grew while it was read is never sent whole to its first size: the server never gets a complete request it could answer", async () => {
    // A server that answers as soon as the declared bytes are in: the upload must fail before
    // the last of them goes out, or the answer can come first and the cut file be `done`.
    for (let round = 0; round < 3; round++) {
      const requested = server.nextRequest('/upload');
      const run = await runTransfer(upload(server.url('/upload'), growingFile(), { method: 'PUT' }));
      expect(run.error).toMatchObject({ code: 'invalid', message: expect.stringContaining('(it grew while it was read)') });
      const received = await within((await requested).bodyEnded, 5_000, undefined);
      expect(received).toMatchObject({ complete: false });
      expect(received!.bytes).toBeLessThan(3 << 20);
    }
  });

  it("a file rewritten in place while it was read (the same size: a database, a log's pages) is 'invalid', never sent whole as a mix of two versions", async () => {
    // A server that answers as soon as the declared bytes are in: the upload must fail before
    // the last of them goes out, or the mixed file would be `done`.
    for (let round = 0; round < 2; round++) {
      const from = target();
      writeFileSync(from, new Uint8Array(3 << 20).fill(1));
      // Its time set well back: the rewrite below gets another one on any file system's clock.
      utimesSync(from, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      const body = fileBody(from);
      const rewritten: BodySource = {
        ...body,
        async *open() {
          let first = true;
          for await (const chunk of body.open()) {
            yield chunk;
            // Its first MiB (sent already) rewritten with other bytes, its size unchanged.
            if (first) writeFileSync(from, new Uint8Array(3 << 20).fill(2));
            first = false;
          }
        },
      };
      const requested = server.nextRequest('/upload');
      const run = await runTransfer(upload(server.url('/upload'), rewritten, { method: 'PUT', expectContinue: false, retry: { count: 2, baseDelay: 1 } }));
      expect(run.error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`${from} was modified while it was read`) });
      const received = await within((await requested).bodyEnded, 5_000, undefined);
      expect(received).toMatchObject({ complete: false });
      expect(received!.bytes).toBeLessThan(3 << 20);
    }
  });

  it("a file replaced by a FIFO after fileBody() fails the attempt as 'invalid' at once: its open never waits for a writer (that would hold a thread of Node's pool for good)", async () => {
    const from = target();
    writeFileSync(from, 'body');
    const body = fileBody(from);
    rmSync(from);
    execFileSync('mkfifo', [from]);
    try {
      const run = await within(runTransfer(upload(server.url('/upload'), body, { method: 'PUT', expectContinue: false, retry: { count: 2, baseDelay: 1 } })), 5_000, undefined);
      expect(run?.error).toMatchObject({ code: 'invalid', message: expect.stringContaining(`${from} is no longer a regular file`) });
    } finally {
      // Without the fix, the open waits for a writer: one that comes and goes lets it end.
      try {
        const writer = await open(from, constants.O_WRONLY | constants.O_NONBLOCK);
        await writer.close();
      } catch {
        // no reader waiting (ENXIO): nothing to release
      }
    }
  });

  it("a stream body that breaks before the connection is up ends the upload at once as 'invalid' (not at the connect limit)", async () => {
    const hole = await startBlackhole();
    try {
      const broken = new Readable({ read() {} });
      setTimeout(() => broken.destroy(new Error('the source broke')), 50);
      const started = Date.now();
      const run = await runTransfer(upload(hole.url, broken, { method: 'PUT', timeout: { connect: 5000 } }), 10_000);
      expect(run.error).toMatchObject({ code: 'invalid' });
      expect((run.error as Error).message).toContain('cannot send the request body: the source broke');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await hole.close();
    }
  });

  it("a source that throws is 'invalid' with its own message, not a retried network error", async () => {
    let opens = 0;
    const body = {
      kind: 'source' as const,
      size: 300_000,
      replayable: true,
      async *open() {
        opens++;
        yield new Uint8Array(100_000);
        throw new Error('the disk broke');
      },
    };
    const run = await runTransfer(upload(server.url('/upload'), body, { method: 'PUT', retry: { count: 2, baseDelay: 1 } }));
    expect(run.error).toMatchObject({ code: 'invalid' });
    expect((run.error as Error).message).toContain('cannot send the request body: the disk broke');
    expect(opens).toBe(1);
  });

  it("a source shorter or longer than the size it declares is 'invalid' at once: no wait for the idle limit, no extra bytes on the connection", async () => {
    for (const [declared, actual, message] of [[300_000, 200_000, 'the body ended after 200000 of the 300000 bytes declared'], [300_000, 400_000, 'the body is longer than the 300000 bytes declared']] as const) {
      const body = {
        kind: 'source' as const,
        size: declared,
        replayable: true,
        async *open() {
          for (let at = 0; at < actual; at += 100_000) yield new Uint8Array(100_000);
        },
      };
      const started = Date.now();
      const run = await runTransfer(upload(server.url('/upload'), body, { method: 'PUT', timeout: { idle: 20_000 } }), 10_000);
      expect(run.error).toMatchObject({ code: 'invalid' });
      expect((run.error as Error).message).toContain(message);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(Math.max(0, ...run.progress.map((p) => p.loaded))).toBeLessThanOrEqual(declared);
    }
  });
});

describe('in-memory results', () => {
  it('G5 an arraybuffer or uint8array result holds the body and nothing else, when its chunk sits in a larger Node buffer (a gzip block, a pooled chunk)', async () => {
    // Buffer#slice() is a view: its `buffer` was the whole 16 KiB zlib block or 8 KiB pool, the
    // process's other memory (headers of other requests, source text) after the body.
    const text = Buffer.from('{"a":1}');
    const packed = gzipSync(text);
    const small = createServer((req, res) => {
      if (req.url === '/gzip') return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(packed.length) }).end(packed);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write('abc');
      res.end('def');
    });
    await new Promise<void>((r) => small.listen(0, '127.0.0.1', () => r()));
    try {
      const base = `http://127.0.0.1:${(small.address() as AddressInfo).port}`;
      for (const [path, body] of [['/gzip', text], ['/chunked', Buffer.from('abcdef')]] as const) {
        const run = await runTransfer(download(`${base}${path}`, { responseType: 'arraybuffer' }));
        expect(run.error).toBeUndefined();
        const data = run.result!.data as ArrayBuffer;
        expect(data).toBeInstanceOf(ArrayBuffer);
        expect(data.byteLength).toBe(run.result!.size);
        expect(Buffer.from(data)).toEqual(body);
        // The same for a Uint8Array: its `buffer` is its own.
        const viewed = await runTransfer(download(`${base}${path}`, { responseType: 'uint8array' }));
        const bytes = viewed.result!.data as Uint8Array;
        expect(Buffer.from(bytes)).toEqual(body);
        expect([bytes.byteOffset, bytes.buffer.byteLength]).toEqual([0, body.length]);
      }
    } finally {
      small.closeAllConnections();
      await new Promise<void>((r) => small.close(() => r()));
    }
  });
});

describe('G12 bounded memory: streaming to and from disk', () => {
  const SIZE = 64 * 1024 * 1024;

  it('G12 a 64 MiB download streams to a file with the right sha256', async () => {
    const to = target();
    const run = await runTransfer(toFile(server.url('/bytes', { size: SIZE, seed: 41 }), to, { integrity: seededIntegrity(41, SIZE) }), 60_000);
    expect(run.error).toBeUndefined();
    expect(run.result!.size).toBe(SIZE);
    expect(await fileSha256(to)).toBe(seededSha256Hex(41, SIZE));
    expect(run.progress.at(-1)).toMatchObject({ loaded: SIZE, total: SIZE, percent: 100 });
    rmSync(to);
  }, 90_000);

  it('G12 a 64 MiB upload from fileBody() arrives whole (sha256 on the server)', async () => {
    const from = target();
    await pipeline(Readable.from(seededChunks(42, 0, SIZE, 1 << 20)), createWriteStream(from));
    const requested = server.nextRequest('/upload');
    const run = await runTransfer(upload(server.url('/upload'), fileBody(from), { method: 'PUT', responseType: 'json' }), 60_000);
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toEqual({ bytes: SIZE, sha256: seededSha256Hex(42, SIZE), method: 'PUT' });
    expect(run.result!.sent).toBe(SIZE);
    const rec = await requested;
    expect(rec.headers['content-length']).toBe(String(SIZE));
    const uploads = run.progress.filter((p) => p.direction === 'upload');
    expect(uploads.at(-1)).toMatchObject({ loaded: SIZE, total: SIZE, percent: 100 });
    rmSync(from);
  }, 90_000);

  it('G12 an upload from a Node readable stream (unknown size) arrives whole', async () => {
    const size = 5_000_000;
    const run = await runTransfer(upload(server.url('/upload'), Readable.from(seededChunks(43, 0, size, 100_000)), { responseType: 'json' }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toMatchObject({ bytes: size, sha256: seededSha256Hex(43, size) });
    await delay(10);
  });
});
