import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { TransferSession } from 'rxtransfer';
import { sessionDirectory } from 'rxtransfer/node';
import { encodeChange } from '../../lib/internal/session/journal-codec';
import { join } from 'node:path';
import { assertTransferGrammar } from 'rxtransfer/testing';
import { bodyBytes, sha256 } from '../helpers/cli-server.js';
import { cliFixture } from '../helpers/cli-fixture.js';
import { jsonLines, toNotifications } from '../helpers/cli-run.js';
import { sessionCli, transferLinesByTask, waitFor } from '../helpers/cli-session-run.js';
import { killAllSessionChildren, startSessionChild } from '../helpers/session-process';

jest.setTimeout(40_000);

const fixture = cliFixture('rxtransfer-cli-session-');
const freshDir = () => fixture.freshDir();
afterAll(() => killAllSessionChildren());

const SLOW_SIZE = 2 * 1024 * 1024;
/** 16 KiB every 20 ms without Range (about 2.6 s in all); a ranged request is answered at once. */
const SLOW = `/data/slow.bin?size=${SLOW_SIZE}&chunk=16384&every=20`;
const expectSha = (path: string, size: number) => expect(sha256(readFileSync(path))).toBe(sha256(bodyBytes(size)));
/** 8 KiB every 20 ms: about 8 s, time for a few commands to run beside it. */
const SLOWER_SIZE = 3 * 1024 * 1024;
const SLOWER = `/data/slower.bin?size=${SLOWER_SIZE}&chunk=8192&every=20`;
const hit = (path: string) => fixture.server.requests.filter((r) => r.url.startsWith(path)).length;

