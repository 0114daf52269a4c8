import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { assertTransferGrammar } from 'rxtransfer/testing';
import { bodyBytes, sha256 } from '../helpers/cli-server.js';
import { cliFixture } from '../helpers/cli-fixture.js';
import { cliEntry, jsonLines, runCli, startCli, toNotifications } from '../helpers/cli-run.js';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { open } from 'node:fs/promises';

const fixture = cliFixture('rxtransfer-cli-');
const freshDir = () => fixture.freshDir();

/** Files in a directory, hidden ones included. */
const filesIn = (dir: string) => readdirSync(dir).sort();

describe('rxtransfer get: exit codes', () => {
  it('0: downloads to the URL name, the bytes are right, a summary and no escape codes on stderr', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/data/file.bin?size=200000')], { cwd });
    expect(r.code).toBe(0);
    expect(filesIn(cwd)).toEqual(['file.bin']);
    expect(sha256(readFileSync(join(cwd, 'file.bin')))).toBe(sha256(bodyBytes(200_000)));
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^saved file\.bin \(195\.3 KiB in [\d.]+ s, .+\/s\)\n$/);
    expect(r.stderr.includes('\u001b')).toBe(false);
  });

  it("0: a 304 to the user's If-None-Match says the file is kept as it is (with -J: nothing to name), and leaves it", async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'cached'), 'the copy');
    const url = fixture.server.url('/status/304');
    const kept = await runCli(['get', url, '-H', 'If-None-Match: "v1"', '-o', 'cached', '--force'], { cwd });
    expect(kept.code).toBe(0);
    expect(kept.stderr).toBe('not modified (304): cached kept as it is\n');
    const named = await runCli(['get', url, '-H', 'If-None-Match: "v1"', '-J', '--json'], { cwd });
    expect(named.code).toBe(0);
    expect(jsonLines(named.stdout).at(-1)).toMatchObject({ type: 'done', result: { status: 304, size: 0 } });
    expect(jsonLines(named.stdout).at(-1)!['result']).not.toHaveProperty('path');
    expect(filesIn(cwd)).toEqual(['cached']);
    expect(readFileSync(join(cwd, 'cached'), 'utf8')).toBe('the copy');
  });

  it("0: a 304 with no file at the name says nothing was downloaded, not that a file is kept, and names no path", async () => {
    const cwd = freshDir();
    const url = fixture.server.url('/status/304');
    const plain = await runCli(['get', url, '-H', 'If-None-Match: "v1"', '-o', 'gone'], { cwd });
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('not modified (304): nothing downloaded\n');
    const json = await runCli(['get', url, '-H', 'If-None-Match: "v1"', '-o', 'gone', '--json'], { cwd });
    expect(json.code).toBe(0);
    expect(jsonLines(json.stdout).at(-1)).toMatchObject({ type: 'done', result: { status: 304, size: 0 } });
    expect(jsonLines(json.stdout).at(-1)!['result']).not.toHaveProperty('path');
    expect(filesIn(cwd)).toEqual([]);
  });

  it("3: an HTTP error, one line on stderr, then the server's reason (its body) indented, no file left", async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/status/404')], { cwd });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`rxtransfer: HTTP 404 (GET ${fixture.server.url('/status/404')})\n  status 404\n`);
    expect(filesIn(cwd)).toEqual([]);
  });

  it("3: the server's reason is shown short and terminal-safe: no escape sequences, 5 lines and 300 characters at most; a binary or blank body is not shown", async () => {
    const cwd = freshDir();
    const lines = Array.from({ length: 20 }, (_, i) => `\u001b[31mline ${i}\u001b[0m\u001b]0;title\u0007 ${'x'.repeat(10)}`);
    const url = fixture.server.url(`/status/422?body=${encodeURIComponent(lines.join('\n'))}`);
    const r = await runCli(['get', url], { cwd });
    expect(r.code).toBe(3);
    expect(r.stderr.includes('\u001b')).toBe(false);
    expect(r.stderr.split('\n').slice(1)).toEqual([...[0, 1, 2, 3, 4].map((i) => `  [31mline ${i}[0m]0;title ${'x'.repeat(10)}`.replace(/x$/, (x) => (i === 4 ? 'x…' : x))), '']);
    const long = await runCli(['get', fixture.server.url(`/status/500?body=${'y'.repeat(1000)}`), '--json'], { cwd });
    expect(long.stderr.split('\n')[1]).toBe(`  ${'y'.repeat(300)}…`);
    expect(jsonLines(long.stdout).at(-1)).toMatchObject({ type: 'error', status: 500, body: `${'y'.repeat(300)}…` });
    for (const body of ['%00%01%02binary', '%20%0A%09%0A']) {
      const none = await runCli(['get', fixture.server.url(`/status/500?body=${body}`), '--json'], { cwd });
      expect(none.stderr).toBe(`rxtransfer: HTTP 500 (GET ${fixture.server.url(`/status/500?body=${body}`)})\n`);
      expect(jsonLines(none.stdout).at(-1)).not.toHaveProperty('body');
    }
  });

  it("3: a server that echoes the request in its error: the credentials the command sent are not shown (-H values, the URL's password and its Basic, secret query values)", async () => {
    const cwd = freshDir();
    const basic = Buffer.from('alice:pw-s3cret').toString('base64');
    const url = fixture.server.url('/echo/403?X-Amz-Signature=sig-s3cret&page=2').replace('http://', 'http://alice:pw-s3cret@');
    const r = await runCli(['get', url, '-H', 'Cookie: sid=cookie-s3cret; lang=en', '-H', 'X-Api-Key: key-s3cret', '--json'], { cwd });
    expect(r.code).toBe(3);
    expect(fixture.server.requests.at(-1)!.headers.authorization).toBe(`Basic ${basic}`);
    const body = '{"error":"refused","url":"/echo/403?X-Amz-Signature=REDACTED&page=2","authorization":"Basic REDACTED","cookie":"REDACTED","x-api-key":"REDACTED"}';
    expect(r.stderr.split('\n').slice(1)).toEqual([`  ${body}`, '']);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'error', code: 'http', status: 403, body });
    expect(r.stdout + r.stderr).not.toMatch(/s3cret/);
    expect(r.stdout + r.stderr).not.toContain(basic);
    const bearer = await runCli(['get', fixture.server.url('/echo/401'), '-H', 'Authorization: Bearer tok-s3cret'], { cwd });
    expect(bearer.stderr).toContain('"authorization":"REDACTED"');
    expect(bearer.stderr).not.toMatch(/s3cret/);
  });

  it('4: a network error (connection refused)', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', `http://127.0.0.1:${fixture.server.closedPort}/x.bin`], { cwd });
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(filesIn(cwd)).toEqual([]);
  });

  it('5: an idle timeout; no finished-looking file', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/stall?size=1000&after=10'), '--idle-timeout', '0.3'], { cwd });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^rxtransfer: idle timeout after 300 ms/);
    expect(existsSync(join(cwd, 'stall'))).toBe(false);
  });

  it('5: a total timeout', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/stall?size=1000&after=10'), '--timeout', '0.4'], { cwd });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/total timeout after 400 ms/);
  });

  it('saves the file as the server holds it (asks for identity, as curl): a .tgz stays gzip; -H Accept-Encoding asks otherwise', async () => {
    const cwd = freshDir();
    const before = fixture.server.requests.length;
    const r = await runCli(['get', fixture.server.url('/data/pkg.tgz?size=5000&gzip=1')], { cwd });
    expect(r.code).toBe(0);
    expect(fixture.server.requests[before]!.headers['accept-encoding']).toBe('identity');
    expect(readFileSync(join(cwd, 'pkg.tgz')).equals(bodyBytes(5000))).toBe(true);
    const asked = await runCli(['get', fixture.server.url('/data/page.txt?size=5000&gzip=1'), '-H', 'accept-encoding: gzip'], { cwd });
    expect(asked.code).toBe(0);
    expect(fixture.server.requests.at(-1)!.headers['accept-encoding']).toBe('gzip');
    // Decoded, as the header asked.
    expect(readFileSync(join(cwd, 'page.txt')).equals(bodyBytes(5000))).toBe(true);
  });

  it('6: a body shorter than declared', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/truncated?size=1000&after=500')], { cwd });
    expect(r.code).toBe(6);
    // 500 arrived; under load the connection's end can overtake them (Node drops what the
    // response still buffered when it fails), and fewer were read: the count is what was read.
    const read = /body ended after (\d+) of 1000 bytes/.exec(r.stderr);
    expect(read && Number(read[1])).toBeLessThanOrEqual(500);
    expect(existsSync(join(cwd, 'truncated'))).toBe(false);
  });

  it('6: a digest that does not match --integrity; nothing kept', async () => {
    const cwd = freshDir();
    const wrong = `sha256-${createHash('sha256').update('something else').digest('base64')}`;
    const r = await runCli(['get', fixture.server.url('/data/d.bin?size=5000'), '--integrity', wrong], { cwd });
    expect(r.code).toBe(6);
    expect(filesIn(cwd)).toEqual([]);
  });

  it('0: a digest that matches --integrity is reported in done', async () => {
    const cwd = freshDir();
    const right = `sha256-${createHash('sha256').update(bodyBytes(5000)).digest('base64')}`;
    const r = await runCli(['get', fixture.server.url('/data/d.bin?size=5000'), '--integrity', right, '--json'], { cwd });
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'done', result: { integrity: right, size: 5000 } });
  });

  it('1: the disk under the download fails (over the file size limit: EFBIG): one line, one request although retries are allowed', async () => {
    const cwd = freshDir();
    const url = fixture.server.url('/data/efbig.bin?size=400000');
    const r = await runCli(['get', url, '--retry', '2'], { cwd, fileSizeLimitKiB: 64 });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^rxtransfer: cannot write .*efbig\.bin\.partial: EFBIG/);
    expect(fixture.server.requests.filter((q) => q.url === '/data/efbig.bin?size=400000')).toHaveLength(1);
    expect(existsSync(join(cwd, 'efbig.bin'))).toBe(false);
    // What was written is kept, as after a broken connection, and the line says how to continue.
    const kept = statSync(join(cwd, 'efbig.bin.partial')).size;
    expect(kept).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/kept in efbig\.bin\.partial: run the same command with --resume to continue\n$/);
    const resumed = await runCli(['get', url, '--resume'], { cwd });
    expect(resumed.code).toBe(0);
    expect(fixture.server.requests.at(-1)!.headers.range).toBe(`bytes=${kept}-`);
    expect(readFileSync(join(cwd, 'efbig.bin')).equals(bodyBytes(400_000))).toBe(true);
  });

  it('2: an unsupported scheme, before any request', async () => {
    const cwd = freshDir();
    const before = fixture.server.requests.length;
    const r = await runCli(['get', 'ftp://127.0.0.1/x'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('rxtransfer: unsupported URL scheme ftp: (only http: and https:)\n');
    expect(fixture.server.requests.length).toBe(before);
  });
});

