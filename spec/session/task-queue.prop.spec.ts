import fc from 'fast-check';
import { hostOf, tasksToStart } from '../../lib/internal/session/task-queue';
import type { TaskRecord } from '../../lib/internal/session/session-task';

/**
 * S5 on the queue's choice alone: from random queued and running tasks over a few hosts (few
 * priorities, so ties are frequent), the tasks started respect `maxConcurrent` and `maxPerHost`,
 * come in priority-then-age order, and a queued task is passed over only when its host is full
 * or every slot is taken by tasks that rank before it.
 */
const HOSTS = ['a.test', 'b.test', 'c.test:8080'];

/** The rank S5 states, written out here rather than taken from the library: higher priority, then older (lower seq). */
const rankOrder = (a: TaskRecord, b: TaskRecord): number => (a.priority !== b.priority ? b.priority - a.priority : a.seq - b.seq);

const tasksArb = fc
  .array(fc.record({ host: fc.nat({ max: HOSTS.length - 1 }), priority: fc.integer({ min: -1, max: 1 }), running: fc.boolean() }), { maxLength: 14 })
  .chain((specs) => fc.shuffledSubarray(Array.from({ length: specs.length }, (_, i) => i * 3 + 1), { minLength: specs.length, maxLength: specs.length }).map((seqs) => ({ specs, seqs })))
  .map(({ specs, seqs }) =>
    specs.map((s, i): TaskRecord & { running: boolean } => ({
      id: `t${i}`,
      kind: 'download',
      url: `http://${HOSTS[s.host]}/f${i}`,
      to: `/tmp/f${i}`,
      priority: s.priority,
      seq: seqs[i]!, // unique: the age
      createdAt: 0,
      state: 'queued',
      acked: false,
      running: s.running,
    })),
  );

describe('the session queue (property)', () => {
  it('S5 at most maxConcurrent and maxPerHost; by priority then age; a task is passed over only for its host or for lack of slots (property, 2000 runs)', () => {
    fc.assert(
      fc.property(tasksArb, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), (all, maxConcurrent, maxPerHost) => {
        const running = all.filter((t) => t.running);
        const queued = all.filter((t) => !t.running);
        // Running tasks are taken as they are, over the limits or not (limits lowered on reopen).
        const started = tasksToStart(queued, running, { maxConcurrent, maxPerHost });
        const perHost = (tasks: readonly TaskRecord[], host: string) => tasks.filter((t) => hostOf(t.url) === host).length;

        // Only queued tasks, each once.
        expect(new Set(started.map((t) => t.id)).size).toBe(started.length);
        for (const t of started) expect(queued).toContain(t);
        // The limits.
        expect(started.length).toBeLessThanOrEqual(Math.max(0, maxConcurrent - running.length));
        for (const t of started) expect(perHost([...running, ...started], hostOf(t.url))).toBeLessThanOrEqual(Math.max(maxPerHost, perHost(running, hostOf(t.url))));
        // In the order they rank: higher priority first, then older.
        for (let i = 1; i < started.length; i++) expect(rankOrder(started[i - 1]!, started[i]!)).toBeLessThan(0);
        const ranked = [...queued].sort(rankOrder);
        const slots = maxConcurrent - running.length;
        ranked.forEach((u, rank) => {
          if (started.includes(u)) return;
          // Passed over: its host was full when its turn came, or the slots went to tasks ranked before it.
          const before = ranked.slice(0, rank).filter((t) => started.includes(t));
          const hostFull = perHost(running, hostOf(u.url)) + perHost(before, hostOf(u.url)) >= maxPerHost;
          const noSlot = before.length >= slots;
          expect({ id: u.id, passedOverFor: hostFull ? 'host' : noSlot ? 'slots' : 'nothing' }).not.toEqual({ id: u.id, passedOverFor: 'nothing' });
          // And no task ranked after it took a slot it could have had.
          if (!hostFull) for (const s of ranked.slice(rank + 1)) expect(started).not.toContain(s);
        });
      }),
      { numRuns: 2000 },
    );
  });
});
