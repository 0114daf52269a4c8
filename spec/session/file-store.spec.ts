import fc from 'fast-check';
import { constants } from 'node:fs';
import { lstat, mkdtemp, open, readFile, readdir, rename, rm, symlink, writeFile, mkdir, utimes } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { existingSessionDirectory, fileSessionStore, legacySessionDirectory, nodeJournalFile, sessionDirectory } from '../../lib/internal/node/session-file-store';
import { acquireSessionLock } from '../../lib/internal/node/session-lock';
import { checkSessionId } from '../../lib/internal/session/session-options';
import { killAllSessionChildren, startSessionChild } from '../helpers/session-process';
import { ROOT, bundleForNode } from '../helpers/node-bundle';
import { spawn } from 'node:child_process';
import { JournalStoreHandle, type JournalFile } from '../../lib/internal/session/journal-store';
import { encodeChange } from '../../lib/internal/session/journal-codec';
import type { TaskRecord } from '../../lib/internal/session/session-task';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rxtransfer-filestore-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const task = (id: string, bytes: number): TaskRecord => ({ id, kind: 'download', url: `http://h/${id}`, to: `/t/${id}`, priority: 0, seq: id.charCodeAt(0), createdAt: 0, state: 'queued', acked: false, bytes });

describe('file session store', () => {
  it('S2 a new session is durable as a whole: the directories it made and its new journal have their names synced, once', async () => {
    // Directories are synced through a handle opened read-only: those opens are counted.
    const fsp = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
    const realOpen = fsp.open;
    const synced: string[] = [];
    const open = jest.spyOn(fsp, 'open').mockImplementation(async (...args: Parameters<typeof fsp.open>) => {
      const handle = await realOpen(...args);
      if (args[1] === constants.O_RDONLY) synced.push(String(args[0]));
      return handle;
    });
    try {
      const root = join(dir, 'made', 'here');
      const store = fileSessionStore({ directory: root });
      const handle = await store.open('new');
      const session = sessionDirectory(root, 'new');
      // mkdir made made/, made/here and the session's own: each one's parent synced.
      expect(synced).toEqual(expect.arrayContaining([dir, join(dir, 'made'), root]));
      synced.length = 0;
      await handle.write([{ type: 'put', task: task('a', 1) }]);
      expect(synced).toEqual([session]); // the journal was made: its directory synced
      synced.length = 0;
      await handle.write([{ type: 'put', task: task('a', 2) }]);
      expect(synced).toEqual([]); // appended to: nothing more
      await handle.close();
      const again = await store.open('new');
      expect(synced).toEqual([]); // nothing was made
      await again.close();
    } finally {
      open.mockRestore();
    }
  });

  it('S10 the journal stays bounded: thousands of checkpoints are compacted', async () => {
    const store = fileSessionStore({ directory: dir });
    const handle = await store.open('bounded');
    for (let i = 0; i < 3000; i++) await handle.write([{ type: 'put', task: task('abc'[i % 3]!, i) }]);
    await handle.close();
    const text = await readFile(join(sessionDirectory(dir, 'bounded'), 'journal.log'), 'utf8');
    expect(text.split('\n').length - 1).toBeLessThanOrEqual(256 + 3 + 1);
    const again = await store.open('bounded');
    expect(again.tasks.map((t) => [t.id, t.bytes])).toEqual([['a', 2997], ['b', 2998], ['c', 2999]]);
    await again.close();
  });

  it('S10 writes that arrive together share one append (group commit)', async () => {
    const inner = nodeJournalFile(join(dir, 'group.log'));
    let appends = 0;
    const file: JournalFile = { read: inner.read, replace: inner.replace, append: (t) => (appends++, inner.append(t)) };
    const handle = await JournalStoreHandle.open(file, async () => undefined);
    await Promise.all(Array.from({ length: 50 }, (_, i) => handle.write([{ type: 'put', task: task(`t${i}`, i) }])));
    expect(appends).toBeLessThanOrEqual(2);
    await handle.close();
    const reopened = await JournalStoreHandle.open(inner, async () => undefined);
    expect(reopened.tasks).toHaveLength(50);
  });

  it('S1 opens any id the options allow (200 characters of any script), each in its own directory, again after a reopen', async () => {
    const store = fileSessionStore({ directory: dir });
    const long = 'é'.repeat(200);
    // Its directory name is one no encoding of an id can be: not even this id's, whose encoding is that name.
    const named = sessionDirectory(dir, long).slice(dir.length + 1);
    const ids = [long, 'é'.repeat(199) + 'e', named, 'x'.repeat(200), 'ü'.repeat(42)];
    for (const [i, id] of ids.entries()) {
      const handle = await store.open(id);
      await handle.write([{ type: 'put', task: task('abcde'[i]!, i) }]);
      await handle.close();
    }
    expect(new Set(ids.map((id) => sessionDirectory(dir, id))).size).toBe(ids.length);
    for (const [i, id] of ids.entries()) {
      expect(Buffer.byteLength(sessionDirectory(dir, id).slice(dir.length + 1))).toBeLessThanOrEqual(255);
      const again = await store.open(id);
      expect(again.tasks.map((t) => [t.id, t.bytes])).toEqual([['abcde'[i]!, i]]);
      await again.close();
    }
  });

  it('S8 the lock is released on close and taken again by the next opener', async () => {
    const store = fileSessionStore({ directory: dir });
    const a = await store.open('relock');
    await expect(store.open('relock')).rejects.toMatchObject({ name: 'SessionLockedError' });
    await a.close();
    const b = await store.open('relock');
    await b.close();
  });

  it('S8 a lock record naming no process (pid 0 or negative: kill() would signal a group and find it alive) is judged as an unreadable one: held while recent, stale once old', async () => {
    for (const pid of [0, -1, 1.5]) {
      const id = `no-pid-${String(pid)}`;
      const sdir = sessionDirectory(dir, id);
      await mkdir(sdir, { recursive: true });
      const lock = join(sdir, 'lock');
      await writeFile(lock, JSON.stringify({ pid, host: hostname(), token: 'planted' }));
      await expect(fileSessionStore({ directory: dir }).open(id)).rejects.toMatchObject({ name: 'SessionLockedError' });
      const old = new Date(Date.now() - 60_000);
      await utimes(lock, old, old);
      await (await fileSessionStore({ directory: dir }).open(id)).close();
    }
  });

  it('S8 a session whose lock was taken over (its lease expired while it was paused) writes nothing more to the journal', async () => {
    const store = fileSessionStore({ directory: dir });
    const handle = await store.open('taken-over');
    await handle.write([{ type: 'put', task: task('a', 1) }]);
    const sdir = sessionDirectory(dir, 'taken-over');
    const journal = await readFile(join(sdir, 'journal.log'), 'utf8');
    const theirs = JSON.stringify({ pid: 1, host: 'elsewhere.example', token: 'new-owner' });
    await writeFile(join(sdir, 'lock.theirs'), theirs);
    await rename(join(sdir, 'lock.theirs'), join(sdir, 'lock'));
    await expect(handle.write([{ type: 'put', task: task('b', 2) }])).rejects.toMatchObject({ code: 'ELOCKLOST' });
    expect(await readFile(join(sdir, 'journal.log'), 'utf8')).toBe(journal);
    await handle.close().catch(() => undefined);
    // The new owner's lock is left in place.
    expect(await readFile(join(sdir, 'lock'), 'utf8')).toBe(theirs);
  });

  it('S8 a session whose owner was killed with -9 but not reaped yet (a zombie: its parent does not wait for it, as a shell that exec\'d, or a container\'s pid 1) is taken over, not locked', async () => {
    const directory = join(dir, 'zombie');
    const bundle = bundleForNode(join(ROOT, 'spec', 'helpers', 'session-child.ts'), 'session-child', 'zombie');
    const config = JSON.stringify({ mode: 'add', id: 'zombie', directory, tasks: [] });
    // The owner's parent is `sleep` (the shell exec'd it), which never waits for its children.
    const shell = spawn('sh', ['-c', '"$NODE" "$BUNDLE" "$CONFIG" & echo "$!"; exec sleep 30'], { env: { ...process.env, NODE: process.execPath, BUNDLE: bundle, CONFIG: config }, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<void>((resolve) => shell.once('exit', () => resolve()));
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the owner did not start')), 10_000);
        shell.stdout!.once('data', (d: Buffer) => {
          clearTimeout(timer);
          resolve(Number(String(d).trim()));
        });
      });
      const lock = join(sessionDirectory(directory, 'zombie'), 'lock');
      for (let i = 0; i < 200 && !(await readFile(lock, 'utf8').catch(() => '')).includes(`"pid":${pid},`); i++) await new Promise((r) => setTimeout(r, 50));
      await expect(fileSessionStore({ directory }).open('zombie')).rejects.toMatchObject({ name: 'SessionLockedError', ownerPid: pid });
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && !/\) Z /.test(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ') Z ')); i++) await new Promise((r) => setTimeout(r, 20));
      const handle = await fileSessionStore({ directory }).open('zombie');
      await handle.close();
    } finally {
      shell.kill('SIGKILL');
      await exited;
      await rm(bundle, { force: true });
    }
  }, 20_000);

  it('S1 refuses the empty id (its directory would be the sessions directory itself), writing nothing; `.` and `..` get directories of their own', async () => {
    const directory = join(dir, 'refused');
    await mkdir(directory);
    await expect(fileSessionStore({ directory }).open('')).rejects.toThrow(TypeError);
    expect(await readdir(directory)).toEqual([]);
    for (const id of ['.', '..']) await (await fileSessionStore({ directory }).open(id)).close();
    expect((await readdir(directory)).sort()).toEqual(['%2E', '.%2E']);
  });

  it('never writes the journal through a planted symlink', async () => {
    const sdir = sessionDirectory(dir, 'planted');
    await mkdir(sdir, { recursive: true });
    const target = join(dir, 'victim.txt');
    await writeFile(target, 'keep me');
    await symlink(target, join(sdir, 'journal.log'));
    const store = fileSessionStore({ directory: dir });
    const handle = await store.open('planted');
    await handle.write([{ type: 'put', task: task('x', 1) }]).catch(() => undefined);
    await handle.close();
    expect(await readFile(target, 'utf8')).toBe('keep me');
    expect((await lstat(join(sdir, 'journal.log'))).isSymbolicLink()).toBe(false);
  });
});