describe('rxtransfer get --json', () => {
  it('prints only JSON lines on stdout, which follow the transfer grammar (success)', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/data/j.bin?size=300000'), '--json'], { cwd });
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    assertTransferGrammar(toNotifications(lines));
    expect(lines.filter((l) => l['type'] === 'progress').length).toBeGreaterThanOrEqual(1);
    const done = lines.at(-1)!;
    expect(done).toEqual({
      type: 'done',
      result: expect.objectContaining({ status: 200, size: 300000, path: join(cwd, 'j.bin'), url: fixture.server.url('/data/j.bin?size=300000') }),
    });
    expect(lines.at(-2)).toMatchObject({ type: 'progress', loaded: 300000, total: 300000, percent: 100 });
    expect(r.stderr).toBe('');
  });

  it('prints a JSON error object last (HTTP error), and the grammar holds', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/status/503'), '--json'], { cwd });
    expect(r.code).toBe(3);
    const lines = jsonLines(r.stdout);
    assertTransferGrammar(toNotifications(lines));
    expect(lines.at(-1)).toEqual({ type: 'error', code: 'http', status: 503, message: `HTTP 503 (GET ${fixture.server.url('/status/503')})`, body: 'status 503' });
  });

  it.each([
    ['timeout', ['/stall?size=1000&after=10', '--idle-timeout', '0.3'], 5],
    ['integrity', ['/truncated?size=1000&after=500'], 6],
  ])('error %s: JSON object with its code', async (code, [path, ...rest], exit) => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url(path!), ...rest, '--json'], { cwd });
    expect(r.code).toBe(exit);
    const lines = jsonLines(r.stdout);
    assertTransferGrammar(toNotifications(lines));
    expect(lines.at(-1)).toMatchObject({ type: 'error', code });
  });

  it('a usage error with --json is a JSON error object too', async () => {
    const r = await runCli(['get', '--json', '--retry', 'many', fixture.server.url('/data/x')], { cwd: freshDir() });
    expect(r.code).toBe(2);
    expect(jsonLines(r.stdout)).toEqual([{ type: 'error', code: 'usage', message: expect.stringMatching(/--retry/) }]);
  });

  it('never prints credentials: not the URL password, not a header value', async () => {
    const cwd = freshDir();
    const url = fixture.server.url('/status/401').replace('http://', 'http://alice:s3cret-pw@');
    const r = await runCli(['get', url, '-H', 'Authorization: Bearer tok-s3cret', '--json'], { cwd });
    expect(r.code).toBe(3);
    expect(r.stdout + r.stderr).not.toMatch(/s3cret/);
    const bad = await runCli(['get', fixture.server.url('/x'), '-H', 'tok-s3cret'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toMatch(/s3cret/);
  });

  it("the done line's url masks secret query values and has no user:password@, as the error line (a presigned URL, one redirected to, a 304, a file complete already)", async () => {
    const cwd = freshDir();
    const secrets = ['sig-s3cret-0123', 'cred-s3cret-4567', 'tok-s3cret-89ab', 'hop-s3cret-cdef'];
    const masked = (url: string) => url.replace(/=(sig|cred|tok|hop)-s3cret-[0-9a-f]+/g, '=REDACTED');
    const signed = fixture.server.url(`/data/signed.bin?size=100&X-Amz-Signature=${secrets[0]}&X-Amz-Credential=${secrets[1]}&access_token=${secrets[2]}`);
    const ok = await runCli(['get', signed.replace('http://', 'http://alice:pw-s3cret@'), '--json'], { cwd });
    expect(ok.code).toBe(0);
    expect(jsonLines(ok.stdout).at(-1)).toMatchObject({ type: 'done', result: { url: masked(signed), status: 200, size: 100 } });
    // The server sends the client on to a presigned URL: the url of the done line is that one's.
    const target = `/data/hop.bin?size=10&sig=${secrets[3]}&page=2`;
    const hop = await runCli(['get', fixture.server.url(`/redirect?to=${encodeURIComponent(target)}`), '-o', 'hop.bin', '--json'], { cwd });
    expect(hop.code).toBe(0);
    expect(jsonLines(hop.stdout).at(-1)).toMatchObject({ type: 'done', result: { url: fixture.server.url('/data/hop.bin?size=10&sig=REDACTED&page=2') } });
    const notModified = await runCli(['get', fixture.server.url(`/status/304?access_token=${secrets[2]}`), '-H', 'If-None-Match: "v1"', '-o', 'nm', '--json'], { cwd });
    expect(jsonLines(notModified.stdout).at(-1)).toMatchObject({ type: 'done', result: { status: 304, url: fixture.server.url('/status/304?access_token=REDACTED') } });
    const complete = await runCli(['get', signed, '-o', 'signed.bin', '--resume', '--json'], { cwd });
    expect(jsonLines(complete.stdout).at(-1)).toMatchObject({ type: 'done', result: { status: 416, url: masked(signed) } });
    const all = [ok, hop, notModified, complete].map((r) => r.stdout + r.stderr).join('');
    for (const secret of [...secrets, 'pw-s3cret', 'alice']) expect([secret, all]).toEqual([secret, expect.not.stringContaining(secret)]);
  });

  it("-H 'Authorization: …' wins over the URL's user:password (as with curl); without it the URL's are sent", async () => {
    const cwd = freshDir();
    const url = fixture.server.url('/data/auth.bin?size=10').replace('http://', 'http://alice:s3cret-pw@');
    const explicit = await runCli(['get', url, '-H', 'authorization: Bearer tok-s3cret', '--json'], { cwd });
    expect(explicit.code).toBe(0);
    expect(fixture.server.requests.at(-1)!.headers.authorization).toBe('Bearer tok-s3cret');
    expect(explicit.stdout + explicit.stderr).not.toMatch(/s3cret|alice/);
    const fromUrl = await runCli(['get', url, '-o', 'second.bin'], { cwd });
    expect(fromUrl.code).toBe(0);
    expect(fixture.server.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cret-pw').toString('base64')}`);
  });

  it('2: a header value that cannot be sent as typed (past Latin-1, a control character) is refused, not silently changed', async () => {
    const cwd = freshDir();
    const before = fixture.server.requests.length;
    for (const value of ['Bearer tok\u20acn-s3cret', 'Bearer s3cret\u0001x']) {
      const r = await runCli(['get', fixture.server.url('/data/h.bin?size=10'), '-H', `Authorization: ${value}`], { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('rxtransfer: -H: the value of header "Authorization" must be Latin-1 text without CR, LF, NUL or other control characters but tab (the value is not shown)\n');
    }
    expect(fixture.server.requests.length).toBe(before);
    // Latin-1 and tab are sent as typed.
    const ok = await runCli(['get', fixture.server.url('/data/h.bin?size=10'), '-H', 'X-Note: caf\u00e9\there'], { cwd });
    expect(ok.code).toBe(0);
    expect(Buffer.from(String(fixture.server.requests.at(-1)!.headers['x-note']), 'latin1').toString('latin1')).toBe('caf\u00e9\there');
  });
});

describe('rxtransfer get: a closed stderr', () => {
  /** Runs `get` with its stderr pipe closed by the reader before anything is written: the process's writes to it fail with EPIPE. */
  async function withStderrClosed(args: string[], cwd: string): Promise<number | null> {
    const child = spawn(process.execPath, [cliEntry(), ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.destroy();
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(killer);
    return code;
  }

  it('is no failure: the download ends as it would (0 saved, 3 for an HTTP error), its messages dropped', async () => {
    const cwd = freshDir();
    expect(await withStderrClosed(['get', fixture.server.url('/data/quiet.bin?size=100000')], cwd)).toBe(0);
    expect(readFileSync(join(cwd, 'quiet.bin')).equals(bodyBytes(100_000))).toBe(true);
    expect(await withStderrClosed(['get', fixture.server.url('/status/404'), '-o', 'missing.bin'], cwd)).toBe(3);
  });
});

describe('rxtransfer get: safe files', () => {
  it('never overwrites an existing file without --force (exit 2, no request, file untouched)', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'keep.bin'), 'precious');
    const before = fixture.server.requests.length;
    const r = await runCli(['get', fixture.server.url('/data/keep.bin?size=1000')], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('rxtransfer: keep.bin exists; use --force to replace it, or -o to choose another name\n');
    expect(readFileSync(join(cwd, 'keep.bin'), 'utf8')).toBe('precious');
    expect(fixture.server.requests.length).toBe(before);
    expect(filesIn(cwd)).toEqual(['keep.bin']);
  });

  it('a file that appears at the name during the download is kept (exit 2, code exists), and the error says where the download is', async () => {
    const cwd = freshDir();
    const size = 300_000;
    const run = startCli(['get', fixture.server.url(`/data/race.bin?size=${size}&chunk=16384&every=15`), '--json'], { cwd });
    await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) > 0));
    writeFileSync(join(cwd, 'race.bin'), 'precious');
    const r = await run.exited;
    expect(r.code).toBe(2);
    expect(jsonLines(r.stdout).at(-1)).toEqual({ type: 'error', code: 'exists', message: 'race.bin appeared during the download and is kept; the download is in race.bin.partial (move it, or use --force to replace race.bin)' });
    expect(readFileSync(join(cwd, 'race.bin'), 'utf8')).toBe('precious');
    expect(readFileSync(join(cwd, 'race.bin.partial')).equals(bodyBytes(size))).toBe(true);
  });

  it('-o FILE is refused too when it exists; --force replaces it', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'out.bin'), 'old');
    expect((await runCli(['get', fixture.server.url('/data/a?size=1000'), '-o', 'out.bin'], { cwd })).code).toBe(2);
    expect(readFileSync(join(cwd, 'out.bin'), 'utf8')).toBe('old');
    const r = await runCli(['get', fixture.server.url('/data/a?size=1000'), '-o', 'out.bin', '--force'], { cwd });
    expect(r.code).toBe(0);
    expect(readFileSync(join(cwd, 'out.bin'))).toEqual(bodyBytes(1000));
  });

  it('--force or --resume never replaces a device, FIFO or socket, nor a symlink to one (-o /dev/null or /dev/stdout, as root, for the whole system)', async () => {
    const cwd = freshDir();
    execFileSync('mkfifo', [join(cwd, 'pipe')]);
    symlinkSync(join(cwd, 'pipe'), join(cwd, 'stdout'));
    const before = fixture.server.requests.length;
    // Without --force too: "exists; use --force to replace it" would lead there.
    for (const args of [['-o', 'pipe'], ['-o', 'pipe', '--force'], ['-o', 'pipe', '--resume'], ['-o', 'stdout', '--force']]) {
      const r = await runCli(['get', fixture.server.url('/data/special.bin?size=100'), ...args], { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`rxtransfer: ${args[1]} is not a regular file (a device, FIFO or socket): get saves to a file and would replace it, --force or not; choose another name with -o\n`);
    }
    expect(fixture.server.requests.length).toBe(before);
    expect(lstatSync(join(cwd, 'pipe')).isFIFO()).toBe(true);
    expect(lstatSync(join(cwd, 'stdout')).isSymbolicLink()).toBe(true);
    expect(filesIn(cwd)).toEqual(['pipe', 'stdout']);
  });

  it("a directory at the URL's name is refused before any request, --force or --resume or not (no whole download that cannot be renamed)", async () => {
    const cwd = freshDir();
    mkdirSync(join(cwd, 'docs'));
    const before = fixture.server.requests.length;
    for (const args of [[], ['--force'], ['--resume']]) {
      const r = await runCli(['get', fixture.server.url('/data/docs?size=1000'), ...args], { cwd });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('rxtransfer: docs is a directory: get saves to a file and cannot replace it, --force or not; choose another name with -o (-o docs/ saves into it)\n');
    }
    expect(fixture.server.requests.length).toBe(before);
    expect(filesIn(cwd)).toEqual(['docs']);
    expect(filesIn(join(cwd, 'docs'))).toEqual([]);
  });

  it('-o - (standard output, for curl and wget) is refused before any request, not taken as a file named "-"', async () => {
    const cwd = freshDir();
    const before = fixture.server.requests.length;
    const r = await runCli(['get', fixture.server.url('/data/dash.bin?size=100'), '-o', '-'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rxtransfer: -o - \(standard output\) is not supported/);
    expect(r.stdout).toBe('');
    expect(filesIn(cwd)).toEqual([]);
    expect(fixture.server.requests.length).toBe(before);
    // A file named '-' is still had with a path.
    expect((await runCli(['get', fixture.server.url('/data/dash.bin?size=100'), '-o', './-'], { cwd })).code).toBe(0);
    expect(filesIn(cwd)).toEqual(['-']);
  });

  it('-o DIR/ puts the URL name in that directory', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/data/in-dir.bin?size=100'), '-o', `${cwd}/`], { cwd: freshDir() });
    expect(r.code).toBe(0);
    expect(filesIn(cwd)).toEqual(['in-dir.bin']);
  });

  it('-o DIR/ of a directory that does not exist creates none: exit 2 before any request (docs/cli.md)', async () => {
    const cwd = freshDir();
    const before = fixture.server.requests.length;
    const r = await runCli(['get', fixture.server.url('/data/in-dir.bin?size=100'), '-o', 'missing/'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^rxtransfer: cannot create .*missing\/in-dir\.bin\.partial: ENOENT/);
    expect(fixture.server.requests.length).toBe(before);
    expect(filesIn(cwd)).toEqual([]);
  });

  it('a URL without a last segment falls back to "download"', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/cd/?h=inline')], { cwd });
    expect(r.code).toBe(0);
    expect(filesIn(cwd)).toEqual(['download']);
  });

  it('a failed download leaves no file that looks finished (HTTP error after -o)', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url('/status/500'), '-o', 'report.pdf'], { cwd });
    expect(r.code).toBe(3);
    expect(filesIn(cwd)).toEqual([]);
  });
});

