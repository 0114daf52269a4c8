import { join } from 'node:path';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { sessionDirectory } from 'rxtransfer/node';
import { encodeChange } from '../../lib/internal/session/journal-codec';
import { Writable } from 'node:stream';
import { TransferSession } from 'rxtransfer';
import { runSessionWatch } from '../../lib/cli/session-watch';
import { bytes, startSessionServer } from '../helpers/session-server.js';
import { assertTransferGrammar } from 'rxtransfer/testing';
import { cliFixture } from '../helpers/cli-fixture.js';
import { jsonLines, runCli, startCli, toNotifications } from '../helpers/cli-run.js';
import { sessionCli, transferLinesByTask, waitFor } from '../helpers/cli-session-run.js';
import { fakeTerminal } from '../helpers/fake-terminal';

jest.setTimeout(40_000);

const fixture = cliFixture('rxtransfer-cli-review-');
const freshDir = () => fixture.freshDir();
const hit = (path: string) => fixture.server.requests.filter((r) => r.url.startsWith(path)).length;

const SLOW = `/data/slow.bin?size=${2 * 1024 * 1024}&chunk=16384&every=20`;

describe('rxtransfer session run --json: a session that can no longer be written', () => {
  it('ends every task it showed with one error line, and prints the failure as a JSON error object (exit 1)', async () => {
    const s = sessionCli('storefail', freshDir);
    // Enough tasks for a journal past 1 KiB, so the run's first write to it fails (ulimit -f 1: EFBIG).
    for (let i = 0; i < 8; i++) expect((await s.run(['add', fixture.server.url(`/data/f${i}.bin?size=100`), '-o', `f${i}.bin`, '--id', `f${i}`])).code).toBe(0);
    const run = await runCli(['session', 'storefail', 'run', '--json', '--dir', s.dir], { cwd: s.cwd, fileSizeLimitKiB: 1 });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/could not be written/);
    const lines = jsonLines(run.stdout);
    // The failure itself is on stdout too ("errors too, as {"type":"error",…}").
    expect(lines.at(-1)).toMatchObject({ type: 'error', message: expect.stringMatching(/could not be written/) });
    const byTask = transferLinesByTask(lines.filter((l) => typeof l['taskId'] === 'string'));
    expect(byTask.size).toBeGreaterThan(0);
    // Per task, the lines follow the transfer grammar: progress, then exactly one end.
    for (const [, events] of byTask) assertTransferGrammar(toNotifications(events));
  });
});

describe('rxtransfer session watch --json', () => {
  it('when the run stops with tasks left, says so as a JSON error object on stdout (exit 1)', async () => {
    const s = sessionCli('watchstop', freshDir);
    expect((await s.run(['add', fixture.server.url(SLOW), '-o', 'slow.bin', '--id', 'slow'])).code).toBe(0);
    const watch = s.start(['watch', '--json'], 30_000);
    await watch.waitForStdout((out) => out.includes('"state":"queued"'));
    const run = s.start(['run', '--json'], 30_000);
    await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) > 0));
    await waitFor(() => watch.stdout().includes('"state":"running"'), () => watch.stdout());
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(130);
    const watched = await watch.exited;
    expect(watched.code).toBe(1);
    expect(watched.stderr).toMatch(/stopped with 1 task unfinished/);
    const lines = jsonLines(watched.stdout);
    expect(lines.at(-1)).toMatchObject({ type: 'error', message: expect.stringMatching(/stopped with 1 task unfinished/) });
  });
});

describe('rxtransfer session add --id: adding an id that exists changes nothing', () => {
  it('re-adding a task whose file is now downloaded exits 0 and says it was already there (not "exists; use --force")', async () => {
    const s = sessionCli('idem', freshDir);
    const add = ['add', fixture.server.url('/data/idem.bin?size=100'), '-o', 'idem.bin', '--id', 'idem'];
    expect((await s.run(add)).code).toBe(0);
    expect((await s.run(['run', '-q'])).code).toBe(0);
    const again = await s.run(add);
    expect(again.stderr).not.toMatch(/use --force/);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('idem\n');
    expect(again.stderr).toMatch(/task "idem" was already in session "idem" \(completed\); nothing added/);
    // A new id onto that file is still refused.
    const other = await s.run(['add', fixture.server.url('/data/idem.bin?size=100'), '-o', 'idem.bin', '--id', 'other']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/idem\.bin exists; use --force/);
  });
});

