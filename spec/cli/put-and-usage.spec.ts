import { chmodSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { assertTransferGrammar } from 'rxtransfer/testing';
import { bodyBytes, sha256, startCliServer, type CliServer } from '../helpers/cli-server.js';
import { cliEntry, jsonLines, killAllClis, removeCliEntry, runCli, toNotifications } from '../helpers/cli-run.js';

let server: CliServer;
let cwd: string;

beforeAll(async () => {
  server = await startCliServer();
  cwd = mkdtempSync(join(tmpdir(), 'rxtransfer-cli-put-'));
  writeFileSync(join(cwd, 'up.bin'), bodyBytes(300_000));
});
afterAll(async () => {
  killAllClis();
  removeCliEntry();
  await server.close();
  rmSync(cwd, { recursive: true, force: true });
});

describe('rxtransfer put', () => {
  it('0: PUTs the file by default; the server gets every byte; its answer goes to stdout', async () => {
    const r = await runCli(['put', 'up.bin', server.url('/upload')], { cwd });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ method: 'PUT', size: 300_000, sha256: sha256(bodyBytes(300_000)) });
    expect(r.stderr).toMatch(/^sent up\.bin \(293\.0 KiB in [\d.]+ s, .+\/s\): HTTP 201\n$/);
  });

  it('--method POST --json: upload progress then done, the grammar holds, done is plain JSON', async () => {
    const r = await runCli(['put', 'up.bin', server.url('/upload'), '--method', 'post', '--json', '-H', 'X-Trace: 7'], { cwd });
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    assertTransferGrammar(toNotifications(lines));
    expect(lines.some((l) => l['type'] === 'progress' && l['direction'] === 'upload' && l['loaded'] === 300_000)).toBe(true);
    const done = lines.at(-1)!;
    expect(done).toMatchObject({ type: 'done', result: { status: 201, sent: 300_000 } });
    expect(JSON.parse((done['result'] as { data: string }).data)).toMatchObject({ method: 'POST', size: 300_000 });
    expect(server.requests.at(-1)!.headers['x-trace']).toBe('7');
  });

  it("--json: the done line's url masks a presigned URL's secret query values and has no user:password@, as the error line", async () => {
    const query = 'X-Amz-Signature=sig-s3cret-0123&X-Amz-Credential=cred-s3cret-4567&part=1';
    const r = await runCli(['put', 'up.bin', server.url(`/upload/?${query}`).replace('http://', 'http://alice:pw-s3cret@'), '--json'], { cwd });
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'done', result: { url: server.url('/upload/up.bin?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&part=1'), status: 201 } });
    expect(r.stdout + r.stderr).not.toMatch(/s3cret|alice/);
  });

  it('3: an HTTP error', async () => {
    const r = await runCli(['put', 'up.bin', server.url('/status/413'), '--json'], { cwd });
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'error', code: 'http', status: 413 });
  });

  it('3: a file over 1 MiB refused at the head (413 before the 100) sends none of it; --no-expect or -H "Expect:" sends it at once', async () => {
    writeFileSync(join(cwd, 'big.bin'), bodyBytes(2 * 1024 * 1024));
    const seen: Array<{ expect: string | undefined; received: number }> = [];
    // Refuses a request that waits for 100-continue (as nginx does over client_max_body_size);
    // reads and counts any other body.
    const refusing = createServer((req, res) => {
      const entry = { expect: req.headers.expect, received: 0 };
      seen.push(entry);
      req.on('data', (chunk: Buffer) => void (entry.received += chunk.length));
      req.on('end', () => res.writeHead(201).end('stored'));
    });
    refusing.on('checkContinue', (req, res) => {
      seen.push({ expect: req.headers.expect, received: 0 });
      res.writeHead(413, { 'content-type': 'text/plain' }).end('too large');
    });
    refusing.listen(0, '127.0.0.1');
    await once(refusing, 'listening');
    try {
      const url = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/up`;
      const refused = await runCli(['put', 'big.bin', url, '--json'], { cwd });
      expect(refused.code).toBe(3);
      expect(jsonLines(refused.stdout).at(-1)).toMatchObject({ type: 'error', code: 'http', status: 413 });
      expect(seen).toEqual([{ expect: '100-continue', received: 0 }]);
      const sent = await runCli(['put', 'big.bin', url, '--no-expect'], { cwd });
      expect(sent.code).toBe(0);
      expect(seen[1]).toEqual({ expect: undefined, received: 2 * 1024 * 1024 });
      // An empty -H 'Expect:' does the same, as with curl.
      const empty = await runCli(['put', 'big.bin', url, '-H', 'Expect:'], { cwd });
      expect(empty.code).toBe(0);
      expect(seen[2]).toEqual({ expect: undefined, received: 2 * 1024 * 1024 });
    } finally {
      refusing.closeAllConnections();
      await new Promise<void>((r) => refusing.close(() => r()));
    }
  });

  it("a URL whose path ends in / gets the file's base name, URL-encoded, as with curl -T; one naming a file is sent to as it is", async () => {
    writeFileSync(join(cwd, 'my file #1.txt'), 'hello');
    const r = await runCli(['put', join(cwd, 'my file #1.txt'), server.url('/upload/dir/?v=2'), '--json'], { cwd });
    expect(r.code).toBe(0);
    expect(server.requests.at(-1)!.url).toBe('/upload/dir/my%20file%20%231.txt?v=2');
    expect(jsonLines(r.stdout).at(-1)).toMatchObject({ type: 'done', result: { status: 201, sent: 5, url: server.url('/upload/dir/my%20file%20%231.txt?v=2') } });
    expect((await runCli(['put', 'up.bin', server.url('/upload/named.bin')], { cwd })).code).toBe(0);
    expect(server.requests.at(-1)!.url).toBe('/upload/named.bin');
  });

  it("-H 'Authorization: …' wins over the URL's user:password (as with curl), and no message shows either", async () => {
    const withCredentials = (path: string) => server.url(path).replace('http://', 'http://alice:pw-s3cret@');
    const ok = await runCli(['put', 'up.bin', withCredentials('/upload'), '-H', 'Authorization: Bearer tok-s3cret'], { cwd });
    expect(ok.code).toBe(0);
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer tok-s3cret');
    // Without a header of the caller's own, the URL's credentials are sent (as Basic).
    expect((await runCli(['put', 'up.bin', withCredentials('/upload')], { cwd })).code).toBe(0);
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('alice:pw-s3cret').toString('base64')}`);
    const refused = await runCli(['put', 'up.bin', withCredentials('/status/401'), '-H', 'Authorization: Bearer tok-s3cret', '--json'], { cwd });
    expect(refused.code).toBe(3);
    expect(refused.stdout + refused.stderr).not.toMatch(/s3cret|alice/);
  });

  it("3: the server's reason (its body) after the error line and as the JSON error's body, without the credentials sent", async () => {
    const r = await runCli(['put', 'up.bin', server.url('/echo/401'), '-H', 'Authorization: Bearer tok-s3cret'], { cwd });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`rxtransfer: HTTP 401 (PUT ${server.url('/echo/401')})\n  {"error":"refused","url":"/echo/401","authorization":"REDACTED"}\n`);
    const json = await runCli(['put', 'up.bin', server.url('/status/413?body=%7B%22message%22%3A%22quota%20exceeded%22%7D'), '--json'], { cwd });
    expect(json.code).toBe(3);
    expect(jsonLines(json.stdout).at(-1)).toMatchObject({ type: 'error', code: 'http', status: 413, body: '{"message":"quota exceeded"}' });
    expect(json.stderr).toMatch(/\n {2}\{"message":"quota exceeded"\}\n$/);
  });

  it('4: a network error', async () => {
    const r = await runCli(['put', 'up.bin', `http://127.0.0.1:${server.closedPort}/up`], { cwd });
    expect(r.code).toBe(4);
  });

  it('2: a file that does not exist, or a method that is not PUT/POST', async () => {
    const missing = await runCli(['put', 'nope.bin', server.url('/upload')], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('rxtransfer: cannot read nope.bin: ENOENT\n');
    // The two turned round, a URL with credentials where the file goes: they are not printed.
    const swapped = await runCli(['put', 'https://user:pw-SECRET@example.invalid/x', server.url('/upload')], { cwd });
    expect(swapped.code).toBe(2);
    expect(swapped.stderr).toBe('rxtransfer: cannot read https://example.invalid/x: ENOENT\n');
    const stdin = await runCli(['put', '-', server.url('/upload')], { cwd });
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toMatch(/^rxtransfer: - \(standard input\) is not supported: put sends a file/);
    const method = await runCli(['put', 'up.bin', server.url('/upload'), '-X', 'DELETE'], { cwd });
    expect(method.code).toBe(2);
    expect(method.stderr).toMatch(/--method must be PUT or POST/);
  });
});