describe('rxtransfer session: add, then run in another process', () => {
  it("run reports a 304 to the task's If-None-Match as not modified, the file kept as it is (not saved)", async () => {
    const s = sessionCli('cond', freshDir);
    writeFileSync(join(s.cwd, 'c.bin'), 'the copy');
    const add = await s.run(['add', fixture.server.url('/status/304'), '-o', 'c.bin', '--id', 'c', '--force', '-H', 'If-None-Match: "v1"']);
    expect(add.code).toBe(0);
    // The copy the validator was for, since removed: nothing is kept, and nothing said to be.
    expect((await s.run(['add', fixture.server.url('/status/304'), '-o', 'gone.bin', '--id', 'g', '-H', 'If-None-Match: "v0"'])).code).toBe(0);
    const watch = s.start(['watch'], 20_000);
    await waitFor(() => /nobody runs session "cond" now/.test(watch.stderr()), () => watch.stderr());
    const run = await s.run(['run']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/\[c\] not modified \(304\): c\.bin kept as it is\n/);
    expect(run.stderr).toMatch(/\[g\] not modified \(304\): nothing downloaded\n/);
    expect(run.stderr).not.toMatch(/saved/);
    expect(readFileSync(join(s.cwd, 'c.bin'), 'utf8')).toBe('the copy');
    expect(existsSync(join(s.cwd, 'gone.bin'))).toBe(false);
    // watch says the same, not "saved".
    const watched = await watch.exited;
    expect(watched.code).toBe(0);
    expect(watched.stderr).toMatch(/\[c\] not modified \(304\): c\.bin kept as it is\n/);
    expect(watched.stderr).toMatch(/\[g\] not modified \(304\): nothing downloaded\n/);
    expect(watched.stderr).not.toMatch(/saved/);
    expect(await s.list()).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'c', state: 'completed', status: 304 })]));
  });

  it("a task's -H 'Authorization: …' wins over its URL's user:password (as with curl), which is then not stored", async () => {
    const s = sessionCli('auth', freshDir);
    const url = fixture.server.url('/data/auth.bin?size=10').replace('http://', 'http://alice:s3cret-pw@');
    expect((await s.run(['add', url, '-o', 'auth.bin', '-H', 'Authorization: Bearer tok-s3cret'])).code).toBe(0);
    const run = await s.run(['run']);
    expect(run.code).toBe(0);
    expect(fixture.server.requests.filter((r) => r.url.startsWith('/data/auth.bin')).map((r) => r.headers.authorization)).toEqual(['Bearer tok-s3cret']);
    const stored = sessionDirectory(s.dir, 'auth');
    const files = readdirSync(stored).filter((f) => statSync(join(stored, f)).isFile());
    expect(files.length).toBeGreaterThan(0);
    expect(files.map((f) => readFileSync(join(stored, f), 'utf8')).join('')).not.toMatch(/alice|s3cret-pw/);
  });

  it('add persists tasks without a request; run downloads them with the right sha256 and acknowledges them', async () => {
    const s = sessionCli('sync', freshDir);
    const a = await s.run(['add', fixture.server.url('/data/a.bin?size=70000'), '-o', 'a.bin']);
    expect(a.code).toBe(0);
    const idA = a.stdout.trim();
    expect(idA).toMatch(/^\S+$/);
    const b = await s.run(['add', fixture.server.url('/data/b.bin?size=300000'), '-o', 'out/', '--id', 'b', '--priority', '5', '--json']);
    expect(b.code).toBe(0);
    expect(jsonLines(b.stdout)).toEqual([expect.objectContaining({ type: 'task', id: 'b', state: 'queued', priority: 5, to: join(s.cwd, 'out', 'b.bin') })]);
    expect(hit('/data/a.bin') + hit('/data/b.bin')).toBe(0); // add touches no network

    const listed = await s.list();
    expect(listed.map((t) => [t['id'], t['state'], t['acked']])).toEqual([
      [idA, 'queued', false],
      ['b', 'queued', false],
    ]);

    const run = await s.run(['run', '--max-concurrent', '1']);
    expect(run).toMatchObject({ code: 0, stdout: '' });
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/\[b\] saved out\/b\.bin/);
    expect(run.stderr).toMatch(new RegExp(`\\[${idA}\\] saved a\\.bin`));
    expect(run.stderr).toMatch(/session "sync": 2 completed, 0 failed\n$/);
    expect(run.stderr).not.toContain('\u001b'); // no escape codes off a terminal
    // Priority first: b (5) ran before a (0) with one task at a time.
    expect(fixture.server.requests.findIndex((r) => r.url.startsWith('/data/b.bin'))).toBeLessThan(fixture.server.requests.findIndex((r) => r.url.startsWith('/data/a.bin')));
    expectSha(join(s.cwd, 'a.bin'), 70000);
    expectSha(join(s.cwd, 'out', 'b.bin'), 300000);

    const after = await s.list();
    expect(after.map((t) => [t['id'], t['state'], t['acked'], t['bytes'], t['percent']])).toEqual([
      [idA, 'completed', true, 70000, 100],
      ['b', 'completed', true, 300000, 100],
    ]);
    // Nothing left: a second run has nothing to do.
    const again = await s.run(['run']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/nothing to run/);
  });

  it('list prints a table; an unknown session, a bad URL and an existing file are usage errors (exit 2), one line each', async () => {
    const s = sessionCli('table', freshDir);
    const missing = await s.run(['list']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^rxtransfer: no session "table" in .*; add a task first: rxtransfer session table add <url> -o FILE\n$/);

    const bad = await s.run(['add', 'ftp://example.com/x', '-o', 'x', '--json']);
    expect(bad.code).toBe(2);
    expect(jsonLines(bad.stdout)).toEqual([expect.objectContaining({ type: 'error', code: 'usage' })]);
    expect(bad.stderr.split('\n').filter(Boolean)).toHaveLength(1);

    writeFileSync(join(s.cwd, 'taken.bin'), 'mine');
    const taken = await s.run(['add', fixture.server.url('/data/t.bin?size=10'), '-o', 'taken.bin']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/taken\.bin exists; use --force/);
    expect(readFileSync(join(s.cwd, 'taken.bin'), 'utf8')).toBe('mine');

    expect((await s.run(['add', fixture.server.url('/data/t.bin?size=10'), '-o', 't.bin', '--id', 'first'])).code).toBe(0);
    const table = await s.run(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^session "table": 1 task\nID +STATE +PROGRESS +FILE\nfirst +queued +- +t\.bin\n$/);
  });
});

