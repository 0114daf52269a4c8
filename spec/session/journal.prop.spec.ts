import fc from 'fast-check';
import { decodeJournal, encodeChange } from '../../lib/internal/session/journal-codec';
import { createSessionApi } from '../../lib/internal/session/session-api';
import type { TaskChange } from '../../lib/internal/session/session-store';
import type { TaskRecord } from '../../lib/internal/session/session-task';
import type { TransferSession } from '../../lib/internal/session/transfer-session';
import { SimDisk, simPlatform } from '../helpers/session-sim';
import { JournalStoreHandle, type JournalCompaction, type JournalFile } from '../../lib/internal/session/journal-store';

const arbTask = (id: string): fc.Arbitrary<TaskRecord> =>
  fc.record({
    id: fc.constant(id),
    kind: fc.constantFrom('download' as const, 'upload' as const),
    url: fc.constant(`http://127.0.0.1/${id}`),
    priority: fc.integer({ min: -3, max: 3 }),
    seq: fc.nat(1000),
    createdAt: fc.nat(),
    state: fc.constantFrom('queued' as const, 'suspended' as const, 'completed' as const, 'failed' as const, 'cancelled' as const),
    acked: fc.boolean(),
    to: fc.string({ maxLength: 12 }),
  });

const arbChange: fc.Arbitrary<TaskChange> = fc
  .constantFrom('a', 'b', 'c', 'd', 'é✓')
  .chain((id) => fc.oneof({ weight: 4, arbitrary: arbTask(id).map((task) => ({ type: 'put' as const, task })) }, { weight: 1, arbitrary: fc.constant({ type: 'delete' as const, id }) }));

function replay(changes: readonly TaskChange[]): Map<string, TaskRecord> {
  const m = new Map<string, TaskRecord>();
  for (const c of changes) {
    if (c.type === 'put') m.set(c.task.id, c.task);
    else m.delete(c.id);
  }
  return m;
}

/**
 * Where a tear falls: anywhere (undefined), or at a record's end give or take a byte, such as a
 * line whole but for its `\n` (a case a uniform cut almost never hits).
 */
const edgeArb: fc.Arbitrary<number | undefined> = fc.oneof(fc.constant(undefined), fc.integer({ min: -2, max: 1 }));

describe('journal codec (property)', () => {
  it('S9 S2 a torn, zero-filled tail, or a damaged record anywhere, loses only the records it touches', () => {
    fc.assert(
      fc.property(fc.array(arbChange, { maxLength: 25 }), fc.nat(), edgeArb, fc.oneof(fc.constant(0), fc.nat(8)), fc.boolean(), fc.nat(), (changes, cut, edge, zeros, flip, which) => {
        const lines = changes.map(encodeChange);
        const text = lines.join('');
        const lineEnd = lines.slice(0, lines.length === 0 ? 0 : (cut % lines.length) + 1).join('').length;
        const at = edge === undefined ? cut % (text.length + 1) : Math.min(text.length, Math.max(0, lineEnd + edge));
        let torn = text.slice(0, at) + '\0'.repeat(zeros);
        // Whole records before the cut are kept; the one the cut falls in is dropped.
        let whole = 0;
        for (let len = 0; whole < lines.length && len + lines[whole]!.length <= at; whole++) len += lines[whole]!.length;
        let expected = changes.slice(0, whole);
        if (flip && whole > 0) {
          // A damaged byte inside one whole record, the last or one before it: that record is
          // detected and skipped, and the records after it still count.
          const k = whole - 1 - (which % whole);
          const start = lines.slice(0, k).join('').length;
          const i = start + 12 + ((cut >> 3) % Math.max(1, lines[k]!.length - 13));
          torn = torn.slice(0, i) + (torn[i] === 'x' ? 'y' : 'x') + torn.slice(i + 1);
          expected = [...changes.slice(0, k), ...changes.slice(k + 1, whole)];
        }
        const decoded = decodeJournal(torn);
        const want = replay(expected);
        expect(new Map(decoded.tasks.map((t) => [t.id, t]))).toEqual(want);
        expect(new Set(decoded.tasks.map((t) => t.id)).size).toBe(decoded.tasks.length);
      }),
      { numRuns: 500 },
    );
  });
});

