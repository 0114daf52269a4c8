/**
 * A process that runs a session, for the specs that kill processes (S1, S2, S8 and the kill -9
 * soak). Bundled with esbuild by `session-process.ts` and started as `node <bundle> <config json>`.
 *
 * Modes:
 * - `add`: opens the session, adds the tasks, prints `added`, then lets them run until killed.
 * - `open-once`: tries to open the session, prints `{"ok":true}` or `{"error":"<name>"}`, exits.
 * - `soak`: opens, acknowledges every completion (logging `delivered <id>` before and
 *   `acked <id>` after each ack, fsynced), adds the tasks (idempotent by id), and exits 0 once
 *   every task has ended and been acknowledged.
 */
import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import { download, upload } from '../../lib/index.node';
import { createSessionApi } from '../../lib/internal/session/index';
import { nodeSessionPlatform } from '../../lib/internal/node/session-platform';
import { fileSessionStore } from '../../lib/internal/node/session-file-store';

export interface ChildConfig {
  mode: 'add' | 'open-once' | 'soak';
  id: string;
  directory: string;
  tasks?: { id: string; url: string; to: string }[];
  /** `add` mode: uploads added after the downloads. */
  uploads?: { id: string; url: string; source: string; method?: string }[];
  log?: string;
  maxConcurrent?: number;
  maxPerHost?: number;
}

const TransferSession = createSessionApi(nodeSessionPlatform({ download, upload }));

function log(path: string, line: string): void {
  const fd = openSync(path, 'a');
  try {
    appendFileSync(fd, line + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as ChildConfig;
  const store = fileSessionStore({ directory: config.directory });
  if (config.mode === 'open-once') {
    try {
      const session = await TransferSession.open({ id: config.id, store });
      process.stdout.write(JSON.stringify({ ok: true }) + '\n');
      await session.close();
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: (error as Error).name, message: (error as Error).message }) + '\n');
    }
    return;
  }
  const session = await TransferSession.open({
    id: config.id,
    store,
    maxConcurrent: config.maxConcurrent ?? 4,
    maxPerHost: config.maxPerHost ?? 4,
    retry: { count: 100, baseDelay: 20, maxDelay: 200 },
    checkpointInterval: 200,
  });
  if (config.mode === 'add') {
    for (const t of config.tasks ?? []) await session.download(t.url, { to: t.to, id: t.id });
    for (const u of config.uploads ?? []) await session.upload(u.url, u.source, { id: u.id, ...(u.method !== undefined ? { method: u.method } : {}) });
    process.stdout.write('added\n');
    setInterval(() => undefined, 1 << 30);
    return;
  }
  // soak
  const logPath = config.log!;
  const wanted = new Set((config.tasks ?? []).map((t) => t.id));
  const check = async () => {
    const all = session.tasks().filter((t) => wanted.has(t.id));
    if (all.length === wanted.size && all.every((t) => t.acked)) {
      process.stdout.write('all-acked\n');
      await session.close();
      process.exit(0);
    }
  };
  session.completions$.subscribe((c) => {
    log(logPath, `delivered ${c.taskId} ${c.state}`);
    void c.ack().then(() => {
      log(logPath, `acked ${c.taskId}`);
      return check();
    });
  });
  for (const t of config.tasks ?? []) await session.download(t.url, { to: t.to, id: t.id });
  process.stdout.write('added\n');
  await check();
  setInterval(() => undefined, 1 << 30);
}

main().catch((error) => {
  process.stderr.write(String((error as Error).stack ?? error) + '\n');
  process.exit(1);
});