describe('rxtransfer session: a session left by 0.1.0', () => {
  /** A session named `id` with one queued task, its directory renamed as 0.1.0 named it (encodeURIComponent of the id). */
  async function legacySession(id: string, path: string, taskId: string) {
    const s = sessionCli(id, freshDir);
    expect((await s.run(['add', fixture.server.url(path), '-o', `${taskId}.bin`, '--id', taskId])).code).toBe(0);
    const [now] = readdirSync(s.dir);
    expect(now).not.toBe(encodeURIComponent(id)); // capitals are encoded: `legacy` is another directory on macOS and Windows too
    renameSync(join(s.dir, now!), join(s.dir, encodeURIComponent(id)));
    return { s, now: now! };
  }

  it('is listed where 0.1.0 named it, and moved to its name now by the next add, tasks kept', async () => {
    const { s, now } = await legacySession('Legacy', '/data/l.bin?size=10', 'old');
    expect(now).toBe('%4Cegacy');
    expect((await s.list()).map((t) => t['id'])).toEqual(['old']);
    expect((await s.run(['add', fixture.server.url('/data/m.bin?size=10'), '-o', 'm.bin', '--id', 'new'])).code).toBe(0);
    expect(readdirSync(s.dir)).toEqual(['%4Cegacy']);
    expect((await s.list()).map((t) => t['id'])).toEqual(['old', 'new']);
  });

  it('watch follows it when the run moves it (it read an empty journal at the old name and exited 0 at once)', async () => {
    const { s } = await legacySession('Watched', SLOW, 'w');
    const watch = s.start(['watch'], 30_000);
    await waitFor(() => /nobody runs session "Watched" now/.test(watch.stderr()), () => watch.stderr());
    const run = await s.run(['run'], 30_000);
    expect(run.code).toBe(0);
    const watched = await watch.exited;
    expect(watched.code).toBe(0);
    expect(watched.stderr).toMatch(/\[w\] saved w\.bin/);
    expectSha(join(s.cwd, 'w.bin'), SLOW_SIZE);
  });
});

/** Resolves once process `pid` catches `signal` (Linux: the `SigCgt` mask of `/proc/<pid>/status`), within 15 s. */
async function catching(pid: number, signal: 'SIGHUP'): Promise<void> {
  const bit = 1n << BigInt(constants.signals[signal] - 1);
  for (let i = 0; i < 750; i++) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    if (caught !== undefined && (BigInt(`0x${caught}`) & bit) !== 0n) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`process ${pid} did not come to catch ${signal} within 15 s`);
}

