import { lstat, mkdtemp, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSessionStore, nodeJournalFile, sessionDirectory } from '../../lib/internal/node/session-file-store';
import { JournalStoreHandle, type JournalFile } from '../../lib/internal/session/journal-store';
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