describe('rxtransfer get --content-disposition: names from the server are sanitized', () => {
  const cases: Array<[string, string, string]> = [
    ['../../x', 'attachment; filename="../../x"', 'x'],
    ['/etc/passwd', 'attachment; filename="/etc/passwd"', 'passwd'],
    ['..\\x', 'attachment; filename="..\\\\x"', 'x'],
    ['C:\\ drive letter', 'attachment; filename="C:\\\\Windows\\\\evil.exe"', 'evil.exe'],
    ['empty', 'attachment; filename=""', 'download'],
    ['only dots', 'attachment; filename=".."', 'download'],
    ['raw 8-bit controls and a tab (C1 CSI, NEL)', 'attachment; filename="a\u009bb\u0085c\tz.txt"', 'abcz.txt'],
    ['encoded control characters and traversal', "attachment; filename*=UTF-8''..%2F%1B%5B31mred%0A.txt", '[31mred.txt'],
    ['an RFC 8187 UTF-8 name', "attachment; filename=\"plain.txt\"; filename*=UTF-8''na%C3%AFve.txt", 'naïve.txt'],
    ['a hidden name', 'attachment; filename=".profile"', 'profile'],
    ['an empty filename* does not hide filename', "attachment; filename=\"good.txt\"; filename*=UTF-8''", 'good.txt'],
    ['a filename* that leaves no name does not hide filename', "attachment; filename*=UTF-8''..; filename=\"good.txt\"", 'good.txt'],
    // Invisible in a listing: a soft hyphen, a Hangul filler, a variation selector, a tag character.
    ['invisible characters that are no controls', "attachment; filename*=UTF-8''in%C2%ADvoice%E3%85%A4.pdf%EF%B8%8F%F3%A0%80%81", 'invoice.pdf'],
    ['an invisible character before a hidden name', "attachment; filename*=UTF-8''%EF%B8%8F.bashrc", 'bashrc'],
    ['line and paragraph separators', "attachment; filename*=UTF-8''a%E2%80%A8b%E2%80%A9c.txt", 'abc.txt'],
  ];

  it.each(cases)('%s', async (_label, header, expected) => {
    const cwd = freshDir();
    const inside = join(cwd, 'inside');
    mkdirSync(inside);
    const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent(header)}`), '--content-disposition', '--json'], { cwd: inside });
    expect(r.code).toBe(0);
    expect(filesIn(inside)).toEqual([expected]);
    expect(filesIn(cwd)).toEqual(['inside']);
    expect(readFileSync(join(inside, expected), 'utf8')).toBe('hello');
    const lines = jsonLines(r.stdout);
    assertTransferGrammar(toNotifications(lines));
    expect(lines.at(-1)).toMatchObject({ type: 'done', result: { path: join(inside, expected) } });
  });

  it('two Content-Disposition headers naming two files: neither is taken, the name comes from the URL', async () => {
    for (const [second, expected] of [['attachment; filename="b.txt"', 'fromurl.txt'], ['attachment; filename="a.txt"', 'a.txt']] as const) {
      const cwd = freshDir();
      // The route writes the value raw: a CRLF in it sends a second header.
      const header = `attachment; filename="a.txt"\r\nContent-Disposition: ${second}`;
      const r = await runCli(['get', fixture.server.url(`/cd/fromurl.txt?h=${encodeURIComponent(header)}`), '-J'], { cwd });
      expect(r.code).toBe(0);
      expect(filesIn(cwd)).toEqual([expected]);
      expect(readFileSync(join(cwd, expected), 'utf8')).toBe('hello');
    }
  });

  it('raw C0 control characters: Node refuses the header, so a clean network error and no file', async () => {
    const cwd = freshDir();
    const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent('attachment; filename="a\u0001b.txt"')}`), '-J'], { cwd });
    expect(r.code).toBe(4);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(filesIn(cwd)).toEqual([]);
  });

  it('does not replace an existing file named by the server (exit 2, side file removed)', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'taken.txt'), 'mine');
    const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent('attachment; filename="taken.txt"')}`), '-J'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/taken\.txt exists; use --force/);
    expect(readFileSync(join(cwd, 'taken.txt'), 'utf8')).toBe('mine');
    expect(filesIn(cwd)).toEqual(['taken.txt']);
  });

  it('--resume does not replace it either: the server chose the name, only --force hands it an overwrite', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'Makefile'), 'precious');
    const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent('attachment; filename="Makefile"')}`), '-J', '--resume'], { cwd });
    expect(r.code).toBe(2);
    expect(readFileSync(join(cwd, 'Makefile'), 'utf8')).toBe('precious');
    // Asked to resume, the user paid for these bytes: the finished download is kept and named.
    const side = filesIn(cwd).find((f) => f.startsWith('.rxtransfer-'))!;
    expect(filesIn(cwd)).toEqual([side, 'Makefile']);
    expect(r.stderr).toContain(`Makefile exists; the download is complete in ${side} (move it, or use --force`);
    expect(readFileSync(join(cwd, side), 'utf8')).toBe('hello');
  });

  it('a name that is a side file of another download (`x.partial`, `x.partial.json`, `x.partial.lock`) is renamed', async () => {
    const cwd = freshDir();
    for (const name of ['tool.bin.partial', 'tool.bin.partial.json', 'tool.bin.partial.lock']) {
      const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent(`attachment; filename="${name}"`)}`), '-J'], { cwd });
      expect(r.code).toBe(0);
    }
    expect(filesIn(cwd).sort()).toEqual(['tool.bin.partial.json_', 'tool.bin.partial.lock_', 'tool.bin.partial_']);
  });

  it('a directory at the name it gives (2) is not said to be replaced by --force, which cannot', async () => {
    const cwd = freshDir();
    mkdirSync(join(cwd, 'taken'));
    const url = fixture.server.url(`/cd/?h=${encodeURIComponent('attachment; filename="taken"')}`);
    const r = await runCli(['get', url, '-J'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`rxtransfer: ${join(cwd, 'taken')} is a directory and is not replaced; choose another name with -o FILE\n`);
    expect(filesIn(cwd)).toEqual(['taken']);
    const kept = await runCli(['get', url, '-J', '--resume'], { cwd });
    expect(kept.code).toBe(2);
    const side = filesIn(cwd).find((f) => f.startsWith('.rxtransfer-'))!;
    expect(kept.stderr).toBe(`rxtransfer: ${join(cwd, 'taken')} is a directory; the download is complete in ${side} (move it)\n`);
  });

  it('--force onto a name that cannot be replaced (a directory) says where the finished download is', async () => {
    const cwd = freshDir();
    mkdirSync(join(cwd, 'taken'));
    const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent('attachment; filename="taken"')}`), '-J', '--force'], { cwd });
    expect(r.code).toBe(1);
    const side = filesIn(cwd).find((f) => f.startsWith('.rxtransfer-'))!;
    expect(side).toMatch(/^\.rxtransfer-[0-9a-f]{16}\.download$/);
    expect(r.stderr).toContain(`it is complete in ${side}`);
    expect(readFileSync(join(cwd, side), 'utf8')).toBe('hello');
  });

  it('--force onto a device, FIFO or socket it named (2): not replaced, and the error says where the finished download is', async () => {
    const cwd = freshDir();
    execFileSync('mkfifo', [join(cwd, 'pipe')]);
    const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent('attachment; filename="pipe"')}`), '-J', '--force'], { cwd });
    expect(r.code).toBe(2);
    expect(lstatSync(join(cwd, 'pipe')).isFIFO()).toBe(true);
    const side = filesIn(cwd).find((f) => f.startsWith('.rxtransfer-'))!;
    expect(r.stderr).toBe(`rxtransfer: ${join(cwd, 'pipe')} is not a regular file (a device, FIFO or socket) and is not replaced; the download is complete in ${side}\n`);
    expect(readFileSync(join(cwd, side), 'utf8')).toBe('hello');
  });

  it("--force onto a name that leads to an open file descriptor's link (2; /dev/stdout named by the server in /dev, stdout a file): the link is not replaced, the error says where the download is", async () => {
    const cwd = freshDir();
    // A descriptor that is a regular file (this process's, never /dev/stdout): `stat` sees the file.
    writeFileSync(join(cwd, 'redirected'), 'kept');
    const handle = await open(join(cwd, 'redirected'), 'r');
    try {
      symlinkSync(`/proc/${process.pid}/fd/${handle.fd}`, join(cwd, 'stdout'));
      const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent('attachment; filename="stdout"')}`), '-J', '--force'], { cwd });
      expect(r.code).toBe(2);
      expect(lstatSync(join(cwd, 'stdout')).isSymbolicLink()).toBe(true);
      expect(readFileSync(join(cwd, 'redirected'), 'utf8')).toBe('kept');
      const side = filesIn(cwd).find((f) => f.startsWith('.rxtransfer-'))!;
      expect(r.stderr).toBe(`rxtransfer: ${join(cwd, 'stdout')} leads to an open file descriptor (/dev/stdout, /dev/fd/N, /proc/self/fd/N) and is not replaced; the download is complete in ${side}\n`);
      expect(readFileSync(join(cwd, side), 'utf8')).toBe('hello');
      // -o to it: refused before any request, saying why, --force, --resume or not.
      const before = fixture.server.requests.length;
      for (const args of [['-o', 'stdout'], ['-o', 'stdout', '--force'], ['-o', 'stdout', '--resume']]) {
        const o = await runCli(['get', fixture.server.url('/data/fd.bin?size=100'), ...args], { cwd });
        expect(o.code).toBe(2);
        expect(o.stderr).toMatch(/^rxtransfer: stdout leads to an open file descriptor .*choose another name with -o\n$/);
      }
      expect(fixture.server.requests.length).toBe(before);
      expect(lstatSync(join(cwd, 'stdout')).isSymbolicLink()).toBe(true);
    } finally {
      await handle.close();
    }
  });

  it('--force replaces it', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'taken.txt'), 'mine');
    const r = await runCli(['get', fixture.server.url(`/cd/?h=${encodeURIComponent('attachment; filename="taken.txt"')}`), '-J', '--force'], { cwd });
    expect(r.code).toBe(0);
    expect(readFileSync(join(cwd, 'taken.txt'), 'utf8')).toBe('hello');
    expect(filesIn(cwd)).toEqual(['taken.txt']);
  });

  it('goes into the -o directory', async () => {
    const cwd = freshDir();
    const out = freshDir();
    const r = await runCli(['get', fixture.server.url(`/data/x.bin?size=10&cd=${encodeURIComponent('attachment; filename="../named.bin"')}`), '-J', '-o', out], { cwd });
    expect(r.code).toBe(0);
    expect(filesIn(out)).toEqual(['named.bin']);
    expect(filesIn(cwd)).toEqual([]);
  });
});

