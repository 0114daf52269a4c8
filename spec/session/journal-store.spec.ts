import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, encodeChange } from '../../lib/internal/session/journal-codec';
import { JournalStoreHandle, type JournalFile } from '../../lib/internal/session/journal-store';
import type { TaskRecord } from '../../lib/internal/session/session-task';
import { fileSessionStore, sessionDirectory } from '../../lib/internal/node/session-file-store';

const task = (id: string, extra: Partial<TaskRecord> = {}): TaskRecord => ({ id, kind: 'download', url: `http://h/${id}`, to: `/t/${id}`, priority: 0, seq: id.charCodeAt(0), createdAt: 0, state: 'queued', acked: false, ...extra });

/**
 * A journal in memory whose next appends or replaces can be made to fail (not a crash: the
 * process goes on), an append keeping the first `keep` characters of its text, as a write cut
 * short by a full disk or an I/O error does.
 */
class FlakyFile implements JournalFile {
  text = '';
  failAppends: { keep: number }[] = [];
  failReplaces = 0;
  async read(): Promise<string> {
    return this.text;
  }
  async append(text: string): Promise<void> {
    const fail = this.failAppends.shift();
    if (fail) {
      this.text += text.slice(0, fail.keep);
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    }
    this.text += text;
  }
  async replace(text: string): Promise<void> {
    if (this.failReplaces > 0) {
      this.failReplaces--;
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    }
    this.text = text;
  }
}

const release = async () => undefined;
const reopen = async (file: JournalFile) => (await JournalStoreHandle.open(file, release)).tasks.map((t) => [t.id, t.state, t.acked]);

describe('journal store: a write that fails while the process goes on', () => {
  it('S2 the record written after an append cut short is not joined to its torn start (and lost at the next open)', async () => {
    const file = new FlakyFile();
    const handle = await JournalStoreHandle.open(file, release);
    await handle.write([{ type: 'put', task: task('a') }]);
    file.failAppends.push({ keep: 17 });
    await expect(handle.write([{ type: 'put', task: task('a', { bytes: 5 }) }])).rejects.toThrow(/no space/);
    // The disk has room again: the task's completion is written, and said durable.
    await handle.write([{ type: 'put', task: task('a', { state: 'completed' }) }]);
    await handle.close();
    expect(await reopen(file)).toEqual([['a', 'completed', false]]);
  });

  it('S2 a change whose write failed is not made durable later by a compaction (an add() that failed stays undone)', async () => {
    const file = new FlakyFile();
    const handle = await JournalStoreHandle.open(file, release, { slack: 1, factor: 1 });
    await handle.write([{ type: 'put', task: task('a') }]);
    file.failAppends.push({ keep: 0 });
    await expect(handle.write([{ type: 'put', task: task('b') }])).rejects.toThrow(/no space/);
    // Checkpoints of 'a' until the journal is compacted.
    for (let i = 0; i < 5; i++) await handle.write([{ type: 'put', task: task('a', { bytes: i }) }]);
    await handle.close();
    expect(await reopen(file)).toEqual([['a', 'queued', false]]);
  });

  it('S2 a write whose append is durable resolves even when the compaction after it fails (it is tried again later)', async () => {
    const file = new FlakyFile();
    const handle = await JournalStoreHandle.open(file, release, { slack: 0, factor: 1 });
    await handle.write([{ type: 'put', task: task('a') }]);
    file.failReplaces = 1;
    await handle.write([{ type: 'put', task: task('a', { state: 'completed' }) }]);
    await handle.write([{ type: 'put', task: task('a', { state: 'completed', acked: true }) }]);
    expect(file.failReplaces).toBe(0); // the compaction after the completion was tried, and failed
    await handle.close();
    expect(file.text.split('\n')).toHaveLength(2); // compacted at the next write
    expect(await reopen(file)).toEqual([['a', 'completed', true]]);
  });
});

