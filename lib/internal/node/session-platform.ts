import { statSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { defer, throwError } from 'rxjs';
import { TransferError } from '../core/errors/transfer-error.js';
import type { DownloadFunction, UploadFunction } from '../core/api.js';
import type { SessionPlatform } from '../session/session-options.js';
import type { TaskRecord } from '../session/session-task.js';
import { SourceChangedError, type SourceVersion } from '../session/source-changed-error.js';
import type { BodySource } from '../core/body.js';
import { fileBody } from './file-body.js';
import { lockPartial, PARTIAL_META_SUFFIX, PARTIAL_SUFFIX, settlePublished } from './file-sink.js';
import { fileSessionStore } from './session-file-store.js';
import { resolve } from 'node:path';

/**
 * Sessions on Node: transfers over the Node platform, the file store by default, downloads
 * written to `to` (required: a task must outlive the process), uploads read from a file path.
 */
export function nodeSessionPlatform(api: { download: DownloadFunction; upload: UploadFunction }): SessionPlatform {
  return {
    name: 'Node',
    download: (url, options) => api.download(url, options as never),
    upload: (url, source, options, task) =>
      defer(() => {
        // Read when the task runs: the file as it was added (its size and time, when recorded), or
        // the task fails rather than send other bytes than were added.
        const context = { url, method: options.method ?? 'POST' };
        const expected = recorded(task);
        let body: BodySource;
        let changed: SourceChangedError | undefined;
        try {
          body = fileBody(source);
          changed = changedSince(source, expected, statSync(source), context);
        } catch (error) {
          return throwError(() => new TransferError('invalid', `cannot read the file to upload, ${source}: ${(error as Error).message}`, { ...context, cause: error }));
        }
        if (changed) return throwError(() => changed);
        if (!expected) return api.upload(url, body, options);
        const whole = body;
        // Checked again before each attempt (a retry, a redirect): a file changed meanwhile is not sent either.
        return api.upload(url, { ...whole, open: () => checkedOpen(source, expected, whole, context) }, options);
      }),
    defaultStore: (options) => fileSessionStore(options),
    prepare: (task) => ({
      ...task,
      ...(task.to !== undefined ? { to: resolve(task.to) } : {}),
      ...(task.source !== undefined ? { source: resolve(task.source), ...versionOf(resolve(task.source)) } : {}),
    }),
    validate(task) {
      if (task.kind === 'download' && (typeof task.to !== 'string' || task.to.length === 0)) return 'a session download needs `to`: the file it writes';
      if (task.kind === 'upload' && (typeof task.source !== 'string' || task.source.length === 0)) return 'a session upload needs the path of the file to send';
      return undefined;
    },
    async published(task, owner) {
      if (task.kind === 'download' && task.to !== undefined) await settlePublished(task.to, owner);
    },
    async discard(task) {
      if (task.kind !== 'download' || task.to === undefined) return;
      const to = resolve(task.to);
      let release: () => Promise<void>;
      try {
        release = await lockPartial(to);
      } catch {
        return; // another download to the same `to` owns the partial file now (or its directory is gone)
      }
      try {
        await rm(to + PARTIAL_SUFFIX, { force: true });
        await rm(to + PARTIAL_META_SUFFIX, { force: true });
      } finally {
        await release();
      }
    },
  };
}

/**
 * An upload's file size and modification time, recorded with the task when it is added; none when
 * the file cannot be read now (the task then fails when it runs, saying why).
 */
function versionOf(path: string): { sourceSize?: number; sourceMtime?: number } {
  try {
    const found = statSync(path);
    return found.isFile() ? { sourceSize: found.size, sourceMtime: found.mtimeMs } : {};
  } catch {
    return {};
  }
}

/** What the task recorded of its file when it was added; undefined for a record without it (stored by an older version). */
function recorded(task: TaskRecord | undefined): SourceVersion | undefined {
  if (task === undefined || typeof task.sourceSize !== 'number' || typeof task.sourceMtime !== 'number') return undefined;
  return { size: task.sourceSize, mtimeMs: task.sourceMtime };
}

/** The error for a file that is no longer as recorded, or undefined. */
function changedSince(path: string, expected: SourceVersion | undefined, now: { size: number; mtimeMs: number }, context: { url: string; method: string }): SourceChangedError | undefined {
  if (expected === undefined || (now.size === expected.size && now.mtimeMs === expected.mtimeMs)) return undefined;
  return new SourceChangedError(path, expected, { size: now.size, mtimeMs: now.mtimeMs }, context);
}

/** The file's bytes for one attempt, once it is found as recorded. */
async function* checkedOpen(path: string, expected: SourceVersion, body: BodySource, context: { url: string; method: string }): AsyncGenerator<Uint8Array> {
  const changed = changedSince(path, expected, await stat(path), context);
  if (changed) throw changed;
  yield* body.open();
}