describe('rxtransfer session watch: an add is not a run', () => {
  it('keeps waiting while adds (which hold the lock for moments) come and go; no "run stopped", no exit 1', async () => {
    const s = sessionCli('addsnotrun', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/w0.bin?size=10'), '-o', 'w0.bin', '--id', 'w0'])).code).toBe(0);
    const watch = s.start(['watch'], 60_000);
    await waitFor(() => /nobody runs session "addsnotrun" now/.test(watch.stderr()), () => watch.stderr());
    // Rounds of adds started at once: each holds the lock a few ms, so watch's polls meet them.
    for (let round = 0; round < 5 && watch.child.exitCode === null; round++) {
      const adds = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => s.run(['add', fixture.server.url(`/data/r${round}-${i}.bin?size=10`), '-o', `r${round}-${i}.bin`])));
      expect(adds.map((a) => a.code)).toEqual([0, 0, 0, 0, 0, 0]);
      await new Promise((resolve) => setTimeout(resolve, 300)); // a poll after the last add
    }
    expect(watch.stderr()).not.toMatch(/stopped with/);
    expect(watch.child.exitCode).toBeNull();
    watch.child.kill('SIGINT');
    const watched = await watch.exited;
    expect(watched.code).toBe(130);
    expect(hit('/data/r')).toBe(0); // nothing ran
  }, 60_000);
});