describe('journal store: closed after a failed append', () => {
  const record = (t: TaskRecord) => encodeChange({ type: 'put', task: t });

  it('S2 close() rewrites a journal whose failed append could not be taken back: the changes reported as failed are not replayed by the next open', async () => {
    const file = new FlakyFile();
    const handle = await JournalStoreHandle.open(file, release);
    await handle.write([{ type: 'put', task: task('a') }]);
    // B's record whole, C's torn; the file cannot truncate them away (it does not try).
    file.failAppends.push({ keep: record(task('b')).length + 10 });
    const grouped = [handle.write([{ type: 'put', task: task('b') }]), handle.write([{ type: 'put', task: task('c') }])];
    for (const write of grouped) await expect(write).rejects.toThrow(/no space/);
    await handle.close();
    expect(file.text).toBe(record(task('a')));
    expect(await reopen(file)).toEqual([['a', 'queued', false]]);
  });

  it('S2 close() whose rewrite fails too rejects with that failure, and still releases the journal', async () => {
    const file = new FlakyFile();
    let released = 0;
    const handle = await JournalStoreHandle.open(file, async () => void released++);
    await handle.write([{ type: 'put', task: task('a') }]);
    file.failAppends.push({ keep: 0 });
    await expect(handle.write([{ type: 'put', task: task('b') }])).rejects.toThrow(/no space/);
    file.failReplaces = 1;
    await expect(handle.close()).rejects.toThrow(/no space/);
    expect(released).toBe(1);
  });

  it('S10 close() after writes that all succeeded rewrites nothing', async () => {
    const file = new FlakyFile();
    const handle = await JournalStoreHandle.open(file, release);
    await handle.write([{ type: 'put', task: task('a') }]);
    await handle.write([{ type: 'put', task: task('a', { bytes: 1 }) }]);
    file.failReplaces = 1; // a rewrite at close would fail, and make close() reject
    await handle.close();
    expect(file.failReplaces).toBe(1);
  });

  it('S2 a batch holding a change that cannot be encoded fails whole, undone: a later compaction stores none of it', async () => {
    const file = new FlakyFile();
    const handle = await JournalStoreHandle.open(file, release, { slack: 1, factor: 1 });
    await handle.write([{ type: 'put', task: task('a') }]);
    const unencodable = task('b', { bytes: 1n as unknown as number });
    await expect(handle.write([{ type: 'put', task: task('a', { state: 'completed' }) }, { type: 'put', task: unencodable }])).rejects.toThrow(TypeError);
    for (let i = 0; i < 5; i++) await handle.write([{ type: 'put', task: task('c', { bytes: i }) }]);
    await handle.close();
    expect(await reopen(file)).toEqual([['a', 'queued', false], ['c', 'queued', false]]);
  });
});

describe('journal store: a journal written by a newer version', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rxtransfer-journal-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A sound J1 line (its checksum right) holding `json`. */
  const soundLine = (json: string) => `J1 ${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;

  it.each([
    ['a record of a newer format', 'J2 0000abcd {"t":"put","task":{"id":"b"}}\n'],
    ['a sound record of a kind this version does not know', soundLine('{"t":"meta","format":2}')],
  ])('S2 S9 %s: the open is refused and the journal left as it is (never rewritten without it)', async (what, record) => {
    const id = `newer-${what.length}`;
    const sdir = sessionDirectory(dir, id);
    await mkdir(sdir, { recursive: true });
    const journal = join(sdir, 'journal.log');
    const text = encodeChange({ type: 'put', task: task('a') }) + record;
    await writeFile(journal, text);
    const store = fileSessionStore({ directory: dir });
    await expect(store.open(id)).rejects.toThrow(/newer version/);
    expect(await readFile(journal, 'utf8')).toBe(text);
    // The lock was given back: the error is not a lock left behind.
    await expect(store.open(id)).rejects.toThrow(/newer version/);
  });
});