describe('file session store: an append cut short by the disk (a real partial write)', () => {
  /** RLIMIT_FSIZE in the child, in bytes (`ulimit -f` counts 1,024-byte blocks in bash). */
  const LIMIT = 2048;
  let bundle: string;
  beforeAll(() => {
    bundle = bundleForNode(join(ROOT, 'spec', 'helpers', 'journal-append-child.ts'), 'journal-append-child', 'child');
  });
  afterAll(async () => {
    await rm(bundle, { force: true });
  });

  /** A task whose journal record is `size` bytes. */
  const sized = (id: string, size: number): TaskRecord => {
    const base = task(id, 0);
    const pad = size - encodeChange({ type: 'put', task: base }).length;
    return { ...base, url: `${base.url}?${'p'.repeat(pad - 1)}` };
  };

  it.each(['kill', 'close'] as const)(
    'S2 the grouped changes reported as failed are not in the journal after the process ends (%s): what the failed append wrote is taken back, the change stored before is kept',
    async (end) => {
      const directory = join(dir, `cut-short-${end}`);
      const id = 'cut-short';
      // A fits; A and B fit, B's record whole; C crosses the limit: the grouped append of B and C
      // writes B and the start of C, then fails with EFBIG.
      const [a, b, c] = [sized('a', 900), sized('b', 900), sized('c', 900)];
      const length = (t: TaskRecord) => encodeChange({ type: 'put', task: t }).length;
      expect(length(a) + length(b)).toBeLessThan(LIMIT);
      expect(length(a) + length(b) + length(c)).toBeGreaterThan(LIMIT);
      const config = JSON.stringify({ directory, id, first: a, grouped: [b, c], end });
      const child = spawn('bash', ['-c', `ulimit -f ${LIMIT / 1024} && exec "$NODE" "$BUNDLE" "$CONFIG"`], {
        env: { ...process.env, NODE: process.execPath, BUNDLE: bundle, CONFIG: config },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      try {
        const line = await new Promise<string>((resolve, reject) => {
          let out = '';
          const timer = setTimeout(() => reject(new Error(`the child printed nothing within 10 s: ${err}`)), 10_000);
          child.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.includes('\n')) {
              clearTimeout(timer);
              resolve(out.split('\n')[0]!);
            }
          });
          void exited.then(() => reject(new Error(`the child ended first: ${err}`)));
        });
        // B alone would have fit: its write failed because it shared C's append.
        expect(JSON.parse(line)).toEqual({ first: 'ok', grouped: ['EFBIG', 'EFBIG'] });
        if (end === 'kill') child.kill('SIGKILL');
        expect(await exited).toBe(end === 'kill' ? 'SIGKILL' : 0);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const journal = join(sessionDirectory(directory, id), 'journal.log');
      // The journal ends where it ended before the failed append.
      expect(await readFile(journal, 'utf8')).toBe(encodeChange({ type: 'put', task: a }));
      const reopened = await fileSessionStore({ directory }).open(id);
      expect(reopened.tasks).toEqual([a]);
      await reopened.close();
    },
    20_000,
  );

  it('S2 an append whose fdatasync fails (an I/O error: its bytes, all written, may never reach the disk) is taken back too', async () => {
    // fdatasync cannot be made to fail for real here: the file handle's is replaced once.
    const path = join(dir, 'datasync-fails.log');
    const file = nodeJournalFile(path);
    await file.append('first\n');
    const probe = await open(path, 'r');
    const FileHandle = probe.constructor as { prototype: { datasync(): Promise<void> } };
    await probe.close();
    const datasync = jest.spyOn(FileHandle.prototype, 'datasync').mockRejectedValueOnce(Object.assign(new Error('i/o error'), { code: 'EIO' }));
    try {
      await expect(file.append('second\n')).rejects.toMatchObject({ code: 'EIO' });
    } finally {
      datasync.mockRestore();
    }
    expect(await readFile(path, 'utf8')).toBe('first\n');
  });
});

