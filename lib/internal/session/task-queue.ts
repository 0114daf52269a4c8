import type { TaskRecord } from './session-task.js';

/** The host a task counts against for `maxPerHost`. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Runs first: higher priority, then older (S5). */
export function byPriorityThenAge(a: TaskRecord, b: TaskRecord): number {
  return b.priority - a.priority || a.seq - b.seq;
}

/**
 * The queued tasks to start now, in order, so that at most `maxConcurrent` run in all and at
 * most `maxPerHost` per host (S5). A task whose host is full is passed over, not blocking
 * the tasks behind it.
 */
export function tasksToStart(
  queued: readonly TaskRecord[],
  running: readonly TaskRecord[],
  limits: { readonly maxConcurrent: number; readonly maxPerHost: number },
): TaskRecord[] {
  const perHost = new Map<string, number>();
  for (const t of running) perHost.set(hostOf(t.url), (perHost.get(hostOf(t.url)) ?? 0) + 1);
  let slots = limits.maxConcurrent - running.length;
  const start: TaskRecord[] = [];
  for (const task of [...queued].sort(byPriorityThenAge)) {
    if (slots <= 0) break;
    const host = hostOf(task.url);
    const n = perHost.get(host) ?? 0;
    if (n >= limits.maxPerHost) continue;
    perHost.set(host, n + 1);
    slots--;
    start.push(task);
  }
  return start;
}