/** One batch of changes, and how the disk fails it: every write (append, replace) or only a compaction's replace. */
const arbWrite = fc.record({
  changes: fc.array(arbChange, { minLength: 1, maxLength: 3 }),
  fail: fc.option(fc.record({ ops: fc.constantFrom<'all' | 'replace'>('all', 'all', 'replace'), keep: fc.nat(400), zeros: fc.nat(3) }), { freq: 3, nil: undefined }),
});

describe('the journal store over a disk whose writes fail and go on (property)', () => {
  it('S2 S9 a failed write is undone in memory and never made durable later, a torn append is not joined by the next, and a write reported done is on disk (property, 500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbWrite, { maxLength: 12 }), fc.constantFrom<JournalCompaction>({}, { slack: 1, factor: 1 }, { slack: 3, factor: 2 }), async (writes, compaction) => {
        let durable = '';
        let failing: (typeof writes)[number]['fail'];
        // A transient failure (EIO, ENOSPC): the process lives on. A failed append may leave any
        // part of its text, then zeros; a failed replace leaves the journal as it was (rename).
        const file: JournalFile = {
          read: () => Promise.resolve(durable),
          append: (text) => {
            if (failing?.ops === 'all') {
              durable += text.slice(0, failing.keep % (text.length + 1)) + '\0'.repeat(failing.zeros);
              return Promise.reject(new Error('EIO'));
            }
            durable += text;
            return Promise.resolve();
          },
          replace: (text) => {
            if (failing) return Promise.reject(new Error('EIO'));
            durable = text;
            return Promise.resolve();
          },
        };
        const handle = await JournalStoreHandle.open(file, () => Promise.resolve(), compaction);
        const accepted: TaskChange[] = [];
        /** The first batch that failed since the last write that did not: parts of it may be on disk. */
        let torn: readonly TaskChange[] | undefined;
        const byId = (tasks: readonly TaskRecord[]) => new Map(tasks.map((t) => [t.id, t]));
        for (const [n, w] of writes.entries()) {
          failing = w.fail;
          const ok = await handle.write(w.changes).then(() => true, () => false);
          failing = undefined;
          if (ok) accepted.push(...w.changes);
          torn = ok ? undefined : torn ?? w.changes;
          expect({ write: n, ok, tasks: byId(handle.tasks) }).toEqual({ write: n, ok, tasks: replay(accepted) });
          const onDisk = byId(decodeJournal(durable).tasks);
          if (ok) expect({ write: n, onDisk }).toEqual({ write: n, onDisk: replay(accepted) });
          else {
            // Until a write succeeds, the first failed batch may be on disk in part (whole records
            // reported failed); the next ones rewrite the journal whole, or leave it as it was.
            const possible = torn!.map((_, j) => replay([...accepted, ...torn!.slice(0, j + 1)]));
            expect([replay(accepted), ...possible]).toContainEqual(onDisk);
          }
        }
        await handle.close();
      }),
      { numRuns: 500 },
    );
  });
});

type Op =
  | { t: 'add'; id: string }
  | { t: 'ack'; id: string }
  | { t: 'suspend'; id: string }
  | { t: 'resume'; id: string }
  | { t: 'cancel'; id: string }
  | { t: 'wait' };

const IDS = ['f1', 'f2', 'f3', 's1', 's2'];
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...IDS).map((id) => ({ t: 'add' as const, id })) },
  { weight: 3, arbitrary: fc.constantFrom(...IDS).map((id) => ({ t: 'ack' as const, id })) },
  { weight: 1, arbitrary: fc.constantFrom(...IDS).map((id) => ({ t: 'suspend' as const, id })) },
  { weight: 1, arbitrary: fc.constantFrom(...IDS).map((id) => ({ t: 'resume' as const, id })) },
  { weight: 1, arbitrary: fc.constantFrom(...IDS).map((id) => ({ t: 'cancel' as const, id })) },
  { weight: 2, arbitrary: fc.constant({ t: 'wait' as const }) },
);

const TransferSession = createSessionApi(simPlatform());
/** The default thresholds (no compaction in 25 operations), or ones low enough to compact every few writes. */
const arbCompaction: fc.Arbitrary<JournalCompaction> = fc.constantFrom<JournalCompaction>({}, { slack: 1, factor: 1 }, { slack: 3, factor: 2 });
const FINAL = new Set(['completed', 'failed', 'cancelled']);