describe('rxtransfer put: a file this user may not read', () => {
  it('2: refused before any request, as a file that does not exist (not 1, a read failing while it is sent)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rxtransfer-cli-put-private-'));
    try {
      const file = join(dir, 'private.bin');
      writeFileSync(file, 'secret', { mode: 0o600 });
      // Root reads any file: then the command runs as nobody, whom mode 0600 keeps out.
      const root = process.getuid?.() === 0;
      if (root) chmodSync(dir, 0o755);
      else chmodSync(file, 0o000);
      const before = server.requests.length;
      const child = spawn(process.execPath, [cliEntry(), 'put', file, server.url('/upload')], {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(root ? { uid: 65534, gid: 65534 } : {}),
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const [code] = (await once(child, 'close')) as [number | null];
      clearTimeout(killer);
      expect(stderr).toBe(`rxtransfer: cannot read ${file}: EACCES\n`);
      expect(code).toBe(2);
      expect(server.requests.length).toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rxtransfer put: a file that changes while it is sent', () => {
  it('1: a file cut short while it is read fails at once, named, and is not sent again (--retry 2)', async () => {
    const file = join(cwd, 'shrinks.bin');
    writeFileSync(file, Buffer.alloc(32 << 20, 1));
    let requests = 0;
    let received = 0;
    const slow = createServer((req, res) => {
      requests++;
      // The first bytes arrive: the file is cut to 1 MiB, then the rest of the body is read.
      req.once('data', (chunk: Buffer) => {
        received += chunk.length;
        req.pause();
        truncateSync(file, 1 << 20);
        req.on('data', (more: Buffer) => void (received += more.length));
        req.resume();
      });
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = slow.address() as AddressInfo;
      const r = await runCli(['put', 'shrinks.bin', `http://127.0.0.1:${port}/up`, '--retry', '2', '--json'], { cwd, timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      const end = jsonLines(r.stdout).at(-1)!;
      expect(end).toMatchObject({ type: 'error', code: 'invalid' });
      expect(end['message']).toMatch(/^cannot send the request body: .*shrinks\.bin shrank to \d+ bytes while it was read \(33554432 expected\) \(PUT http:\/\/127\.0\.0\.1:\d+\/up\)$/);
      expect(requests).toBe(1);
      expect(received).toBeLessThan(32 << 20);
    } finally {
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });
});

describe('rxtransfer usage and help', () => {
  it.each([
    [['get', '--help'], /Usage: rxtransfer get \[options\] <url>[\s\S]*--content-disposition[\s\S]*Examples:[\s\S]*Exit codes:/],
    [['put', '--help'], /Usage: rxtransfer put \[options\] <file> <url>[\s\S]*--method[\s\S]*Examples:[\s\S]*Exit codes: 0 ok, 1 [^,]*file[^,]*, 2 usage/],
    [['--help'], /Commands:[\s\S]*get[\s\S]*put[\s\S]*Examples:/],
    [['help', 'get'], /Usage: rxtransfer get/],
    [['help', 'session'], /Usage: rxtransfer session <id> <command> \[options\][\s\S]*Commands:[\s\S]*cancel[\s\S]*Examples:[\s\S]*Exit codes:/],
    [['help', 'session', 'x', 'add'], /Usage: rxtransfer session x add \[options\] <url>[\s\S]*--priority/],
  ])('%j prints help on stdout and exits 0', async (args, pattern) => {
    const r = await runCli(args, { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(pattern);
  });

  /** Words of a shell command line that a shell would glob or split on, outside quotes (before any `#` comment). */
  const unquotedShellSpecials = (line: string): string[] => {
    const found: string[] = [];
    let quote: string | undefined;
    let word = '';
    let special = false;
    for (const ch of `${line} `) {
      if (quote) {
        if (ch === quote) quote = undefined;
        word += ch;
      } else if (ch === "'" || ch === '"') {
        quote = ch;
        word += ch;
      } else if (ch === '#' && word === '') {
        break;
      } else if (ch === ' ') {
        if (special) found.push(word);
        word = '';
        special = false;
      } else {
        if ('?*[&;()'.includes(ch)) special = true;
        word += ch;
      }
    }
    return found;
  };

  /** `-H` values of a command line that `get` and `put` refuse: a character past U+00FF (a `…` left as a placeholder, say) exits 2. */
  const unsendableHeaders = (line: string): string[] => [...line.matchAll(/-H (?:'([^']*)'|"([^"]*)")/g)].map((m) => m[1] ?? m[2] ?? '').filter((v) => [...v].some((c) => c.codePointAt(0)! > 0xff));

  it('the examples of every help text and of docs/cli.md run as shown in a shell (a URL with ? or & is quoted: zsh refuses an unmatched ?)', async () => {
    const helps = [['--help'], ['get', '--help'], ['put', '--help'], ['demo', '--help'], ['session', '--help'], ...['add', 'run', 'list', 'watch', 'cancel'].map((a) => ['session', 'x', a, '--help'])];
    const bad: string[] = [];
    for (const args of helps) {
      const r = await runCli(args, { cwd });
      expect(r.code).toBe(0);
      for (const line of r.stdout.split('\n').filter((l) => /^\s*\$ rxtransfer /.test(l))) {
        for (const word of unquotedShellSpecials(line.replace(/^\s*\$ /, ''))) bad.push(`${args.join(' ')}: ${word}`);
        for (const value of unsendableHeaders(line)) bad.push(`${args.join(' ')}: -H ${value}`);
      }
    }
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'cli.md'), 'utf8');
    for (const line of doc.split('\n').filter((l) => /^(npx )?rxtransfer /.test(l))) {
      for (const word of unquotedShellSpecials(line)) bad.push(`docs/cli.md: ${word}`);
      for (const value of unsendableHeaders(line)) bad.push(`docs/cli.md: -H ${value}`);
    }
    expect(bad).toEqual([]);
  }, 60_000);

  it('--version prints the package version', async () => {
    const r = await runCli(['--version'], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version);
  });

  it.each([
    [[], /Usage: rxtransfer/],
    [['get'], /^rxtransfer: missing required argument 'url' \(see rxtransfer get --help\)\n$/],
    [['get', 'http://x/a', '--bogus'], /^rxtransfer: unknown option '--bogus' \(see rxtransfer get --help\)\n$/],
    [['get', 'http://x/a', '--retry', '-1'], /--retry/],
    [['get', 'http://x/a', '--timeout', '0'], /positive number of seconds/],
    [['get', 'http://x/a', '--timeout', '0x10'], /positive number of seconds/],
    [['get', 'http://x/a', '--idle-timeout', '1e3'], /positive number of seconds/],
    [['get', 'http://x/a', '--connect-timeout', 'Infinity'], /positive number of seconds/],
    [['get', 'not a url'], /^rxtransfer: the URL is not a valid absolute URL/],
    [['get', 'http://x/a', '-H', 'no colon here'], /-H expects 'Name: value'/],
    [['put', 'only-one-arg'], /missing required argument 'url'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('%j exits 2 with a usage message on stderr', async (args, pattern) => {
    const r = await runCli(args, { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stdout).toBe('');
  });
});

describe('rxtransfer usage errors never print credentials', () => {
  it.each([
    // the command forgotten: commander quotes the URL as an unknown command
    [['https://alice:s3cret-pw@example.com/a.iso'], /^rxtransfer: unknown command 'https:\/\/example\.com\/a\.iso'/],
    [['http://alice:p@ss-s3cret@example.com/a.iso', '--json'], /^rxtransfer: unknown command 'http:\/\/example\.com\/a\.iso'/],
    // a presigned URL's secret query values, masked as in the library's messages
    [['https://example.com/a.iso?X-Amz-Signature=sig-s3cret&access_token=tok-s3cret&page=2'], /^rxtransfer: unknown command 'https:\/\/example\.com\/a\.iso\?X-Amz-Signature=REDACTED&access_token=REDACTED&page=2'/],
    // a misspelt option given with '=': its value is a header
    [['get', 'http://x/a', '--headr=Authorization: Bearer tok-s3cret'], /^rxtransfer: unknown option '--headr=…'/],
    // the same under `session`: `add` forgotten, or a misspelt option of an action
    [['session', 's', 'https://alice:s3cret-pw@example.com/a.iso', '-o', 'a.iso'], /^rxtransfer: unknown command 'https:\/\/example\.com\/a\.iso'/],
    [['session', 's', 'add', 'http://x/a', '-o', 'a', '--headr=Authorization: Bearer tok-s3cret', '--json'], /^rxtransfer: unknown option '--headr=…'/],
  ])('%j exits 2 without the secret', async (args, pattern) => {
    const r = await runCli(args, { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stdout + r.stderr).not.toMatch(/s3cret/);
  });
});

describe('rxtransfer on a terminal', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;
  (hasScript ? it : it.skip)('draws a progress bar with percent, bytes, rate and ETA, and restores the cursor', async () => {
    const url = server.url('/data/tty.bin?size=600000&chunk=60000&every=60');
    // 120 columns: the whole line fits (a narrower terminal shortens the label, then the bar).
    const command = `stty cols 120 rows 24; ${process.execPath} ${cliEntry()} get '${url}' -o ${join(cwd, 'tty.bin')}`;
    // `script` gives the command a pseudo-terminal; its output is what a user would see.
    // Asynchronous: the server answering it runs in this process.
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm', COLUMNS: '120' } });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(killer);
    expect(code).toBe(0);
    expect(screen).toMatch(/tty\.bin \[[█░]{24}\] +100% 585\.9 KiB\/585\.9 KiB .+\/s ETA 0:00/);
    expect(screen).toMatch(/tty\.bin \[[█░]{24}\] +[1-9]?[0-9]% /); // drawn while running, not only at the end
    expect(screen.includes('\u001b[?25l')).toBe(true); // cursor hidden while drawing
    expect(screen.includes('\u001b[?25h')).toBe(true); // and shown again
    expect(screen).toMatch(/saved .*tty\.bin/);
  });
});