describe('rxtransfer session <id> --dir D <action>: the common options before the action', () => {
  it('are taken as if given after it', async () => {
    const s = sessionCli('dirfirst', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/d.bin?size=10'), '-o', 'd.bin', '--id', 'd'])).code).toBe(0);
    const listed = await runCli(['session', 'dirfirst', '--dir', s.dir, '--json', 'list'], { cwd: s.cwd });
    expect([listed.code, listed.stderr]).toEqual([0, '']);
    expect(jsonLines(listed.stdout)).toEqual([expect.objectContaining({ id: 'd', state: 'queued' })]);
    const missing = await runCli(['session', 'nothing-here', `--dir=${s.dir}`, 'list'], { cwd: s.cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^rxtransfer: no session "nothing-here" in /);
  });

  it('the options moved after the action stay options when the action ends its options with --', async () => {
    const s = sessionCli('dashes', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/d.bin?size=10'), '-o', 'd.bin', '--id', 'd'])).code).toBe(0);
    // `--` ends the options of `cancel`; --dir and --json given before the action are still options.
    const cancelled = await runCli(['session', 'dashes', '--dir', s.dir, '--json', 'cancel', '--', 'd'], { cwd: s.cwd });
    expect([cancelled.code, cancelled.stderr]).toEqual([0, '']);
    expect(jsonLines(cancelled.stdout)).toEqual([expect.objectContaining({ id: 'd', state: 'cancelled' })]);
  });
});

describe('rxtransfer session add: what a refused add leaves', () => {
  it('a first add refused by the library (a malformed --integrity) exits 2 and leaves no session behind', async () => {
    const s = sessionCli('badsri', freshDir);
    const add = await s.run(['add', fixture.server.url('/data/b.bin?size=10'), '-o', 'b.bin', '--integrity', 'sha256-not*base64']);
    expect(add.code).toBe(2);
    const listed = await s.run(['list']);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(/^rxtransfer: no session "badsri" in /);
  });

  it('a refused add to a session that exists keeps it and its tasks', async () => {
    const s = sessionCli('badsri2', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/k.bin?size=10'), '-o', 'k.bin', '--id', 'k'])).code).toBe(0);
    expect((await s.run(['add', fixture.server.url('/data/b.bin?size=10'), '-o', 'b.bin', '--integrity', 'sha256-not*base64'])).code).toBe(2);
    expect(await s.list()).toEqual([expect.objectContaining({ id: 'k', state: 'queued' })]);
  });

  it('a second unfinished task to the same file is refused (exit 2), naming the first; once that one ended, it is taken', async () => {
    const s = sessionCli('samefile', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/one.bin?size=10'), '-o', 'same.bin', '--id', 'one'])).code).toBe(0);
    const second = await s.run(['add', fixture.server.url('/data/two.bin?size=10'), '-o', './same.bin', '--id', 'two', '--force']);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/task "one" of session "samefile" already downloads to .*same\.bin \(queued\)/);
    expect((await s.list()).map((t) => t['id'])).toEqual(['one']);
    expect((await s.run(['cancel', 'one'])).code).toBe(0);
    expect((await s.run(['add', fixture.server.url('/data/two.bin?size=10'), '-o', 'same.bin', '--id', 'two'])).code).toBe(0);
    expect((await s.list()).map((t) => [t['id'], t['state']])).toEqual([['one', 'cancelled'], ['two', 'queued']]);
  });

  it("a directory or a device at the name is refused at once, --force or not (it said 'use --force', then the task could only fail)", async () => {
    const s = sessionCli('special', freshDir);
    mkdirSync(join(s.cwd, 'docs'));
    for (const force of [[], ['--force']]) {
      const dir = await s.run(['add', fixture.server.url('/data/docs?size=10'), ...force]);
      expect([dir.code, dir.stdout]).toEqual([2, '']);
      expect(dir.stderr).toMatch(/^rxtransfer: docs is a directory: session add saves to a file and cannot replace it, --force or not; choose another name with -o \(-o docs\/ saves into it\)\n$/);
      const device = await s.run(['add', fixture.server.url('/data/n.bin?size=10'), '-o', '/dev/null', ...force]);
      expect([device.code, device.stdout]).toEqual([2, '']);
      expect(device.stderr).toMatch(/^rxtransfer: \/dev\/null is not a regular file \(a device, FIFO or socket\): session add saves to a file/);
    }
    // Nothing was stored: a first add refused leaves no session.
    expect((await s.run(['list'])).code).toBe(2);
    expect((await s.run(['add', fixture.server.url('/data/docs?size=10'), '-o', 'docs/', '--id', 'in'])).code).toBe(0);
    expect(await s.list()).toEqual([expect.objectContaining({ id: 'in', to: join(s.cwd, 'docs', 'docs') })]);
  });

  it('--dir naming a file is a usage error (exit 2), for every action', async () => {
    const s = sessionCli('dirfile', freshDir);
    const file = `${s.cwd}/not-a-dir`;
    writeFileSync(file, 'x');
    for (const action of [['add', fixture.server.url('/data/x.bin?size=10'), '-o', 'x.bin'], ['list'], ['run'], ['watch'], ['cancel', 'x']]) {
      const r = await runCli(['session', 'dirfile', ...action, '--dir', file], { cwd: s.cwd });
      expect([action[0], r.code, r.stderr]).toEqual([action[0], 2, `rxtransfer: --dir ${file} is not a directory\n`]);
    }
  });

  it("--dir under a file, or a file at the session's own directory: one line naming the file (exit 2, --json too), not ENOTDIR, EEXIST or 'no session'", async () => {
    const s = sessionCli('owndir', freshDir);
    const file = join(s.cwd, 'a-file');
    writeFileSync(file, 'x');
    writeFileSync(sessionDirectory(s.dir, 'owndir'), 'not a session');
    const actions = [['add', fixture.server.url('/data/x.bin?size=10'), '-o', 'x.bin'], ['list'], ['run'], ['watch'], ['cancel', 'x']];
    for (const action of actions) {
      const under = await runCli(['session', 'owndir', ...action, '--dir', join(file, 'sessions')], { cwd: s.cwd });
      expect([action[0], under.code, under.stderr]).toEqual([action[0], 2, `rxtransfer: --dir ${join(file, 'sessions')} cannot be a directory: ${file} is a file\n`]);
      const own = await s.run([...action, '--json']);
      const message = `session "owndir" cannot use its directory ${sessionDirectory(s.dir, 'owndir')}: a file is there (move it away, or use another --dir)`;
      expect([action[0], own.code, own.stderr, jsonLines(own.stdout)]).toEqual([action[0], 2, `rxtransfer: ${message}\n`, [{ type: 'error', code: 'usage', message }]]);
    }
    expect(readFileSync(sessionDirectory(s.dir, 'owndir'), 'utf8')).toBe('not a session');
    expect(hit('/data/x.bin')).toBe(0);
  });
});

describe('rxtransfer session usage errors: what is missing or wrong, and the real usage line', () => {
  it.each([
    [['session', 'run'], /^rxtransfer: the session id is missing \(or the action after "run"\); usage: rxtransfer session <id> run \[options\] /],
    [['session', 'mine', 'cancel'], /^rxtransfer: missing required argument 'task'; usage: rxtransfer session mine cancel \[options\] <task> \(see rxtransfer session mine cancel --help\)\n$/],
    [['session', 'mine', 'add'], /^rxtransfer: missing required argument 'url'; usage: rxtransfer session mine add \[options\] <url> /],
    [['session', 'mine', 'run', 'extra'], /^rxtransfer: too many arguments for 'run'\. Expected 0 arguments but got 1; usage: rxtransfer session mine run \[options\] /],
    [['session', 'mine', 'watch', '--bogus'], /^rxtransfer: unknown option '--bogus'; usage: rxtransfer session mine watch \[options\] \(see rxtransfer session mine watch --help\)\n$/],
    [['session', 'mine', 'frob'], /^rxtransfer: unknown command 'frob'; usage: rxtransfer session mine <add\|run\|list\|watch\|cancel> \[options\] /],
    [['session', 'my backup', 'cancel'], /^rxtransfer: missing required argument 'task'; usage: rxtransfer session 'my backup' cancel \[options\] <task> /],
    // An id that is no session id: named as the fault, for every action (list said 'session "": 0 tasks', exit 0).
    [['session', '', 'list'], /^rxtransfer: invalid session id: must be a string of 1 to 200 characters; usage: rxtransfer session <id> list \[options\] /],
    [['session', '..', 'run'], /^rxtransfer: invalid session id: "\.\." is not a valid session identifier; usage: rxtransfer session <id> run \[options\] /],
    [['session', '', 'watch'], /^rxtransfer: invalid session id: .*; usage: rxtransfer session <id> watch \[options\] /],
    [['session', '.', 'cancel', 't'], /^rxtransfer: invalid session id: .*; usage: rxtransfer session <id> cancel \[options\] <task> /],
  ])('%j exits 2, one line, no literal <id> for a session it was given', async (args, pattern) => {
    const cwd = freshDir();
    const r = await runCli([...args, '--dir', join(cwd, 'sessions')], { cwd });
    expect(r.stderr).toMatch(pattern);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});

describe('rxtransfer session list and watch: which task runs', () => {
  it("a download that stalls (no byte for seconds) still runs; a queued one whose partial file was just written does not (the partial file's lock says, not its age)", async () => {
    const s = sessionCli('truth', freshDir);
    // One KiB now, the next in 6 s: the run holds the task all along.
    expect((await s.run(['add', fixture.server.url('/data/stall.bin?size=4096&chunk=1024&every=6000'), '-o', 'stall.bin', '--id', 'stall', '--priority', '5'])).code).toBe(0);
    expect((await s.run(['add', fixture.server.url('/data/later.bin?size=100'), '-o', 'later.bin', '--id', 'later'])).code).toBe(0);
    const run = s.start(['run', '--json', '--max-concurrent', '1'], 30_000);
    await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) > 0));
    // Bytes of the waiting task's earlier run, written a moment ago (by that run, or a copy).
    writeFileSync(join(s.cwd, 'later.bin.partial'), 'x'.repeat(50));
    const early = await s.list();
    expect(early.map((t) => [t['id'], t['state']])).toEqual([['stall', 'running'], ['later', 'queued']]);
    await new Promise((resolve) => setTimeout(resolve, 3500)); // no byte since the first KiB
    const stalled = await s.list();
    expect(stalled.map((t) => [t['id'], t['state']])).toEqual([['stall', 'running'], ['later', 'queued']]);
    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(130);
    // The run is gone: nothing runs.
    expect((await s.list()).map((t) => t['state'])).toEqual(['queued', 'queued']);
  });
});

describe('rxtransfer session run and list: secrets in a task URL', () => {
  it("a presigned URL's signature or an access_token is masked in run's lines and list's table, as in the failure line (it was printed whole on start)", async () => {
    const s = sessionCli('presigned', freshDir);
    const secrets = ['sigsecret0123456789', 'AKIDsecret98765', 'tokensecret4567'];
    const query = `X-Amz-Signature=${secrets[0]}&X-Amz-Credential=${secrets[1]}`;
    expect((await s.run(['add', fixture.server.url(`/data/ok.bin?size=100&access_token=${secrets[2]}`), '-o', 'ok.bin', '--id', 'ok'])).code).toBe(0);
    expect((await s.run(['add', fixture.server.url(`/status/403?${query}`), '-o', 'no.bin', '--id', 'no'])).code).toBe(0);
    // An upload (session.upload, no add option): list's table shows its file → its URL.
    const journal = join(sessionDirectory(s.dir, 'presigned'), 'journal.log');
    writeFileSync(join(s.cwd, 'up.bin'), 'x');
    appendFileSync(journal, encodeChange({ type: 'put', task: { id: 'up', kind: 'upload', url: fixture.server.url(`/upload/up.bin?${query}`), source: join(s.cwd, 'up.bin'), priority: 0, seq: 3, createdAt: Date.now(), state: 'cancelled', acked: true } }));
    const list = await s.run(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/up\.bin → http:\/\/127\.0\.0\.1:\d+\/upload\/up\.bin\?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED/);
    const run = await s.run(['run', '--max-concurrent', '1']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/\[no\] downloading http:\/\/127\.0\.0\.1:\d+\/status\/403\?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED to no\.bin/);
    expect(run.stderr).toMatch(/\[ok\] downloading .*access_token=REDACTED to ok\.bin/);
    expect(run.stderr).toMatch(/\[no\] failed: HTTP 403/);
    for (const secret of secrets) expect([secret, list.stdout + run.stderr]).toEqual([secret, expect.not.stringContaining(secret)]);
  });

  it("--json lines (add's task, run's done and error, list's and watch's tasks) mask them too, and carry no user:password@", async () => {
    const s = sessionCli('presigned-json', freshDir);
    const secrets = ['sigsecret0123456789', 'AKIDsecret98765', 'tokensecret4567'];
    const okUrl = fixture.server.url(`/data/ok.bin?size=100&X-Amz-Signature=${secrets[0]}&X-Amz-Credential=${secrets[1]}`);
    const noUrl = fixture.server.url(`/status/403?access_token=${secrets[2]}`);
    const add = await s.run(['add', okUrl.replace('http://', 'http://alice:pw-s3cret@'), '-o', 'ok.bin', '--id', 'ok', '--json']);
    expect(add.code).toBe(0);
    expect(jsonLines(add.stdout)).toEqual([expect.objectContaining({ type: 'task', id: 'ok', url: fixture.server.url('/data/ok.bin?size=100&X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED') })]);
    expect((await s.run(['add', noUrl, '-o', 'no.bin', '--id', 'no', '--json'])).code).toBe(0);
    const run = await s.run(['run', '--json', '--max-concurrent', '1']);
    expect(run.code).toBe(3);
    expect(jsonLines(run.stdout).find((l) => l['type'] === 'done')).toMatchObject({ taskId: 'ok', result: { url: fixture.server.url('/data/ok.bin?size=100&X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED') } });
    expect(jsonLines(run.stdout).find((l) => l['type'] === 'error')).toMatchObject({ taskId: 'no', message: `HTTP 403 (GET ${fixture.server.url('/status/403?access_token=REDACTED')})` });
    const list = await s.run(['list', '--json']);
    const watch = await s.run(['watch', '--json']);
    for (const r of [list, watch]) expect(jsonLines(r.stdout).map((t) => t['url'])).toEqual([fixture.server.url('/data/ok.bin?size=100&X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED'), fixture.server.url('/status/403?access_token=REDACTED')]);
    const all = [add, run, list, watch].map((r) => r.stdout + r.stderr).join('');
    for (const secret of [...secrets, 'pw-s3cret', 'alice']) expect([secret, all]).toEqual([secret, expect.not.stringContaining(secret)]);
  });
});

describe('rxtransfer session list and run: a task id is other people\'s text', () => {
  it('an id holding escape codes (stored by an older version) is shown without them in the list table and in the lines run prints on start', async () => {
    const s = sessionCli('escid', freshDir);
    const id = 't\u001b]0;title\u0007\u001b[31mred';
    expect((await s.run(['add', fixture.server.url('/data/ok.bin?size=100'), '-o', 'ok.bin', '--id', 'ok'])).code).toBe(0);
    // Such an id is refused when added now; a journal of an older version may hold one.
    const journal = join(sessionDirectory(s.dir, 'escid'), 'journal.log');
    const [ok] = (await s.list()) as Array<{ url: string; to: string }>;
    appendFileSync(journal, encodeChange({ type: 'put', task: { id, kind: 'download', url: fixture.server.url('/data/esc.bin?size=100'), to: join(s.cwd, 'esc.bin'), overwrite: false, priority: 0, seq: 2, createdAt: Date.now(), state: 'queued', acked: false } }));
    expect(ok!.to).toBe(join(s.cwd, 'ok.bin'));
    const list = await s.run(['list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/t\]0;title\[31mred +queued/);
    expect(list.stdout).not.toContain('\u001b');
    const run = await s.run(['run']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/downloading .* to esc\.bin/);
    expect(run.stderr).not.toContain('\u001b');
    expect(run.stderr).not.toContain('\u0007');
  });
});

describe('rxtransfer session add: the id it prints is one line a script can capture', () => {
  it.each([['a\nb'], ['t\u001b[31mred'], ['tab\there'], ['csi\u009b2J']])('--id %j is refused (exit 2, one line saying what an id may be), nothing on stdout, no session left', async (bad) => {
    const s = sessionCli('ids', freshDir);
    const r = await s.run(['add', fixture.server.url('/data/id.bin?size=100'), '-o', 'id.bin', '--id', bad]);
    expect(r.stdout).toBe('');
    // The id is named with its control characters written out (`\u000a`), none of them as they are.
    expect([...r.stderr.trimEnd()].every((c) => c >= ' ' && !(c >= '\u007f' && c <= '\u009f'))).toBe(true);
    expect(r.stderr).toMatch(/^rxtransfer: invalid task id "[^"]*"; a task id is a string of 1 to 200 characters, without control characters \(U\+0000 to U\+001F, U\+007F to U\+009F\) or half of a surrogate pair/);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.code).toBe(2);
    expect(readdirSync(s.dir)).toEqual([]);
    expect((await s.run(['cancel', bad])).code).toBe(2);
  });
});

describe('rxtransfer session watch: the session deleted under it', () => {
  it('exits 1 saying so, not 0 with "no task left to run" (an empty read is no queue drained)', async () => {
    const s = sessionCli('gone', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/gone.bin?size=100'), '-o', 'gone.bin', '--id', 'g'])).code).toBe(0);
    const watch = s.start(['watch', '--json'], 20_000);
    await watch.waitForStdout((out) => out.includes('"state":"queued"'));
    for (const name of readdirSync(s.dir)) rmSync(join(s.dir, name), { recursive: true, force: true });
    const watched = await watch.exited;
    expect(watched.stderr).not.toMatch(/no task left/);
    expect(watched.stderr).toMatch(/session "gone" was removed while being watched/);
    expect(watched.code).toBe(1);
    expect(jsonLines(watched.stdout).at(-1)).toMatchObject({ type: 'error', message: expect.stringMatching(/was removed/) });
  });
});

describe('rxtransfer session watch: an upload is named by its file', () => {
  it("on a terminal, a running upload's bar shows the file it sends (as list does, and as downloads' bars show theirs), not its id", async () => {
    const server = await startSessionServer();
    const cwd = freshDir();
    const directory = join(cwd, 'sessions');
    const source = join(cwd, 'photo.raw');
    writeFileSync(source, bytes(2 * 1024 * 1024, 57));
    const url = server.put('/up', { body: Buffer.alloc(0), rate: 1024 * 1024 });
    // This process runs the session (it holds its lock); watch follows it, in this process too, on a terminal.
    const session = await TransferSession.open({ id: 'upw', directory, checkpointInterval: 0 });
    const terminal = fakeTerminal(200);
    const stdout = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    try {
      await session.upload(url, source, { id: 'upload-task-7', method: 'PUT' });
      const code = await runSessionWatch('upw', { dir: directory }, { stdout, stderr: terminal });
      expect(code).toBe(0);
      const text = terminal.text();
      expect(text).toMatch(/\[upload-task-7\] sent .*photo\.raw: HTTP 200/);
      // The bar's label: the file, never the id (the id shows only as the end line's `[id]`).
      expect(text).toMatch(/photo\.raw +\[[█░]+\] +\d+%/);
      expect(text).not.toMatch(/(?<!\[)upload-task-7(?!\])/);
      // list names it alike: relative to the current directory when below it, as a download's file.
      const [listed] = (await runCli(['session', 'upw', 'list', '--dir', directory], { cwd })).stdout.split('\n').slice(2);
      expect(listed).toMatch(new RegExp(`^upload-task-7 +completed +100% .* {2}photo\\.raw → ${url.replace(/[.?]/g, '\\$&')}$`));
    } finally {
      await session.close();
      await server.close();
    }
  });
});

describe('rxtransfer session list and watch: a running upload', () => {
  it('is shown running, with its progress, from its first progress on (as a download is), by list and watch in another process', async () => {
    const server = await startSessionServer();
    const cwd = freshDir();
    const directory = join(cwd, 'sessions');
    const source = join(cwd, 'big.raw');
    const size = 8 * 1024 * 1024;
    writeFileSync(source, bytes(size, 58));
    const url = server.put('/slow-up', { body: Buffer.alloc(0), rate: 1024 * 1024 });
    // This process runs the session; no periodic checkpoint comes within the test (S10: bounded).
    const session = await TransferSession.open({ id: 'uprun', directory, checkpointInterval: 60_000 });
    const list = async () => jsonLines((await runCli(['session', 'uprun', 'list', '--json', '--dir', directory], { cwd })).stdout).find((t) => t['id'] === 'up');
    try {
      await session.upload(url, source, { id: 'up', method: 'PUT' });
      const watch = startCli(['session', 'uprun', 'watch', '--json', '--dir', directory], { cwd, timeoutMs: 20_000 });
      let shown: Record<string, unknown> | undefined;
      for (let i = 0; i < 40 && shown?.['state'] !== 'running'; i++) {
        shown = await list();
        if (shown?.['state'] !== 'running') await new Promise((r) => setTimeout(r, 100));
      }
      expect(shown).toMatchObject({ kind: 'upload', state: 'running', total: size, bytes: expect.any(Number) });
      await waitFor(() => jsonLines(watch.stdout()).some((l) => l['id'] === 'up' && l['state'] === 'running'), () => watch.stdout());
      watch.child.kill('SIGINT');
      expect((await watch.exited).code).toBe(130);
      expect(session.task('up')).toMatchObject({ state: 'running' });
      // Suspended: stored without a count (sent again from zero), shown as such.
      expect(await session.suspend('up')).toBe(true);
      expect(await list()).toMatchObject({ state: 'suspended', bytes: 0 });
    } finally {
      await session.close();
      await server.close();
    }
  });
});