describe('sessions over a store that crashes (property)', () => {
  it('S2 S4 after a crash at any write, torn or not, compacting or not: every acked completion stays acked, every finished task stays finished, every added task is present once, and the reopened journal takes new writes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arbOp, { minLength: 1, maxLength: 25 }), fc.nat(40), fc.nat(400), fc.nat(4), arbCompaction, async (ops, crashAt, tornBytes, zeros, compaction) => {
        const disk = new SimDisk(crashAt, tornBytes, zeros, compaction);
        const crashed = disk.whenCrashed().then(() => 'crashed' as const);
        const session: TransferSession = await TransferSession.open({ id: 'p', store: disk.store(), maxConcurrent: 2, maxPerHost: 2 });
        const added = new Set<string>();
        const acked = new Set<string>();
        /** Completions delivered (so persisted first), with the state they reported. */
        const finals = new Map<string, string>();
        session.completions$.subscribe((c) => finals.set(c.taskId, c.state));
        for (const op of ops) {
          if (disk.crashed) break;
          const step = (async () => {
            switch (op.t) {
              case 'add':
                await session.download(`http://127.0.0.1/${op.id.startsWith('f') ? 'fast' : 'slow'}`, { id: op.id, to: `/tmp/${op.id}` });
                added.add(op.id);
                return;
              case 'ack':
                if (!finals.has(op.id)) return;
                await session.ack(op.id);
                acked.add(op.id);
                return;
              case 'suspend':
              case 'resume':
              case 'cancel':
                if (!session.task(op.id)) return;
                await session[op.t](op.id);
                return;
              case 'wait':
                await new Promise((r) => setTimeout(r, 2));
            }
          })();
          await Promise.race([step, crashed]);
        }
        // The process dies here (or the ops ran out): reopen from what the disk holds.
        // Taken together, synchronously: every completion delivered by now was durable before it was delivered.
        const reopened = new ReopenedDisk(disk.durable, compaction);
        const finalsAtCrash = new Map(finals);
        const after = await TransferSession.open({ id: 'p', store: reopened.store(), maxConcurrent: 2 });
        const check = (s: TransferSession) => {
          const tasks = s.tasks();
          const ids = tasks.map((t) => t.id);
          expect(new Set(ids).size).toBe(ids.length);
          for (const id of added) expect(ids).toContain(id);
          for (const id of acked) expect(s.task(id)).toMatchObject({ acked: true });
          // S2: a task reported finished was persisted so; it is not run again.
          for (const [id, state] of finalsAtCrash) expect([id, s.task(id)?.state]).toEqual([id, state]);
          for (const t of tasks) if (t.acked) expect(FINAL.has(t.state)).toBe(true);
          const redelivered: string[] = [];
          s.completions$.subscribe((c) => redelivered.push(c.taskId)).unsubscribe();
          for (const id of acked) expect(redelivered).not.toContain(id);
        };
        try {
          check(after);
          // The recovered journal takes new writes that survive another reopen (a torn tail
          // rewritten at open, not joined by the next append).
          await after.download('http://127.0.0.1/fast', { id: 'late', to: '/tmp/late' });
          added.add('late');
          for (const id of [...finalsAtCrash.keys()].filter((k) => !acked.has(k))) {
            await after.ack(id);
            acked.add(id);
          }
        } finally {
          await after.close();
          // The first process, still alive if no write crashed, closes; a crash during its close
          // (a compaction, the last checkpoint) ends it as the crash would.
          if (!disk.crashed) await Promise.race([session.close(), crashed]);
        }
        const third = await TransferSession.open({ id: 'p', store: new ReopenedDisk(reopened.durable, compaction).store(), maxConcurrent: 2 });
        try {
          check(third);
        } finally {
          await third.close();
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);
});

/** A fresh disk holding a journal left by a crash, never crashing itself. */
class ReopenedDisk extends SimDisk {
  constructor(text: string, compaction: JournalCompaction = {}) {
    super(Number.POSITIVE_INFINITY, 0, 0, compaction);
    this.durable = text;
  }
}
