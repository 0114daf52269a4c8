import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytes, sha256, startSessionServer, type SessionServer } from '../helpers/session-server';
import { killAllSessionChildren, startSessionChild } from '../helpers/session-process';
import { fileSessionStore } from '../../lib/internal/node/session-file-store';
import { TransferSession } from '../helpers/session-api';

/**
 * The kill -9 soak (S1, S2, S3, S4): a child process runs a session of 14 downloads (up to
 * 64 MiB; some slow, some flaky) against a loopback server in this process; the child is killed
 * with SIGKILL at random moments, at least 20 times, and the session reopened each time. At
 * the end every file's sha256 matches, every task is there once, and every completion was
 * acknowledged exactly once (never delivered again after its ack was persisted).
 */
const KiB = 1024;
const MiB = 1024 * KiB;
const MIN_KILLS = 20;
const MAX_ROUNDS = 60;
const KILL_PHASE_MS = 90_000;
const FINAL_RUN_MS = 90_000;

let server: SessionServer;
let dir: string;

beforeAll(async () => {
  server = await startSessionServer();
  dir = await mkdtemp(join(tmpdir(), 'rxtransfer-soak-'));
});
afterAll(async () => {
  await killAllSessionChildren();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

it('S2 S4 kill -9 soak: 14 downloads survive 20+ kills; files intact, no task lost or duplicated, each completion acked once', async () => {
  const plan: Array<{ size: number; rate?: number; flaky?: number; weak?: boolean }> = [
    { size: 64 * MiB, rate: 24 * MiB },
    { size: 32 * MiB, rate: 12 * MiB, flaky: 0.3 },
    { size: 16 * MiB, flaky: 0.5 },
    { size: 8 * MiB, rate: 2 * MiB },
    { size: 4 * MiB, rate: 1 * MiB, flaky: 0.3 },
    { size: 2 * MiB },
    { size: 1 * MiB, rate: 256 * KiB },
    { size: 512 * KiB, flaky: 0.5 },
    { size: 256 * KiB },
    { size: 100 * KiB, rate: 32 * KiB },
    { size: 10 * KiB },
    { size: 1 },
    { size: 3 * MiB, weak: true, rate: 2 * MiB },
    { size: 6 * MiB, flaky: 0.4, rate: 4 * MiB },
  ];
  const tasks = plan.map((p, i) => {
    const body = bytes(p.size, 100 + i);
    const url = server.put(`/soak-${i}`, { body, etag: `"soak-${i}"`, weak: p.weak, rate: p.rate, flaky: p.flaky });
    return { id: `task-${i}`, url, to: join(dir, `file-${i}.bin`), digest: sha256(body) };
  });
  const directory = join(dir, 'sessions');
  const log = join(dir, 'acks.log');
  const config = { mode: 'soak' as const, id: 'soak', directory, log, tasks: tasks.map(({ id, url, to }) => ({ id, url, to })), maxConcurrent: 6, maxPerHost: 6 };

  const started = Date.now();
  let kills = 0;
  let finishedEarly = false;
  for (let round = 0; round < MAX_ROUNDS && kills < MIN_KILLS && Date.now() - started < KILL_PHASE_MS; round++) {
    const child = startSessionChild(config);
    const wait = 60 + Math.floor(Math.random() * 700);
    const ended = await Promise.race([child.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), wait))]);
    if (ended) {
      // Everything finished before this kill: the session is done.
      expect(child.stdout()).toContain('all-acked');
      finishedEarly = true;
      break;
    }
    await child.kill9();
    kills++;
  }
  if (!finishedEarly) expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);

  const last = startSessionChild(config);
  await last.waitFor('all-acked', FINAL_RUN_MS);
  await last.exited;

  for (const t of tasks) expect(sha256(await readFile(t.to))).toBe(t.digest);

  const session = await TransferSession.open({ id: 'soak', store: fileSessionStore({ directory }) });
  try {
    const stored = session.tasks();
    expect(stored.map((t) => t.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    for (const t of stored) expect(t).toMatchObject({ state: 'completed', acked: true });
  } finally {
    await session.close();
  }

  const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  for (const t of tasks) {
    const mine = lines.filter((l) => l.split(' ')[1] === t.id);
    const ackedAt = mine.findIndex((l) => l.startsWith('acked '));
    expect(mine.filter((l) => l.startsWith('acked '))).toHaveLength(ackedAt === -1 ? 0 : 1);
    if (ackedAt !== -1) expect(mine.slice(ackedAt + 1)).toEqual([]);
    expect(mine.filter((l) => l.startsWith('delivered ')).length).toBeGreaterThanOrEqual(1);
    for (const l of mine.filter((x) => x.startsWith('delivered '))) expect(l.endsWith(' completed')).toBe(true);
  }
  // The kills interrupted transfers that were then resumed (S3), never with a weak ETag.
  if (!finishedEarly) expect(server.requests.filter((r) => r.status === 206).length).toBeGreaterThan(0);
  for (const r of server.requests.filter((x) => x.path === '/soak-12')) expect(r.ifRange).toBeUndefined();
  console.log(`soak: ${kills} kills in ${Date.now() - started} ms, ${server.requests.filter((r) => r.status === 206).length} resumed requests`);
}, 240_000);
