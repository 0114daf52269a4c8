import { download, upload, isIntegrityError, isTransferError, type IntegrityError, type TransferError, type Transfer, type TransferProgress } from 'rxtransfer';
import { recordTransfer, assertTransferGrammar } from 'rxtransfer/testing';
import { startFaultServer, type FaultServer, type Query } from '../helpers/fault-server';
import { seededBytes, seededIntegrity, seededSha256Hex, sha256Hex } from '../helpers/fault-bytes';
import { delay, runTransfer, within } from '../helpers/fault-trace';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileBody } from 'rxtransfer/node';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync, inflateRawSync, inflateSync } from 'node:zlib';

let server: FaultServer;
beforeAll(async () => {
  server = await startFaultServer();
});
afterAll(() => server.close());

const bytesUrl = (query: Query) => server.url('/bytes', query);
const downloadBytes = (query: Query, options: Parameters<typeof download>[1] = {}) =>
  download(bytesUrl(query), { responseType: 'uint8array', ...options }) as Transfer<{ data: Uint8Array; size: number }>;

describe('G2/G3 one end, nothing after it, on every fault', () => {
  const faults: Array<[string, () => Transfer<unknown>, string | undefined]> = [
    ['a small body', () => downloadBytes({ size: 10 }), undefined],
    ['an empty body', () => downloadBytes({ size: 0 }), undefined],
    ['a chunked body', () => downloadBytes({ size: 200_000, length: 0 }), undefined],
    ['a truncated body', () => downloadBytes({ size: 200_000, cut: 70_000 }), 'integrity'],
    ['a reset mid-body', () => downloadBytes({ size: 200_000, resetAfter: 50_000 }), 'integrity'],
    ['a reset before the head', () => download(server.url('/reset')), 'network'],
    ['a stall before the head', () => download(server.url('/stall'), { timeout: { idle: 300 } }), 'timeout'],
    ['a stall mid-body', () => downloadBytes({ size: 100_000, stallAfter: 1000 }, { timeout: { idle: 300 } }), 'timeout'],
    ['a 500', () => download(server.url('/status/500')), 'http'],
    ['a refused connection', () => download('http://127.0.0.1:1/nothing'), 'network'],
    ['a redirect loop', () => download(server.url('/redirect/loop')), 'http'],
    ['an upload', () => upload(server.url('/upload'), seededBytes(2, 300_000)), undefined],
    ['an upload answered 500', () => upload(server.url('/upload', { status: 500 }), seededBytes(2, 300_000)), 'http'],
  ];
  it.each(faults)('G2 G3 %s: exactly one terminal notification, nothing after it', async (_name, make, code) => {
    const recording = recordTransfer(make());
    const trace = await within(recording.ended, 15_000, undefined);
    expect(trace).toBeDefined();
    const length = trace!.length;
    await delay(150); // anything delivered late would show up now
    expect(recording.trace.length).toBe(length);
    assertTransferGrammar(recording.trace);
    const last = recording.trace.at(-1)!;
    if (code === undefined) {
      expect(last.kind).toBe('complete');
      expect(recording.trace.filter((n) => n.kind === 'next' && n.value.type === 'done')).toHaveLength(1);
    } else {
      expect(last.kind).toBe('error');
      expect(isTransferError(last.kind === 'error' && last.error)).toBe(true);
      expect((last as { error: TransferError }).error.code).toBe(code);
      expect(recording.trace.some((n) => n.kind === 'next' && n.value.type === 'done')).toBe(false);
    }
    recording.unsubscribe();
  });
});

describe('G3 nothing after the end', () => {
  it('G3 nothing after error: a total timeout mid-drip delivers nothing more while the server keeps sending', async () => {
    const recording = recordTransfer(downloadBytes({ size: 5_000_000, chunk: 4_096, delay: 10 }, { timeout: { total: 400 }, progressInterval: 0 }));
    const trace = await within(recording.ended, 10_000, undefined);
    expect(trace?.at(-1)?.kind).toBe('error');
    const length = recording.trace.length;
    await delay(500);
    expect(recording.trace.length).toBe(length);
    assertTransferGrammar(recording.trace);
    recording.unsubscribe();
  });

  it('G3 nothing after done: surplus bytes on the wire after the declared body deliver nothing', async () => {
    const recording = recordTransfer(downloadBytes({ size: 50_000, extra: 200_000, keepAlive: 1, chunk: 1_000 }, { progressInterval: 0 }));
    const trace = await within(recording.ended, 10_000, undefined);
    expect(trace).toBeDefined();
    const length = recording.trace.length;
    await delay(300);
    expect(recording.trace.length).toBe(length);
    assertTransferGrammar(recording.trace);
    recording.unsubscribe();
  });
});

