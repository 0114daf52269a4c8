import { constants, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { BodySource } from '../core/body.js';

/** Read size for file uploads: large reads keep the disk from being the bottleneck. */
const READ_CHUNK = 1 << 20;

/**
 * A file to upload, streamed from disk (G12) and reopened for each attempt, so uploads of files
 * can be retried and follow 307/308 redirects. Reads the file's size now; throws if it cannot.
 * An attempt fails (code `'invalid'`, never retried) when the file no longer has that size: it
 * would send another version under the first one's Content-Length; and when it was modified
 * (its mtime) while that attempt read it, before its last byte goes out: the server would get
 * a mix of two versions; and when something else than a regular file is at the path by then
 * (a FIFO, whose open is not waited on, or a directory).
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
    open: () => readFile(path, stat.size),
  };
}

/** The file's `size` bytes, in reads of {@link READ_CHUNK}; opened at the first read, closed however the reading ends. */
async function* readFile(path: string, size: number): AsyncGenerator<Uint8Array> {
  // Non-blocking: a FIFO put at the path since fileBody() would otherwise hold the open (and a
  // thread of Node's pool) until something writes to it. On a regular file the flag does nothing.
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const opened = await handle.stat();
    if (!opened.isFile()) throw new Error(`${path} is no longer a regular file (it was one when fileBody() read it)`);
    const now = opened.size;
    if (now !== size) throw new Error(`${path} changed size since fileBody(): ${size} bytes then, ${now} now`);
    // Grown while read (or a file whose stat says less than it holds, as /proc's say 0): the
    // Content-Length sent would cut it short. The last read asks for one byte more, so that this
    // is found before the last declared byte goes out: a server never gets a whole request of a
    // cut file (and never answers it before the upload fails).
    const grown = () => new Error(`${path} holds more than the ${size} bytes it had when fileBody() read its size (it grew while it was read)`);
    if (size === 0 && (await handle.read(Buffer.alloc(1), 0, 1, 0)).bytesRead > 0) throw grown();
    for (let at = 0; at < size; ) {
      const want = Math.min(READ_CHUNK, size - at);
      const buffer = Buffer.allocUnsafe(at + want === size ? want + 1 : want);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) throw new Error(`${path} shrank to ${at} bytes while it was read (${size} expected)`);
      if (bytesRead > want) throw grown();
      at += bytesRead;
      // Rewritten in place while it was read, its size the same (a database's pages): the bytes
      // sent already may be of another version than the rest. Found before the last declared
      // byte goes out, as a file that grew is.
      if (at === size && (await handle.stat()).mtimeMs !== opened.mtimeMs) throw new Error(`${path} was modified while it was read (its size the same): the bytes sent may mix two versions of it`);
      yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
