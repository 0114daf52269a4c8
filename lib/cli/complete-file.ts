/**
 * `get --resume` onto a file that is already there, with no partial file left to continue (an
 * earlier run finished, or another tool saved it): asked for what follows its bytes, as curl's
 * `-C -` does, rather than downloaded again. Only a 416 whose `Content-Range: bytes *\/N` is the
 * file's size proves it complete (by size: a file without a validator record cannot be proven
 * otherwise, as with curl); the file is then kept untouched. Any other answer (a 206 with more
 * bytes, a 200 from a server that ignores Range, another size) leads to the usual download,
 * through `<file>.partial`, which replaces the file only once the whole body has arrived: bytes
 * without a validator are never appended to.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { download, isHttpStatusError, isIntegrityError, type DownloadOptions, type ResponseHeaders } from '../index.node.js';
import { parseIntegrity } from '../internal/core/integrity.js';
import { redactUrl } from '../internal/core/redact.js';
import { runTransfer } from './run-transfer.js';
import { partialState } from './target-file.js';

/** What the 416 that proved the file complete said. */
export interface CompleteFile {
  readonly url: string;
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly size: number;
  /** In SRI form, when `--integrity` was given and the file matches it. */
  readonly integrity?: string;
}

/**
 * Whether the file at `path` is already the whole body, or `undefined` (then download as usual).
 * Throws what a download would (an HTTP error, a network error, a cancel): the request made is
 * the download's first, and the same one would only fail again.
 */
export async function completeFile(
  url: URL,
  path: string,
  headers: Readonly<Record<string, string>>,
  options: Pick<DownloadOptions, 'signal' | 'retry' | 'timeout'>,
  integrity: string | undefined,
): Promise<CompleteFile | undefined> {
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'range')) return undefined;
  const stat = await lstat(path).catch(() => undefined);
  if (!stat?.isFile() || stat.size === 0) return undefined;
  // A partial file --resume can continue is the library's to continue.
  if ((await partialState(path))?.resumable) return undefined;
  const expected = integrity === undefined ? undefined : parseIntegrity(integrity);
  // Not usable: the download says why.
  if (typeof expected === 'string') return undefined;
  const size = stat.size;
  try {
    // `maxBytes: 0`: a body (a 206 with more bytes, a whole 200) ends the request at its head.
    // A `done` is an empty body (the file is longer than the server's): not this file's end.
    await runTransfer(download(url, { ...options, headers: { ...headers, Range: `bytes=${size}-` }, maxBytes: 0 }), () => {});
  } catch (error) {
    if (isIntegrityError(error) && error.reason === 'too-large') return undefined;
    if (!isHttpStatusError(error) || error.status !== 416) throw error;
    // `bytes */N` (RFC 9110 §14.4): N, the size of the whole body.
    const whole = /^bytes\s+\*\/(\d+)$/i.exec(error.headers['content-range']?.trim() ?? '');
    if (whole === null || Number(whole[1]) !== size) return undefined;
    const found = { url: error.url ?? redactUrl(url), status: 416, headers: error.headers, size };
    if (expected === undefined) return found;
    const digest = await digestOf(path, expected.algorithm);
    // Not the expected bytes: the download gets (and checks) the server's.
    return expected.digests.includes(digest) ? { ...found, integrity: `${expected.algorithm}-${digest}` } : undefined;
  }
  return undefined;
}

async function digestOf(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}