describe('G4 ordered progress', () => {
  it('G4 gzip without Content-Length: total unknown, no percent, the decoded size at the end', async () => {
    const run = await runTransfer(downloadBytes({ size: 300_000, seed: 4, gzip: 1, length: 0 }, { progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.progress.length).toBeGreaterThan(0);
    for (const p of run.progress.slice(0, -1)) {
      expect(p.total).toBeUndefined();
      expect(p.percent).toBeUndefined();
    }
    expect(sha256Hex(run.result!.data)).toBe(seededSha256Hex(4, 300_000));
  });

  it('an empty body labelled gzip (Content-Length: 0) is an empty result, as axios and fetch give, not a network error', async () => {
    const run = await runTransfer(downloadBytes({ size: 0, encoding: 'gzip' }, { responseType: 'text', retry: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe('');
    expect(run.result!.size).toBe(0);
  });

  it('G4 gzip with the compressed Content-Length: never a percent above 100, never a false size error', async () => {
    const run = await runTransfer(downloadBytes({ size: 500_000, seed: 5, gzip: 1, length: 1, chunk: 4096 }, { progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    for (const p of run.progress) {
      if (p.total !== undefined) expect(p.loaded).toBeLessThanOrEqual(p.total);
      expect(p.percent ?? 0).toBeLessThanOrEqual(100);
    }
    // The compressed length (well under 500 000) is never taken for the decoded total.
    expect(run.progress.slice(0, -1).every((p) => p.total === undefined)).toBe(true);
    expect(run.result!.size).toBe(500_000);
    expect(sha256Hex(run.result!.data)).toBe(seededSha256Hex(5, 500_000));
  });

  it('G4 an unknown Content-Encoding: total unknown until the end, no false size error', async () => {
    const run = await runTransfer(downloadBytes({ size: 200_000, seed: 16, encoding: 'x-custom', chunk: 8192 }, { progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.progress.slice(0, -1).every((p) => p.total === undefined && p.percent === undefined)).toBe(true);
    expect(sha256Hex(run.result!.data)).toBe(seededSha256Hex(16, 200_000));
  });

  it('G4 all upload progress comes before download progress, each monotonic', async () => {
    const body = seededBytes(6, 2_000_000);
    const run = await runTransfer(upload(server.url('/upload'), body, { responseType: 'json', progressInterval: 0 }));
    expect(run.error).toBeUndefined();
    const directions = run.progress.map((p) => p.direction);
    expect(directions.lastIndexOf('upload')).toBeLessThan(Math.max(directions.indexOf('download'), directions.length));
    const uploads = run.progress.filter((p) => p.direction === 'upload');
    expect(uploads.at(-1)).toMatchObject({ loaded: 2_000_000, total: 2_000_000, percent: 100 });
    expect((run.result as { data: { sha256: string } }).data.sha256).toBe(sha256Hex(body));
  });

  it('G4 loaded never goes back across a retry after a truncated attempt', async () => {
    const run = await runTransfer(
      downloadBytes({ size: 400_000, seed: 8, key: 'g4-retry', fail: 1, failWith: 'cut' }, { retry: { count: 2, baseDelay: 10 }, progressInterval: 0 }),
    );
    expect(run.error).toBeUndefined();
    expect(server.hits('g4-retry')).toBe(2);
    expect(run.progress.some((p) => p.attempt === 2)).toBe(true);
    const loaded = run.progress.filter((p) => p.direction === 'download').map((p) => p.loaded);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));
    expect(sha256Hex(run.result!.data)).toBe(seededSha256Hex(8, 400_000));
  });

  it('G4 an upload the server answers (2xx) before reading it: neither progress nor done claims bytes that were not sent', async () => {
    const size = 64 * 1024 * 1024;
    let received = 0;
    // Answers at the request's head and reads nothing more (written raw: node:http would drain the body).
    const early = createServer((req) => {
      req.socket.pause();
      req.socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
      req.on('data', (chunk: Buffer) => void (received += chunk.length));
    });
    await new Promise<void>((r) => early.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(early.address() as AddressInfo).port}/u`;
      // Without Expect: 100-continue, which would hold the whole body back (see expect-continue.spec.ts).
      const run = await runTransfer(upload(url, Buffer.alloc(size, 9), { method: 'PUT', progressInterval: 0, responseType: 'text', expectContinue: false }), 10_000);
      expect(run.error).toBeUndefined();
      expect(run.result!.data).toBe('ok');
      const sent = run.result!.sent;
      expect(sent).toBeLessThan(size);
      expect(sent).toBeGreaterThanOrEqual(received);
      const uploads = run.progress.filter((p) => p.direction === 'upload');
      expect(uploads.at(-1)!.loaded).toBeLessThanOrEqual(sent);
      expect(uploads.at(-1)!.percent).toBeLessThan(100);
      expect(run.progress.at(-1)).toMatchObject({ direction: 'download', loaded: 2, total: 2, percent: 100 });
    } finally {
      early.closeAllConnections();
      await new Promise<void>((r) => early.close(() => r()));
    }
  });

  it('G4 upload progress counts bytes handed to the socket: below 100% while the server does not read', async () => {
    const size = 64 * 1024 * 1024;
    const body = Buffer.alloc(size, 7);
    const seen: TransferProgress[] = [];
    const requested = server.nextRequest('/upload');
    const subscription = upload(server.url('/upload', { read: 0 }), body, { progressInterval: 0 }).subscribe({
      next: (e) => void (e.type === 'progress' && seen.push(e)),
      error: (e) => seen.push({ error: e } as never),
    });
    const rec = await within(requested, 5_000, undefined);
    expect(rec).toBeDefined();
    await delay(1_500); // let the socket buffers fill up
    subscription.unsubscribe();
    const uploads = seen.filter((p) => p.direction === 'upload');
    expect(uploads.length).toBeGreaterThan(0);
    const last = uploads.at(-1)!;
    expect(last.total).toBe(size);
    expect(last.loaded).toBeLessThan(size);
    expect(last.percent!).toBeLessThan(100);
    // A server that does not read cannot see the close before it reads what is buffered.
    rec!.release();
    expect(await within(rec!.closedEarly, 5_000, 'still open')).toBe(true);
    const received = await rec!.bodyEnded;
    expect(received.complete).toBe(false);
    expect(received.bytes).toBeLessThan(size);
  });

  it('G4 on a slow link upload progress moves in small steps, though the file is read in 1 MiB reads', async () => {
    // A server that takes ~4 MB/s: once the socket buffers (several MiB on loopback) are full,
    // 1 MiB is taken in ~0.25 s; counted as whole reads, the progress would move 4 times a second.
    const slow = createServer((req, res) => {
      let got = 0;
      const timer = setInterval(() => {
        const chunk = req.read(Math.min(64 * 1024, req.readableLength || 64 * 1024)) as Buffer | null;
        got += chunk?.length ?? 0;
      }, 16);
      req.on('end', () => {
        clearInterval(timer);
        res.end(String(got));
      });
      req.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const dir = mkdtempSync(join(tmpdir(), 'rx-slices-'));
    const size = 10 * 1024 * 1024;
    try {
      const path = join(dir, 'body.bin');
      writeFileSync(path, Buffer.alloc(size, 3));
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/up`;
      const run = await runTransfer(upload(url, fileBody(path), { method: 'PUT', progressInterval: 0, responseType: 'text' }), 30_000);
      expect(run.error).toBeUndefined();
      expect(run.result!.data).toBe(String(size));
      const uploads = run.progress.filter((p) => p.direction === 'upload');
      expect(uploads.at(-1)!.loaded).toBe(size);
      // In 1 MiB steps it would be 10 events; where the link sets the pace, it moves by 64 KiB.
      expect(uploads.filter((p) => p.delta > 0 && p.delta <= 64 * 1024).length).toBeGreaterThanOrEqual(32);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
    }
  }, 40_000);
});

describe('G5 success means complete', () => {
  it('G5 the last progress before done is loaded === total and 100%', async () => {
    const run = await runTransfer(downloadBytes({ size: 1_000_000, seed: 9, chunk: 10_000 }));
    const last = run.progress.at(-1)!;
    expect(last).toMatchObject({ loaded: 1_000_000, total: 1_000_000, percent: 100 });
    expect(sha256Hex(run.result!.data)).toBe(seededSha256Hex(9, 1_000_000));
  });

  it('G5 a truncated body is an IntegrityError, never done', async () => {
    const run = await runTransfer(downloadBytes({ size: 300_000, cut: 100_000 }));
    expect(run.result).toBeUndefined();
    expect(isIntegrityError(run.error)).toBe(true);
    expect((run.error as IntegrityError).reason).toBe('truncated');
    expect(Math.max(0, ...run.progress.map((p) => p.percent ?? 0))).toBeLessThan(100);
  });

  it('G5 a truncated chunked body is never done', async () => {
    const run = await runTransfer(downloadBytes({ size: 300_000, cut: 100_000, length: 0 }));
    expect(run.result).toBeUndefined();
    expect(isTransferError(run.error)).toBe(true);
  });

  it('G5 bytes beyond Content-Length never reach the result', async () => {
    const run = await runTransfer(downloadBytes({ size: 10_000, extra: 5_000, seed: 10 }));
    if (run.result) {
      expect(run.result.data.byteLength).toBe(10_000);
      expect(sha256Hex(run.result.data)).toBe(seededSha256Hex(10, 10_000));
    } else {
      expect(isTransferError(run.error)).toBe(true);
    }
    for (const p of run.progress) expect(p.loaded).toBeLessThanOrEqual(10_000);
  });

  it('G5 bytes beyond Content-Length on a kept-alive connection do not leak into the next response', async () => {
    const first = await runTransfer(downloadBytes({ size: 10_000, extra: 5_000, keepAlive: 1, seed: 17 }));
    if (first.result) expect(first.result.data.byteLength).toBe(10_000);
    const second = await runTransfer(downloadBytes({ size: 20_000, seed: 18 }));
    expect(second.error).toBeUndefined();
    expect(sha256Hex(second.result!.data)).toBe(seededSha256Hex(18, 20_000));
  });

  it('G5 a gzip body cut short of its Content-Length is an IntegrityError', async () => {
    const run = await runTransfer(downloadBytes({ size: 200_000, gzip: 1, length: 1, cut: 2_000 }));
    expect(run.result).toBeUndefined();
    expect(isIntegrityError(run.error)).toBe(true);
    expect((run.error as IntegrityError).reason).toBe('truncated');
  });

  it('G5 a chunked gzip body cut short is never done', async () => {
    const run = await runTransfer(downloadBytes({ size: 200_000, gzip: 1, length: 0, cut: 2_000 }));
    expect(run.result).toBeUndefined();
    expect(isTransferError(run.error)).toBe(true);
  });

  it('G5 a body over maxBytes is an IntegrityError (declared or not)', async () => {
    for (const length of [1, 0]) {
      const run = await runTransfer(downloadBytes({ size: 300_000, length }, { maxBytes: 100_000 }));
      expect(run.result).toBeUndefined();
      expect((run.error as IntegrityError).reason).toBe('too-large');
    }
  });

  it('G5 HEAD and 204 end in done with an empty result', async () => {
    const head = await runTransfer(download(bytesUrl({ size: 5_000 }), { method: 'HEAD', responseType: 'uint8array' }));
    expect(head.error).toBeUndefined();
    expect((head.result as { size: number }).size).toBe(0);
    const empty = await runTransfer(download(server.url('/status/204'), { responseType: 'text' }));
    expect(empty.error).toBeUndefined();
    expect((empty.result as { status: number }).status).toBe(204);
  });

  it('G5 a matching integrity ends in done, with the digest in the result', async () => {
    const integrity = seededIntegrity(12, 250_000);
    const run = await runTransfer(download(bytesUrl({ size: 250_000, seed: 12 }), { integrity }));
    expect(run.error).toBeUndefined();
    expect((run.result as { integrity?: string }).integrity).toBe(integrity);
  });

  it('G5 a mismatching integrity is an IntegrityError, never done', async () => {
    const run = await runTransfer(download(bytesUrl({ size: 250_000, seed: 12 }), { integrity: seededIntegrity(13, 250_000) }));
    expect(run.result).toBeUndefined();
    expect(isIntegrityError(run.error)).toBe(true);
    expect((run.error as IntegrityError).reason).toBe('digest');
  });

  it('G5 sha512 integrity is checked too', async () => {
    const run = await runTransfer(download(bytesUrl({ size: 70_000, seed: 14 }), { integrity: seededIntegrity(14, 70_000, 'sha512') }));
    expect(run.error).toBeUndefined();
  });
});

describe('G10 throttling keeps the first and final events', () => {
  it('G10 a download with a large progressInterval shows its first event and 100% before done', async () => {
    const run = await runTransfer(downloadBytes({ size: 2_000_000, chunk: 16_384, delay: 2 }, { progressInterval: 60_000 }));
    expect(run.error).toBeUndefined();
    expect(run.progress.length).toBeGreaterThanOrEqual(2);
    expect(run.progress.length).toBeLessThanOrEqual(3);
    expect(run.progress[0]!.loaded).toBeLessThan(2_000_000);
    expect(run.progress.at(-1)).toMatchObject({ loaded: 2_000_000, total: 2_000_000, percent: 100 });
  });

  it('G10 an upload with a large progressInterval shows upload 100% before the download events', async () => {
    const run = await runTransfer(upload(server.url('/upload'), seededBytes(15, 3_000_000), { progressInterval: 60_000 }));
    expect(run.error).toBeUndefined();
    const uploads = run.progress.filter((p) => p.direction === 'upload');
    expect(uploads[0]!.loaded).toBeLessThan(3_000_000);
    expect(uploads.at(-1)).toMatchObject({ loaded: 3_000_000, percent: 100 });
    expect(run.progress.length).toBeLessThanOrEqual(6);
  });

  it('G10 the default interval still ends in 100%', async () => {
    const run = await runTransfer(downloadBytes({ size: 3_000_000, chunk: 65_536 }));
    expect(run.progress.at(-1)).toMatchObject({ loaded: 3_000_000, percent: 100 });
  });
});

describe('Content-Encoding as servers send it', () => {
  /** A server answering every request with `headers` and `body` (raw bytes as given), counting requests. */
  async function answering(headers: Record<string, string | string[]>, body: Uint8Array) {
    let requests = 0;
    const http = createServer((_req, res) => {
      requests++;
      res.writeHead(200, headers);
      res.end(body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/x`;
    return { url, requests: () => requests, close: () => new Promise<void>((resolve) => (http.closeAllConnections(), http.close(() => resolve()))) };
  }

  it('an empty chunked body labelled gzip (as gzip middleware sends an empty answer) is an empty result', async () => {
    const run = await runTransfer(downloadBytes({ size: 0, encoding: 'gzip', length: 0 }, { responseType: 'text', retry: 0 }));
    expect(run.error).toBeUndefined();
    expect(run.result!.data).toBe('');
  });

  it('a coded body to a file is decoded whole (the head is read, the file opened, then the body)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxtransfer-coded-'));
    try {
      for (const length of [0, 1]) {
        const to = join(dir, `coded-${length}.bin`);
        const run = await runTransfer(download(bytesUrl({ size: 300_000, seed: 8, gzip: 1, length }), { to, retry: 0 }));
        expect(run.error).toBeUndefined();
        expect(sha256Hex(readFileSync(to))).toBe(seededSha256Hex(8, 300_000));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("'deflate' is decoded zlib-wrapped (RFC 9110) or raw (as some servers send it, and axios and browsers take)", async () => {
    for (const body of [deflateSync(Buffer.from('wrapped deflate')), deflateRawSync(Buffer.from('raw deflate'))]) {
      const s = await answering({ 'Content-Encoding': 'deflate', 'Content-Length': String(body.length) }, body);
      try {
        const run = await runTransfer(download(s.url, { responseType: 'text', retry: 0 }));
        expect(run.error).toBeUndefined();
        expect(run.result!.data).toBe(inflateRawOrWrapped(body));
      } finally {
        await s.close();
      }
    }
  });

  it('a list of codings is undone last applied first (gzip then br; gzip twice, as two headers), never delivered still encoded', async () => {
    const text = 'layered '.repeat(200);
    for (const [header, body] of [
      ['gzip, br', brotliCompressSync(gzipSync(Buffer.from(text)))],
      [['gzip', 'gzip'], gzipSync(gzipSync(Buffer.from(text)))],
      ['identity, gzip', gzipSync(Buffer.from(text))],
    ] as const) {
      const s = await answering({ 'Content-Encoding': header as string | string[], 'Content-Length': String(body.length) }, body);
      try {
        const run = await runTransfer(download(s.url, { responseType: 'text', retry: 0 }));
        expect(run.error).toBeUndefined();
        expect(run.result!.data).toBe(text);
      } finally {
        await s.close();
      }
    }
  });

  it('G9 every raw byte of a coded body resets the idle clock, also while the decoder has nothing to give yet', async () => {
    const gz = gzipSync(Buffer.from('payload'));
    const head = Buffer.from(gz.subarray(0, 10));
    head[3] = 0x08; // FLG.FNAME: a file name follows the header, which the decoder reads without output
    const body = Buffer.concat([head, Buffer.from('n'.repeat(12) + '\0'), gz.subarray(10)]);
    const http = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Encoding': 'gzip' });
      let at = 0;
      const step = () => {
        if (res.destroyed) return;
        if (at >= body.length) return void res.end();
        res.write(body.subarray(at, at + 1));
        at++;
        setTimeout(step, at < 23 ? 60 : 0);
      };
      step();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const run = await runTransfer(download(`http://127.0.0.1:${(http.address() as AddressInfo).port}/t`, { responseType: 'text', timeout: { idle: 250 }, retry: 0 }), 10_000);
      expect(run.error).toBeUndefined();
      expect(run.result!.data).toBe('payload');
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it("a body that is not gzip, still arriving when the decoder fails, is 'malformed' at once: not retried, not read to its end", async () => {
    const garbage = Buffer.alloc(2 << 20, 0x41);
    let requests = 0;
    const http = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'Content-Encoding': 'gzip' });
      let at = 0;
      const drip = setInterval(() => {
        if (res.destroyed || at >= garbage.length) {
          clearInterval(drip);
          if (!res.destroyed) res.end();
          return;
        }
        res.write(garbage.subarray(at, at + 65536));
        at += 65536;
      }, 20);
      res.on('close', () => clearInterval(drip));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const run = await runTransfer(download(`http://127.0.0.1:${(http.address() as AddressInfo).port}/g`, { retry: { count: 2, baseDelay: 1 } }), 10_000);
      expect(run.error).toMatchObject({ code: 'integrity', reason: 'malformed' });
      expect(requests).toBe(1);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it("a body that is not the coding it is labelled with, whole on the wire, is an IntegrityError 'malformed', not a retried network error", async () => {
    const bad = Buffer.concat([gzipSync(Buffer.alloc(1000, 65)).subarray(0, 10), Buffer.alloc(50, 0xff)]);
    const s = await answering({ 'Content-Encoding': 'gzip', 'Content-Length': String(bad.length) }, bad);
    try {
      const run = await runTransfer(download(s.url, { retry: { count: 3, baseDelay: 1 } }));
      expect(run.error).toMatchObject({ code: 'integrity', reason: 'malformed' });
      expect((run.error as Error).message).toMatch(/^the body is not valid gzip: /);
      expect(s.requests()).toBe(1);
    } finally {
      await s.close();
    }
  });
});

function inflateRawOrWrapped(body: Buffer): string {
  try {
    return inflateSync(body).toString();
  } catch {
    return inflateRawSync(body).toString();
  }
}

describe('G11 the body excerpt of an error', () => {
  it('keeps what arrived when the rest does not come in time, or the connection breaks', async () => {
    for (const then of ['stall', 'reset'] as const) {
      const http = createServer((_req, res) => {
        res.writeHead(500, { 'Content-Length': '100', 'Content-Type': 'text/plain; charset=iso-8859-1' });
        res.write(Buffer.from('caf\xe9 down', 'latin1'));
        if (then === 'reset') setTimeout(() => res.socket?.resetAndDestroy(), 50);
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      try {
        const started = Date.now();
        const run = await runTransfer(download(`http://127.0.0.1:${(http.address() as AddressInfo).port}/e`, { retry: 0 }), 10_000);
        expect(run.error).toMatchObject({ code: 'http', status: 500, body: 'café down' });
        expect(Date.now() - started).toBeLessThan(then === 'stall' ? 4000 : 1500);
      } finally {
        http.closeAllConnections();
        await new Promise((resolve) => http.close(resolve));
      }
    }
  });
});