describe('rxtransfer session add: what it leaves alone, what it refuses', () => {
  it('a malformed --integrity is a usage error (exit 2) and nothing is stored', async () => {
    const s = sessionCli('sri', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/k.bin?size=10'), '-o', 'k.bin', '--id', 'ok'])).code).toBe(0);
    const bogus = await s.run(['add', fixture.server.url('/data/y.bin?size=10'), '-o', 'y.bin', '--integrity', 'bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/^rxtransfer: integrity "bogus" is not/);
    expect((await s.list()).map((t) => t['id'])).toEqual(['ok']);
  });

  it('add (and cancel) leave a queued upload whose source file is missing right now queued', async () => {
    const s = sessionCli('uploads', freshDir);
    const source = join(s.cwd, 'to-send.bin');
    writeFileSync(source, bodyBytes(1000));
    // Stored by the library: one slot, taken by a download that never ends, so the upload waits.
    const session = await TransferSession.open({ id: 'uploads', directory: s.dir, maxConcurrent: 1 });
    await session.download(fixture.server.url('/stall?size=1000&after=10'), { to: join(s.cwd, 'stalled.bin'), id: 'stalled' });
    await session.upload(fixture.server.url('/upload'), source, { id: 'up', method: 'PUT' });
    await session.close();
    rmSync(source);
    expect((await s.run(['add', fixture.server.url('/data/n.bin?size=10'), '-o', 'n.bin', '--id', 'n'])).code).toBe(0);
    expect((await s.run(['cancel', 'n'])).code).toBe(0);
    const up = (await s.list()).find((t) => t['id'] === 'up');
    expect(up).toMatchObject({ state: 'queued' });
    expect(fixture.server.requests.filter((r) => r.url.startsWith('/upload')).length).toBe(0);
  });

  it('list shows an upload whose run was killed (-9) as queued with nothing sent (it is sent again from zero), and run sends it whole', async () => {
    const s = sessionCli('killed-upload', freshDir);
    // More than socket buffers take at once: the first run's progress moves as the server reads.
    const size = 24 * 1024 * 1024;
    const source = join(s.cwd, 'to-send.bin');
    const data = bodyBytes(size);
    writeFileSync(source, data);
    const child = startSessionChild({ mode: 'add', id: 'killed-upload', directory: s.dir, uploads: [{ id: 'up', url: fixture.server.url('/upload?every=100&first=1&u=killed'), source, method: 'PUT' }] });
    await child.waitFor('added', 15_000);
    // While the owner runs it, the upload's checkpoints are its progress.
    let shown: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !(((shown?.['bytes'] as number | undefined) ?? 0) > 0); i++) {
      shown = (await s.list()).find((t) => t['id'] === 'up');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(shown).toMatchObject({ kind: 'upload', state: 'running', total: size });
    expect(shown!['bytes']).toBeGreaterThan(0);
    await child.kill9();
    // Killed: nothing of it survives.
    expect((await s.list()).find((t) => t['id'] === 'up')).toMatchObject({ state: 'queued', bytes: 0, percent: 0, total: size });
    const text = await s.run(['list']);
    expect(text.stdout).toMatch(/up +queued +0% 0 B\/24\.0 MiB /);
    const run = await s.run(['run', '--json']);
    expect(run.code).toBe(0);
    const done = jsonLines(run.stdout).find((l) => l['type'] === 'done');
    expect(JSON.parse(String((done!['result'] as Record<string, unknown>)['data']))).toMatchObject({ method: 'PUT', size, sha256: sha256(data) });
    expect(fixture.server.requests.filter((r) => r.url.startsWith('/upload?every=100&first=1&u=killed')).length).toBe(2);
  });

  it('Ctrl-C during an upload says it will be sent again from the start, not that a partial file was kept', async () => {
    const s = sessionCli('interrupted-upload', freshDir);
    const size = 24 * 1024 * 1024;
    const source = join(s.cwd, 'to-send.bin');
    writeFileSync(source, bodyBytes(size));
    const child = startSessionChild({ mode: 'add', id: 'interrupted-upload', directory: s.dir, uploads: [{ id: 'up', url: fixture.server.url('/upload?every=100&u=interrupted'), source, method: 'PUT' }] });
    await child.waitFor('added', 15_000);
    await child.kill9();
    const run = s.start(['run', '--json']);
    await run.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) > 0));
    run.child.kill('SIGINT');
    const stopped = await run.exited;
    expect(stopped.code).toBe(130);
    expect(jsonLines(stopped.stdout).at(-1)).toMatchObject({ type: 'error', taskId: 'up', code: 'cancelled', message: 'interrupted: the task stays queued; run again to send it again from the start' });
    expect(stopped.stderr).toMatch(/^rxtransfer: interrupted: 1 task left in session "interrupted-upload"; run `rxtransfer session interrupted-upload run` again to resume\n$/);
  });

  it('several adds started at once all land (each waits for the others, briefly)', async () => {
    const s = sessionCli('many', freshDir);
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const runs = await Promise.all(ids.map((id) => s.run(['add', fixture.server.url(`/data/${id}.bin?size=10`), '-o', `${id}.bin`, '--id', id])));
    expect(runs.map((r) => [r.code, r.stderr])).toEqual(ids.map(() => [0, '']));
    expect((await s.list()).map((t) => t['id']).sort()).toEqual(ids);
  });

  it('a run started while another holds the session for moments (an add) waits for it (no exit 7)', async () => {
    const s = sessionCli('busy-adds', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/first.bin?size=10'), '-o', 'first.bin', '--id', 'first'])).code).toBe(0);
    const held = await TransferSession.open({ id: 'busy-adds', directory: s.dir });
    const run = s.run(['run', '-q']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await held.close();
    expect(await run).toMatchObject({ code: 0, stderr: '' });
  });

  it('Ctrl-C (or SIGTERM) while run waits for a held lock ends it at once with 130 (143), not 7 after the wait', async () => {
    const s = sessionCli('busy-int', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/w.bin?size=10'), '-o', 'w.bin', '--id', 'w'])).code).toBe(0);
    const held = await TransferSession.open({ id: 'busy-int', directory: s.dir });
    try {
      for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
        const run = s.start(['run', '--json']);
        // Sent once the run has its handlers (it waits for the lock, 2 s at most, from then on),
        // not after a guessed delay that a slow start (a busy CI machine) could outlast. Node
        // itself catches SIGINT and SIGTERM from its start; SIGHUP only the CLI's handlers do,
        // installed together with theirs.
        await catching(run.child.pid!, 'SIGHUP');
        const sent = Date.now();
        run.child.kill(signal);
        const ended = await run.exited;
        expect([signal, ended.code]).toEqual([signal, code]);
        expect(Date.now() - sent).toBeLessThan(1000); // the 2 s wait was cut short
        expect(ended.stderr).toMatch(/^rxtransfer: interrupted while waiting for session "busy-int" \(locked by process \d+\); nothing was run\n$/);
        expect(jsonLines(ended.stdout)).toEqual([expect.objectContaining({ type: 'error', code: 'cancelled' })]);
      }
    } finally {
      await held.close();
    }
  });


  it('run -q prints failure lines without the control characters of task ids or file names', async () => {
    const s = sessionCli('esc', freshDir);
    const name = 'x\u001b[2K\rrxtransfer: all good';
    expect((await s.run(['add', fixture.server.url('/data/e.bin?size=10'), '-o', name, '--id', 'plain'])).code).toBe(0);
    // A task id with control characters is refused when added now; a journal of an older version may hold one.
    const other = `${name}.2`;
    appendFileSync(join(sessionDirectory(s.dir, 'esc'), 'journal.log'), encodeChange({ type: 'put', task: { id: 'id\u001b[31m', kind: 'download', url: fixture.server.url('/data/e2.bin?size=10'), to: join(s.cwd, other), overwrite: false, priority: 0, seq: 2, createdAt: Date.now(), state: 'queued', acked: false } }));
    writeFileSync(join(s.cwd, name), 'appeared after add');
    writeFileSync(join(s.cwd, other), 'appeared after add');
    const run = await s.run(['run', '-q']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/\[plain\] failed.*exists \(overwrite is false\)/);
    expect(run.stderr).toMatch(/\[id\[31m\] failed.*exists \(overwrite is false\)/);
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    expect(run.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  });
});

describe('rxtransfer session: never replaces a file without --force', () => {
  it('a file that appears after add is kept when the task runs (the task fails, exit 2); with --force it is replaced', async () => {
    const s = sessionCli('keepmine', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/mine.bin?size=4000'), '-o', 'mine.bin', '--id', 'mine'])).code).toBe(0);
    expect((await s.run(['add', fixture.server.url('/data/forced.bin?size=4000'), '-o', 'forced.bin', '--id', 'forced', '--force'])).code).toBe(0);
    writeFileSync(join(s.cwd, 'mine.bin'), 'written by the user after add');
    writeFileSync(join(s.cwd, 'forced.bin'), 'replaceable');
    const run = await s.run(['run']);
    expect(run.code).toBe(2); // the first failed task's kind: 'invalid'
    expect(run.stderr).toMatch(/\[mine\] .*mine\.bin exists \(overwrite is false\)/);
    expect(run.stderr).toMatch(/session "keepmine": 1 completed, 1 failed\n$/);
    expect(readFileSync(join(s.cwd, 'mine.bin'), 'utf8')).toBe('written by the user after add');
    expectSha(join(s.cwd, 'forced.bin'), 4000);
    expect(existsSync(join(s.cwd, 'mine.bin.partial'))).toBe(false);
  });
});

describe('rxtransfer session cancel', () => {
  it('cancels a queued task: run reports it cancelled, downloads the rest, exits 0', async () => {
    const s = sessionCli('cancels', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/keep.bin?size=5000'), '-o', 'keep.bin', '--id', 'keep'])).code).toBe(0);
    expect((await s.run(['add', fixture.server.url('/data/drop.bin?size=5000'), '-o', 'drop.bin', '--id', 'drop'])).code).toBe(0);
    const cancel = await s.run(['cancel', 'drop']);
    expect(cancel.code).toBe(0);
    expect(cancel.stderr).toBe('cancelled task "drop" of session "cancels"\n');
    expect((await s.list()).map((t) => [t['id'], t['state']])).toEqual([
      ['keep', 'queued'],
      ['drop', 'cancelled'],
    ]);
    const twice = await s.run(['cancel', 'drop']);
    expect(twice.code).toBe(0);
    expect(twice.stderr).toMatch(/already ended \(cancelled\)/);
    const unknown = await s.run(['cancel', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^rxtransfer: session "cancels" has no task "nope"/);

    const run = await s.run(['run', '--json']);
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines).toContainEqual({ type: 'state', taskId: 'drop', state: 'cancelled' });
    expect(lines.filter((l) => l['taskId'] === 'drop').map((l) => l['type'])).toEqual(['state']);
    expect(hit('/data/drop.bin')).toBe(0);
    expect(existsSync(join(s.cwd, 'drop.bin'))).toBe(false);
    expectSha(join(s.cwd, 'keep.bin'), 5000);
  });
});

describe('rxtransfer session run: Ctrl-C, then run again', () => {
  it('SIGINT stops the run (exit 130, partial kept, task still queued); the next run resumes with Range and ends with the right sha256', async () => {
    const s = sessionCli('interrupted', freshDir);
    expect((await s.run(['add', fixture.server.url(SLOW), '-o', 'slow.bin', '--id', 'slow'])).code).toBe(0);
    const first = s.start(['run', '--json']);
    await first.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) >= 128 * 1024));
    first.child.kill('SIGINT');
    const stopped = await first.exited;
    expect(stopped.code).toBe(130);
    const lines = jsonLines(stopped.stdout);
    assertTransferGrammar(toNotifications(transferLinesByTask(lines).get('slow')!));
    expect(lines.at(-1)).toMatchObject({ type: 'error', taskId: 'slow', code: 'cancelled' });
    expect(stopped.stderr).toMatch(/^rxtransfer: interrupted: 1 task left in session "interrupted" \(partial files kept\); run `rxtransfer session interrupted run` again to resume\n$/);
    const kept = statSync(join(s.cwd, 'slow.bin.partial')).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(SLOW_SIZE);
    expect(existsSync(join(s.cwd, 'slow.bin'))).toBe(false);
    const listed = await s.list();
    expect(listed).toEqual([expect.objectContaining({ id: 'slow', state: 'queued', bytes: kept })]);

    const before = fixture.server.requests.length;
    const second = await s.run(['run', '--json']);
    expect(second.code).toBe(0);
    const resumed = transferLinesByTask(jsonLines(second.stdout)).get('slow')!;
    assertTransferGrammar(toNotifications(resumed));
    expect(resumed[0]!['loaded'] as number).toBeGreaterThanOrEqual(kept);
    const ranged = fixture.server.requests.slice(before);
    expect(ranged.map((r) => r.headers.range)).toEqual([`bytes=${kept}-`]);
    expect(ranged[0]!.headers['if-range']).toBe(`"${SLOW_SIZE}"`);
    expectSha(join(s.cwd, 'slow.bin'), SLOW_SIZE);
    expect(existsSync(join(s.cwd, 'slow.bin.partial'))).toBe(false);
  });
});

describe('rxtransfer session: one owner at a time', () => {
  it('a lock left on a shared directory by another host (or container) holds the session while renewed, and is taken over once its lease expired', async () => {
    const s = sessionCli('shared', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/shared.bin?size=1000'), '-o', 'shared.bin', '--id', 'one'])).code).toBe(0);
    const lock = join(sessionDirectory(s.dir, 'shared'), 'lock');
    writeFileSync(lock, JSON.stringify({ pid: 4242, host: 'builder-7', token: 'elsewhere' }));
    const recent = new Date(Date.now() - 5_000);
    utimesSync(lock, recent, recent);
    const listed = await s.run(['list']);
    expect(listed.stdout).toMatch(/^session "shared": 1 task, running in process 4242 \(on host "builder-7"; renewed [5-9] s ago, taken over once not renewed for 60 s\)\n/);
    const refused = await s.run(['run']);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toMatch(/is open in process 4242 \(on host "builder-7"; renewed \d+ s ago, taken over once not renewed for 60 s\), which holds its lock/);
    // Its host stopped renewing it over a minute ago: gone.
    const old = new Date(Date.now() - 61_000);
    utimesSync(lock, old, old);
    expect((await s.run(['list'])).stdout).toMatch(/^session "shared": 1 task\n/);
    const ran = await s.run(['run']);
    expect(ran.code).toBe(0);
    expectSha(join(s.cwd, 'shared.bin'), 1000);
    expect(existsSync(lock)).toBe(false);
  });

  it('a second run gets the locked error (exit 7); add and cancel too; list and watch follow the running one', async () => {
    const s = sessionCli('busy', freshDir);
    expect((await s.run(['add', fixture.server.url(SLOWER), '-o', 'slow.bin', '--id', 'slow'])).code).toBe(0);
    const owner = s.start(['run', '--json'], 30_000);
    await owner.waitForStdout((out) => jsonLines(out).some((l) => l['type'] === 'progress' && (l['loaded'] as number) > 0));
    const watch = s.start(['watch', '--json'], 30_000);

    const listed = await s.list();
    expect(listed).toEqual([expect.objectContaining({ id: 'slow', state: 'running' })]);
    expect(listed[0]!['bytes'] as number).toBeGreaterThan(0);
    const table = await s.run(['list']);
    expect(table.stdout).toMatch(new RegExp(`^session "busy": 1 task, running in process ${owner.child.pid}\n`));

    // Each waits up to 2 s for the lock (an add holds it for moments), then gives up: run at once.
    const [second, secondJson, add, cancel] = await Promise.all([
      s.run(['run']),
      s.run(['run', '--json']),
      s.run(['add', fixture.server.url('/data/late.bin?size=10'), '-o', 'late.bin']),
      s.run(['cancel', 'slow']),
    ]);
    expect(second.code).toBe(7);
    expect(second.stderr).toBe(
      `rxtransfer: session "busy" is open in process ${owner.child.pid}, which holds its lock; it is already running there; follow it with \`rxtransfer session busy watch\`\n`,
    );
    expect(secondJson.code).toBe(7);
    expect(jsonLines(secondJson.stdout)).toEqual([expect.objectContaining({ type: 'error', code: 'locked', ownerPid: owner.child.pid })]);
    expect(add.code).toBe(7);
    expect(add.stderr).toMatch(/^rxtransfer: session "busy" is open in process \d+, which holds its lock; add tasks before `run` or once it ends/);
    expect(cancel.code).toBe(7);
    expect(owner.child.exitCode).toBeNull(); // all of this while the owner was still running

    const done = await owner.exited;
    expect(done.code).toBe(0);
    expectSha(join(s.cwd, 'slow.bin'), SLOWER_SIZE);
    const watched = await watch.exited;
    expect(watched.code).toBe(0);
    const seen = jsonLines(watched.stdout);
    expect(seen.every((l) => l['type'] === 'task' && l['id'] === 'slow')).toBe(true);
    expect(seen.at(-1)).toMatchObject({ state: 'completed', bytes: SLOWER_SIZE, percent: 100 });
    const bytes = seen.map((l) => l['bytes'] as number);
    expect(bytes).toEqual([...bytes].sort((x, y) => x - y)); // never goes back
  });

  it('watch waits for a run, prints plain lines off a terminal, and exits 0 when the queue is drained', async () => {
    const s = sessionCli('watched', freshDir);
    expect((await s.run(['add', fixture.server.url('/data/w.bin?size=200000&chunk=16384&every=20'), '-o', 'w.bin', '--id', 'w'])).code).toBe(0);
    const watch = s.start(['watch'], 20_000);
    await waitFor(() => /nobody runs session "watched" now: waiting for `rxtransfer session watched run`/.test(watch.stderr()), () => watch.stderr());
    const run = await s.run(['run']);
    expect(run.code).toBe(0);
    const watched = await watch.exited;
    expect(watched.code).toBe(0);
    expect(watched.stderr).toMatch(/\[w\] saved w\.bin/);
    expect(watched.stderr).not.toContain('\u001b');
  });
});

describe('rxtransfer session watch: failures before its first read', () => {
  it('a task the run failed (and acknowledged) before watch first read the session counts: watch exits with its code, not 0, and says which', async () => {
    const s = sessionCli('early', freshDir);
    expect((await s.run(['add', fixture.server.url(SLOWER), '-o', 'slow.bin', '--id', 'slow', '--priority', '5'])).code).toBe(0);
    expect((await s.run(['add', fixture.server.url('/status/404'), '-o', 'bad.bin', '--id', 'bad'])).code).toBe(0);
    const run = s.start(['run', '--json', '--max-concurrent', '2'], 30_000);
    // `run &` then `watch`: the 404 has failed, and been acknowledged, by the time watch starts.
    await waitFor(() => jsonLines(run.stdout()).some((l) => l['taskId'] === 'bad' && l['state'] === 'failed'), () => run.stdout());
    let listed = await s.list();
    for (let i = 0; i < 50 && listed.some((t) => t['id'] === 'bad' && t['acked'] !== true); i++) listed = await s.list();
    expect(listed.map((t) => [t['id'], t['state'], t['acked']])).toEqual([['slow', 'running', false], ['bad', 'failed', true]]);
    const watch = s.start(['watch'], 30_000);
    const [ran, watched] = await Promise.all([run.exited, watch.exited]);
    expect(ran.code).toBe(3);
    expect(watched.code).toBe(3);
    expect(watched.stderr).toMatch(/^rxtransfer: \[bad\] failed: HTTP 404/m);
    expect(watched.stderr).toMatch(/\[slow\] saved slow\.bin/);
    // Once no task is left to run, the failed task counts too: watch exits at once with its code.
    const after = await s.run(['watch', '-q']);
    expect([after.code, after.stdout]).toEqual([3, '']);
    expect(after.stderr).toMatch(/^rxtransfer: \[bad\] failed: HTTP 404 .*\n$/);
  });

  it('a watch that waits for a run follows it from its start: a failure an earlier run reported does not count', async () => {
    const s = sessionCli('earlier', freshDir);
    expect((await s.run(['add', fixture.server.url('/status/404'), '-o', 'bad.bin', '--id', 'bad'])).code).toBe(0);
    expect((await s.run(['run'])).code).toBe(3);
    expect((await s.run(['add', fixture.server.url('/data/good.bin?size=1000'), '-o', 'good.bin', '--id', 'good'])).code).toBe(0);
    const watch = s.start(['watch'], 20_000);
    await waitFor(() => /nobody runs session "earlier" now/.test(watch.stderr()), () => watch.stderr());
    expect((await s.run(['run'])).code).toBe(0);
    const watched = await watch.exited;
    expect(watched.code).toBe(0);
    expect(watched.stderr).toMatch(/\[good\] saved good\.bin/);
    expect(watched.stderr).not.toMatch(/\[bad\]/);
  });
});

describe('rxtransfer session run --json', () => {
  it('prints one object per line tagged with taskId; per task the events obey the transfer grammar; exit code of the first failure', async () => {
    const s = sessionCli('json', freshDir);
    const tasks: Array<[string, string]> = [
      ['small', '/data/small.bin?size=1000'],
      ['medium', '/data/medium.bin?size=400000&chunk=32768&every=5'],
      ['missing', '/status/404'],
      ['large', '/data/large.bin?size=1500000'],
    ];
    for (const [id, path] of tasks) expect((await s.run(['add', fixture.server.url(path), '-o', `${id}.bin`, '--id', id])).code).toBe(0);
    const run = await s.run(['run', '--json', '--max-concurrent', '3', '--max-per-host', '3']);
    expect(run.code).toBe(3); // the 404's kind: HTTP
    expect(run.stderr).toMatch(/^rxtransfer: \[missing\] failed: HTTP 404/m);
    const lines = jsonLines(run.stdout);
    expect(lines.every((l) => typeof l['taskId'] === 'string' && ['progress', 'state', 'done', 'error'].includes(l['type'] as string))).toBe(true);
    const byTask = transferLinesByTask(lines);
    expect([...byTask.keys()].sort()).toEqual(['large', 'medium', 'missing', 'small']);
    for (const [id, events] of byTask) {
      assertTransferGrammar(toNotifications(events));
      const last = events.at(-1)!;
      if (id === 'missing') expect(last).toMatchObject({ type: 'error', code: 'http', status: 404 });
      else expect(last).toMatchObject({ type: 'done', result: { status: 200, path: join(s.cwd, `${id}.bin`) } });
    }
    expect(lines.filter((l) => l['taskId'] === 'small' && l['type'] === 'state').map((l) => l['state'])).toEqual(['running', 'completed']);
    expectSha(join(s.cwd, 'medium.bin'), 400000);
    expectSha(join(s.cwd, 'large.bin'), 1500000);
    expect((await s.list()).find((t) => t['id'] === 'missing')).toMatchObject({ state: 'failed', acked: true, error: { code: 'http', status: 404 } });
    // Nothing a later task could continue is left behind.
    expect(readdirSync(s.cwd).filter((f) => f.startsWith('missing.bin'))).toEqual([]);
  });
});