describe('file session store: directory names', () => {
  const nameOf = (id: string) => basename(sessionDirectory(dir, id));
  const validId = (arb: fc.Arbitrary<string>) => arb.filter((id) => checkSessionId(id) === undefined);
  const tricky = fc.constantFrom('a', 'A', 'z', 'Z', 'i', 'I', 'n', 'u', 'l', 'c', 'o', 'm', '1', '.', '*', '~', '%', '-', '_', ' ', '/', '\\', ':', 'é', 'É', 'ß', 'ſ', 'K', '😀');
  const ids = fc.oneof(
    validId(fc.string({ unit: tricky, minLength: 1, maxLength: 12 })),
    validId(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 })),
    validId(fc.string({ unit: fc.constantFrom('A', 'a', 'é', '~'), minLength: 60, maxLength: 200 })),
  );
  /** The same id with the case of some of its characters changed. */
  const caseVariant = (id: string, flips: boolean[]) => [...id].map((ch, i) => (flips[i % flips.length] ? (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) : ch)).join('');

  it('S1 ids that differ only in case never share a directory on a case-insensitive file system (macOS, Windows)', () => {
    expect(nameOf('Uploads').toLowerCase()).not.toBe(nameOf('uploads').toLowerCase());
    fc.assert(
      fc.property(ids, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (id, flips) => {
        const other = caseVariant(id, flips);
        fc.pre(other !== id && checkSessionId(other) === undefined);
        expect(nameOf(other).toLowerCase()).not.toBe(nameOf(id).toLowerCase());
        expect(nameOf(other).toUpperCase()).not.toBe(nameOf(id).toUpperCase());
      }),
      { numRuns: 2000 },
    );
  });

  it('S1 every name is portable: ASCII, no character Windows refuses, no trailing dot, no device name, at most 255 bytes, and it spells its id', () => {
    expect(['nul', 'com1.x', 'a.', 'a*b', 'sessio~1', 'AUX'].map(nameOf)).toEqual(['nu%6C', 'com%31.x', 'a%2E', 'a%2Ab', 'sessio%7E1', '%41%55%58']);
    fc.assert(
      fc.property(fc.uniqueArray(ids, { minLength: 2, maxLength: 6 }), (some) => {
        const names = some.map(nameOf);
        for (const [i, name] of names.entries()) {
          expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
          expect(name).not.toMatch(/[.\s]$/);
          expect(name).not.toMatch(/^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i);
          const long = name.match(/^(.{1,180})%~([0-9a-f]{40})$/);
          if (long) continue; // named by a digest: distinct, but not spelled out
          expect(name.replace(/%[0-9A-F]{2}/g, '')).toMatch(/^[a-z0-9\-_.!'()]*$/);
          expect(decodeURIComponent(name)).toBe(some[i]);
        }
        expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(some.length);
      }),
      { numRuns: 500 },
    );
  });

  /** A session as 0.1.0 left it: its directory under the old name, a journal with one task. */
  async function legacySession(parent: string, id: string): Promise<string> {
    const legacy = legacySessionDirectory(parent, id);
    await mkdir(legacy, { recursive: true });
    const handle = await JournalStoreHandle.open(nodeJournalFile(join(legacy, 'journal.log')), async () => undefined);
    await handle.write([{ type: 'put', task: task('kept', 42) }]);
    await handle.close();
    return legacy;
  }

  it('S1 a session of 0.1.0 (its directory named by encodeURIComponent) is moved to its new name on open, its tasks kept', async () => {
    const parent = join(dir, 'legacy-move');
    const id = 'Com.Example*Sync~';
    const legacy = await legacySession(parent, id);
    expect(legacy).not.toBe(sessionDirectory(parent, id));
    // Read without opening (the command line's list): found where it is.
    expect(await existingSessionDirectory(parent, id)).toBe(legacy);
    const store = fileSessionStore({ directory: parent });
    const handle = await store.open(id);
    expect(handle.tasks.map((t) => [t.id, t.bytes])).toEqual([['kept', 42]]);
    expect(await readdir(parent)).toEqual([basename(sessionDirectory(parent, id))]);
    expect(await existingSessionDirectory(parent, id)).toBe(sessionDirectory(parent, id));
    // Locked where it is now, and released there.
    await expect(store.open(id)).rejects.toMatchObject({ name: 'SessionLockedError' });
    await handle.close();
    expect(await readdir(sessionDirectory(parent, id))).toEqual(['journal.log']);
    const again = await store.open(id);
    expect(again.tasks.map((t) => t.id)).toEqual(['kept']);
    await again.close();
  });

  it('S8 a 0.1.0 session still running (its lock held) is left where it is: the open is refused as locked', async () => {
    const parent = join(dir, 'legacy-locked');
    const id = 'Running';
    const legacy = await legacySession(parent, id);
    const release = await acquireSessionLock(join(legacy, 'lock'), id);
    try {
      await expect(fileSessionStore({ directory: parent }).open(id)).rejects.toMatchObject({ name: 'SessionLockedError' });
      expect(await readdir(parent)).toEqual([basename(legacy)]);
      expect(await readdir(legacy)).toEqual(expect.arrayContaining(['journal.log', 'lock']));
    } finally {
      await release();
    }
    const handle = await fileSessionStore({ directory: parent }).open(id);
    expect(handle.tasks.map((t) => t.id)).toEqual(['kept']);
    await handle.close();
  });

  it('S1 when both names exist, the new one is the session and the old one is left alone', async () => {
    const parent = join(dir, 'legacy-both');
    const id = 'Both';
    const legacy = await legacySession(parent, id);
    const store = fileSessionStore({ directory: parent });
    await mkdir(sessionDirectory(parent, id), { recursive: true });
    const handle = await store.open(id);
    expect(handle.tasks).toEqual([]);
    await handle.close();
    expect(await readFile(join(legacy, 'journal.log'), 'utf8')).toContain('"kept"');
  });

  it("S1 on a case-insensitive file system, 0.1.0's directory of another id is never taken for this one: the open is refused, naming the id to open first", async () => {
    const parent = join(dir, 'legacy-alias');
    const legacy = await legacySession(parent, 'Uploads');
    // What a case-insensitive file system does: `uploads` finds `Uploads` (simulated with a symlink).
    await symlink('Uploads', join(parent, 'uploads'));
    const message = /Uploads, left by rxtransfer 0\.1\.0, is what this file system \(case-insensitive\) finds for session "uploads": open session "Uploads" first/;
    await expect(fileSessionStore({ directory: parent }).open('uploads')).rejects.toThrow(message);
    await expect(existingSessionDirectory(parent, 'uploads')).rejects.toThrow(message);
    expect((await readdir(legacy)).sort()).toEqual(['journal.log']);
    // On a file system that tells them apart, the two are two sessions, and nothing is refused.
    await rm(join(parent, 'uploads'));
    const other = await fileSessionStore({ directory: parent }).open('uploads');
    expect(other.tasks).toEqual([]);
    await other.close();
    const owner = await fileSessionStore({ directory: parent }).open('Uploads');
    expect(owner.tasks.map((t) => t.id)).toEqual(['kept']);
    await owner.close();
  });

  it('S8 two processes opening a 0.1.0 session at once: one moves it, the other opens it or is refused as locked, never another error', async () => {
    try {
      for (let round = 0; round < 6; round++) {
        const parent = join(dir, `legacy-race-${round}`);
        await legacySession(parent, 'Raced');
        const children = [0, 1].map(() => startSessionChild({ mode: 'open-once', id: 'Raced', directory: parent }));
        const outcomes = await Promise.all(children.map(async (c) => (await c.exited, JSON.parse(c.stdout()) as { ok?: boolean; error?: string; message?: string })));
        for (const outcome of outcomes) expect(outcome.ok === true || outcome.error === 'SessionLockedError' ? 'ok or locked' : outcome).toBe('ok or locked');
        expect(await readdir(parent)).toEqual([basename(sessionDirectory(parent, 'Raced'))]);
        const handle = await fileSessionStore({ directory: parent }).open('Raced');
        expect(handle.tasks.map((t) => t.id)).toEqual(['kept']);
        await handle.close();
      }
    } finally {
      await killAllSessionChildren();
    }
  });
});

