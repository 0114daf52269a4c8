import { createReadStream, statSync } from 'node:fs';
import type { BodySource } from '../core/body.js';

/** Read size for file uploads: large reads keep the disk from being the bottleneck. */
const READ_CHUNK = 1 << 20;

/**
 * A file to upload, streamed from disk (G12) and reopened for each attempt, so uploads of files
 * can be retried and follow 307/308 redirects. Reads the file's size now; throws if it cannot.
 *
 * @example
 * ```ts
 * import { upload } from 'rxtransfer';
 * import { fileBody } from 'rxtransfer/node';
 * upload('https://example.com/up', fileBody('./big.iso'), { method: 'PUT' }).subscribe();
 * ```
 */
export function fileBody(path: string, options: { contentType?: string } = {}): BodySource {
  const stat = statSync(path);
  if (!stat.isFile()) throw new Error(`${path} is not a file`);
  return {
    kind: 'source',
    size: stat.size,
    contentType: options.contentType ?? 'application/octet-stream',
    replayable: true,
    open: () => createReadStream(path, { highWaterMark: READ_CHUNK }),
  };
}
