import { rm } from 'node:fs/promises';
import { defer, throwError } from 'rxjs';
import { TransferError } from '../core/errors/transfer-error.js';
import type { DownloadFunction, UploadFunction } from '../core/api.js';
import type { SessionPlatform } from '../session/session-options.js';
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
    upload: (url, source, options) =>
      defer(() => {
        // Read when the task runs (the file may have changed since it was added).
        let body;
        try {
          body = fileBody(source);
        } catch (error) {
          return throwError(() => new TransferError('invalid', `cannot read the file to upload, ${source}: ${(error as Error).message}`, { url, method: options.method ?? 'POST', cause: error }));
        }
        return api.upload(url, body, options);
      }),
    defaultStore: (options) => fileSessionStore(options),
    prepare: (task) => ({
      ...task,
      ...(task.to !== undefined ? { to: resolve(task.to) } : {}),
      ...(task.source !== undefined ? { source: resolve(task.source) } : {}),
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