describe('rxtransfer get --resume onto a file that is there, with no partial file (curl -C -)', () => {
  const SIZE = 20_000;
  const url = (name: string) => fixture.server.url(`/data/${name}?size=${SIZE}`);
  /** The requests made for `name` since `from`. */
  const requestsFor = (name: string, from: number) => fixture.server.requests.slice(from).filter((r) => r.url.startsWith(`/data/${name}?`));

  it('asks for what follows it; a 416 for its size says it is complete: kept untouched, exit 0, nothing downloaded', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'done.bin'), bodyBytes(SIZE));
    const before = statSync(join(cwd, 'done.bin'));
    const from = fixture.server.requests.length;
    const r = await runCli(['get', url('done.bin'), '-o', 'done.bin', '--resume'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('done.bin is complete already (19.5 KiB): kept as it is, nothing downloaded\n');
    expect(requestsFor('done.bin', from).map((q) => q.headers.range)).toEqual([`bytes=${SIZE}-`]);
    expect(filesIn(cwd)).toEqual(['done.bin']);
    const after = statSync(join(cwd, 'done.bin'));
    expect([after.ino, after.mtimeMs, after.size]).toEqual([before.ino, before.mtimeMs, before.size]);
    // --json: one done, for the whole file; with --integrity, the file kept is checked.
    const integrity = `sha256-${createHash('sha256').update(bodyBytes(SIZE)).digest('base64')}`;
    const json = await runCli(['get', url('done.bin'), '-o', 'done.bin', '--resume', '--json', '--integrity', integrity], { cwd });
    expect(json.code).toBe(0);
    const lines = jsonLines(json.stdout);
    assertTransferGrammar(toNotifications(lines));
    expect(lines.at(-1)).toMatchObject({ type: 'done', result: { status: 416, size: SIZE, path: join(cwd, 'done.bin'), integrity } });
    expect(statSync(join(cwd, 'done.bin')).mtimeMs).toBe(before.mtimeMs);
  });

  it('a file that does not match --integrity, or of another size than the server says, is downloaded again whole (and replaced only then)', async () => {
    const cwd = freshDir();
    const integrity = `sha256-${createHash('sha256').update(bodyBytes(SIZE)).digest('base64')}`;
    const wrong = Buffer.alloc(SIZE, 1);
    writeFileSync(join(cwd, 'same-size.bin'), wrong);
    const checked = await runCli(['get', url('same-size.bin'), '-o', 'same-size.bin', '--resume', '--integrity', integrity], { cwd });
    expect(checked.code).toBe(0);
    expect(sha256(readFileSync(join(cwd, 'same-size.bin')))).toBe(sha256(bodyBytes(SIZE)));
    // Longer than the server's: its 416 names another size.
    writeFileSync(join(cwd, 'longer.bin'), Buffer.concat([bodyBytes(SIZE), Buffer.from('more')]));
    const from = fixture.server.requests.length;
    const longer = await runCli(['get', url('longer.bin'), '-o', 'longer.bin', '--resume'], { cwd });
    expect(longer.code).toBe(0);
    expect(requestsFor('longer.bin', from).map((q) => q.headers.range)).toEqual([`bytes=${SIZE + 4}-`, undefined]);
    expect(sha256(readFileSync(join(cwd, 'longer.bin')))).toBe(sha256(bodyBytes(SIZE)));
    expect(filesIn(cwd)).toEqual(['longer.bin', 'same-size.bin']);
  });

  it('a shorter file (206: more bytes follow) is not appended to without a validator: downloaded again whole', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'short.bin'), bodyBytes(SIZE).subarray(0, 5000));
    const from = fixture.server.requests.length;
    const r = await runCli(['get', url('short.bin'), '-o', 'short.bin', '--resume', '--json'], { cwd });
    expect(r.code).toBe(0);
    assertTransferGrammar(toNotifications(jsonLines(r.stdout)));
    expect(requestsFor('short.bin', from).map((q) => q.headers.range)).toEqual(['bytes=5000-', undefined]);
    expect(sha256(readFileSync(join(cwd, 'short.bin')))).toBe(sha256(bodyBytes(SIZE)));
  });

  it('a server that ignores Range (200): the file is replaced only by a whole body; one cut short leaves it untouched', async () => {
    const cwd = freshDir();
    const original = bodyBytes(1000);
    writeFileSync(join(cwd, 'kept.bin'), original);
    const cut = await runCli(['get', fixture.server.url('/truncated?size=1000&after=100'), '-o', 'kept.bin', '--resume', '--retry', '0'], { cwd });
    expect(cut.code).toBe(6);
    expect(readFileSync(join(cwd, 'kept.bin'))).toEqual(original);
    writeFileSync(join(cwd, 'hello.txt'), 'hello, old');
    const whole = await runCli(['get', fixture.server.url('/cd/x?h=inline'), '-o', 'hello.txt', '--resume'], { cwd });
    expect(whole.code).toBe(0);
    expect(readFileSync(join(cwd, 'hello.txt'), 'utf8')).toBe('hello');
  });
});
