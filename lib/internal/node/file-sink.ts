import { constants, createReadStream, createWriteStream, type Stats, type WriteStream } from 'node:fs';
import { open, readFile, readlink, realpath, rename, rm, link, unlink, lstat, stat, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type { FileSink, FileSinkOptions } from '../core/platform.js';
import { TransferError } from '../core/errors/transfer-error.js';
import { localFileError } from '../core/errors/local-file-error.js';
import { isIntegrityError } from '../core/errors/integrity-error.js';
import { acquireLockFile, NO_HARD_LINKS, type HeldLock } from './lock-file.js';

/** Suffix of the side file a download writes before it is renamed into place (G5). */
export const PARTIAL_SUFFIX = '.partial';
/**
 * Suffix of the small record beside a partial file: the validator for `If-Range`, and a digest
 * of the URL whose bytes these are (`source`).
 */
export const PARTIAL_META_SUFFIX = '.partial.json';
/**
 * Suffix of the lock file a download holds while it owns `<to>.partial`: a second download to
 * the same `to`, in this process or another, fails instead of writing the same partial file.
 */
export const PARTIAL_LOCK_SUFFIX = '.partial.lock';

/** Bytes buffered between the network and the disk before backpressure applies. */
const WRITE_BUFFER = 64 * 1024;

/**
 * Takes `<to>.partial.lock` for the download to `to`: while it is held, no other download (in
 * this process or another on this host) writes, renames or removes `<to>.partial`. A lock left by
 * a process that died is taken over; one of this process whose transfer is `closing` is waited
 * for. Resolves with the release (safe to call twice).
 */
export async function lockPartial(path: string, closing?: () => boolean): Promise<HeldLock> {
  const target = resolve(path);
  const lock = target + PARTIAL_LOCK_SUFFIX;
  try {
    return await acquireLockFile(lock, (pid, detail) => new PartialLockedError(path, lock, pid, detail), { closing });
  } catch (error) {
    if (error instanceof PartialLockedError) throw error;
    // The system's message without the path it names (the lock's side file, not one the user chose).
    const why = (error as Error).message.replace(/, \w+ '.*'$/s, '');
    throw new TransferError('invalid', `cannot create ${target + PARTIAL_SUFFIX}: ${why}`, { cause: error });
  }
}

// In the core: an upload's body fails so with the fake transport too.
export { localFileError, isLocalFileError } from '../core/errors/local-file-error.js';

const TARGET_EXISTS = Symbol.for('rxtransfer.targetExists');

/** `overwrite: false` and a file is at `to` (found before the download, or appeared by its end). */
function targetExists(path: string, cause?: unknown): TransferError {
  const error = new TransferError('invalid', `${path} exists (overwrite is false)`, cause === undefined ? {} : { cause });
  Object.defineProperty(error, TARGET_EXISTS, { value: true });
  return error;
}

/** Whether `error` is the refusal of `overwrite: false` (see `targetExists`). */
export function isTargetExistsError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[TARGET_EXISTS] === true;
}

/** A device, FIFO or socket: no file a download may replace. */
export function isSpecialFile(stats: Stats): boolean {
  return stats.isCharacterDevice() || stats.isBlockDevice() || stats.isFIFO() || stats.isSocket();
}

/**
 * Why a download may not be renamed over `target`: `'special'`, a device, FIFO or socket, or a
 * symlink to one (`/dev/null`: as root the rename would replace it for the whole system), or
 * `'descriptor'`, a name that leads to an open file descriptor's link (`/dev/stdout` with stdout
 * a regular file: the rename would replace the link, not write to the file); undefined when it may.
 */
export async function unreplaceable(target: string): Promise<'special' | 'descriptor' | undefined> {
  const found = await stat(target).catch(() => undefined);
  if (found && isSpecialFile(found)) return 'special';
  return (await throughDescriptorLink(target)) ? 'descriptor' : undefined;
}

const UNREPLACEABLE = {
  special: 'is not a regular file (a device, FIFO or socket): a download to it would replace it',
  descriptor: 'leads to an open file descriptor (/dev/stdout, /dev/fd/N, /proc/self/fd/N): a download to it would replace the link, not write to the descriptor',
} as const;

/** Refuses a `to` that is {@link unreplaceable}. Looked at before the download and again before the rename. */
async function refuseSpecial(target: string, path: string): Promise<void> {
  const why = await unreplaceable(target);
  if (why !== undefined) throw new TransferError('invalid', `${path} ${UNREPLACEABLE[why]}; choose a file`);
}

/** Where the links of open file descriptors live: Linux's /proc, and /dev/fd where it is not a link into it. */
const DESCRIPTOR_LINKS = ['/proc/', '/dev/fd/'];
/** Links followed at most (Linux's own limit is 40). */
const MAX_LINK_HOPS = 40;

/**
 * Whether `target`, or a link it leads through, names an open file descriptor's link
 * (`/dev/stdout` → `/proc/self/fd/1`). With stdout a regular file, `stat` sees that file, and
 * the rename would replace the link itself: as root, `/dev/stdout` for the whole system.
 */
async function throughDescriptorLink(target: string): Promise<boolean> {
  let path = resolve(target);
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    const dir = await realpath(dirname(path)).catch(() => undefined);
    if (dir === undefined) return false;
    const full = join(dir, basename(path));
    if (DESCRIPTOR_LINKS.some((prefix) => full.startsWith(prefix))) return true;
    const found = await lstat(full).catch(() => undefined);
    if (!found?.isSymbolicLink()) return false;
    const next = await readlink(full).catch(() => undefined);
    if (next === undefined) return false;
    path = resolve(dir, next);
  }
  return false;
}

/** A download to the same `to` is running: its partial file is not ours to touch. */
class PartialLockedError extends TransferError {
  constructor(path: string, lock: string, pid: number | undefined, detail: string | undefined) {
    const who = pid === process.pid ? ' in this process' : pid === undefined ? '' : ` (process ${pid}${detail === undefined ? '' : `, ${detail}`})`;
    const way = pid === process.pid ? '' : ` (if no download to it runs any more, delete ${lock})`;
    super('invalid', `${path} is being downloaded by another transfer${who}; wait for it to end or choose another \`to\`${way}`);
  }
}

/**
 * A download sink on disk. Bytes go to `<to>.partial`, created exclusively (never through a
 * planted symlink) while the sink holds `<to>.partial.lock`; only a verified body is renamed to
 * `<to>`, so no file at `to` ever looks finished when it is not. With `resume`, an existing
 * partial file is continued.
 */
export async function openFileSink(path: string, options: FileSinkOptions, fs: { link: typeof link } = { link }): Promise<FileSink> {
  const target = resolve(path);
  await refuseSpecial(target, path);
  // A directory cannot be renamed over: found only at the end, the whole body was downloaded for nothing.
  if ((await lstat(target).catch(() => undefined))?.isDirectory()) throw new TransferError('invalid', `${path} is a directory; choose a file (a download to it could not be put in place)`);
  if (!options.overwrite && options.owner === undefined && (await exists(target))) throw targetExists(path);
  const release = await lockPartial(path, options.closing);
  try {
    let owned: OwnedFile | undefined;
    if (!options.overwrite && options.owner !== undefined && (await exists(target))) {
      // A file this very task published, killed before its session recorded the completion (the
      // record beside it names the task and that file): its own to replace. Anyone else's is kept.
      owned = await ownedBy(target, options.owner);
      if (!owned) throw targetExists(path);
    }
    return await openLocked(path, owned ? { ...options, overwrite: true } : options, release, owned, fs);
  } catch (error) {
    await release();
    throw error;
  }
}

/** The owner and file identity a session task's publish records in `<to>.partial.json`. */
interface OwnedFile {
  /** Digest of the owner token (session and task). */
  readonly owner: string;
  /** `dev:ino` of the file published at `to`. */
  readonly file: string;
}

const ownerDigest = (token: string) => 'sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 32);

async function identity(path: string): Promise<string | undefined> {
  try {
    const stat = await lstat(path, { bigint: true });
    return stat.isFile() ? `${stat.dev}:${stat.ino}` : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

async function readRecord(meta: string): Promise<{ validator?: string; source?: string; owner?: string; file?: string } | undefined> {
  try {
    return JSON.parse(await readFile(meta, 'utf8')) as { validator?: string; source?: string; owner?: string; file?: string };
  } catch {
    return undefined;
  }
}

/** Whether the record beside `target` says `token`'s task published the very file at `target`. */
async function ownedBy(target: string, token: string): Promise<OwnedFile | undefined> {
  const record = await readRecord(target + PARTIAL_META_SUFFIX);
  const file = await identity(target);
  const owner = ownerDigest(token);
  return record?.owner === owner && file !== undefined && record.file === file ? { owner, file } : undefined;
}

/**
 * A session has recorded the completion of a task published with `owner`: the record that let a
 * rerun know the file for its own goes. Under the partial lock, which other acquirers in this
 * process wait for; left alone when another download holds it, or when the record is not that
 * task's.
 */
export async function settlePublished(path: string, token: string): Promise<void> {
  const target = resolve(path);
  let release: () => Promise<void>;
  try {
    release = await lockPartial(target, () => true);
  } catch {
    return;
  }
  try {
    const record = await readRecord(target + PARTIAL_META_SUFFIX);
    if (record?.owner === ownerDigest(token)) await rm(target + PARTIAL_META_SUFFIX, { force: true });
  } finally {
    await release();
  }
}

async function openLocked(path: string, options: FileSinkOptions, release: HeldLock, owned: OwnedFile | undefined, fs: { link: typeof link }): Promise<FileSink> {
  const target = resolve(path);
  const partial = target + PARTIAL_SUFFIX;
  const meta = target + PARTIAL_META_SUFFIX;
  const source = sourceDigest(options.source);
  const fail = (message: string, cause?: unknown) => new TransferError('invalid', message, { cause });
  const takenOver = (cause: unknown, what: string) => fail(`${target + PARTIAL_LOCK_SUFFIX} was taken over by another process while the download wrote ${partial}; ${what}`, cause);
  /** Throws when the lock is no longer ours: the partial file and its record are its new owner's. */
  const mustHold = async (what: string): Promise<void> => {
    try {
      await release.check();
    } catch (error) {
      throw takenOver(error, what);
    }
  };
  /** Replaces the record beside the partial file; none when it would be empty. */
  const writeRecord = async (fields: Record<string, string>): Promise<void> => {
    await rm(meta, { force: true });
    if (Object.keys(fields).length === 0) return;
    // Created exclusively, never through a planted symlink; a torn record fails to parse and
    // the partial file is then started over.
    const record = await open(meta, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      await record.writeFile(JSON.stringify(fields));
    } finally {
      await record.close();
    }
  };

  let offset = 0;
  let validator: string | undefined;
  let handle: FileHandle | undefined;
  // The bytes that will replace a file are no less private than it while they are written and
  // when a failure keeps them for a resume: the side file has the replaced file's permissions for
  // the group and others (the owner keeps read and write; publish() sets the exact mode).
  const replaced = await lstat(target).catch(() => undefined);
  const privateMode = replaced?.isFile() ? (replaced.mode & 0o777) | 0o600 : undefined;
  if (options.resume) {
    try {
      const stat = await lstat(partial);
      // A partial file with another name too (a session's publish link to `to`, a hard link
      // someone made) is never written into: truncating or appending would change that file. It
      // is started over under a new inode (the `rm` below takes only this name).
      if (stat.isFile() && stat.nlink === 1) {
        handle = await open(partial, constants.O_RDWR | constants.O_NOFOLLOW);
        if (privateMode !== undefined && (stat.mode & 0o777 & ~privateMode) !== 0) await handle.chmod(privateMode).catch(() => undefined);
        offset = stat.size;
        const record = await readRecord(meta);
        // Another URL's bytes, even under the same validator, are not these: start over.
        validator = record && (record.source === undefined || record.source === source) ? record.validator : undefined;
      }
    } catch {
      validator = undefined;
    }
    if (handle && offset > 0 && validator === undefined) {
      // Bytes without a validator cannot be proven to belong to the same version: start over.
      await handle.close();
      handle = undefined;
      offset = 0;
    }
  }
  if (!handle) {
    await rm(partial, { force: true });
    try {
      // A new file has the mode the umask leaves of 0o666, as curl's, wget's and fs.writeFile's
      // (a group-writable 0o664 under umask 002, in a directory a group shares).
      handle = await open(partial, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, privateMode ?? 0o666);
    } catch (error) {
      throw fail(`cannot create ${partial}: ${(error as Error).message}`, error);
    }
  }

  let out: WriteStream = stream(handle, offset);
  let failure: Error | undefined;
  /** 'published' once renamed into place, 'aborted' once let go of: nothing is written after either. */
  let state: 'open' | 'published' | 'aborted' = 'open';
  /** Rejects the write waiting for `drain`, if any, when the sink is aborted. */
  let waiting: ((error: Error) => void) | undefined;
  const ended = () => new Error(`the download to ${path} has ended (${state})`);
  const watch = (s: WriteStream) => s.on('error', (error) => (failure ??= error));
  watch(out);
  const cannotWrite = (error: unknown) => localFileError(`cannot write ${partial}`, error);
  const end = () => new Promise<void>((done, reject) => {
    if (failure) return reject(cannotWrite(failure));
    out.end(() => (failure ? reject(cannotWrite(failure)) : done()));
  });

  /** Closes the file and puts it at `to` (see `finish`). */
  const publish = async (): Promise<{ data: undefined; path: string }> => {
    await end();
    // A file replaced keeps its permissions: a private file stays private (as a download tool
    // that truncates and writes it in place leaves it).
    if (options.overwrite) {
      const replaced = await lstat(target).catch(() => undefined);
      if (replaced?.isFile()) await handle!.chmod(replaced.mode & 0o777);
    }
    // Durable by default: the bytes reach the disk before the name does (see `durable`).
    if (options.durable !== false) await handle!.sync();
    const written = await handle!.stat({ bigint: true });
    const file = `${written.dev}:${written.ino}`;
    await handle!.close();
    // Aborted meanwhile (cancelled during the fsync): the file is not published.
    if (state !== 'open') throw ended();
    // Published by name: the name must still be the file written (not one put in its place).
    if ((await identity(partial)) !== file) {
      // Nothing at that name is ours any more, the file put there included: let go, touch nothing.
      state = 'aborted';
      await release();
      throw fail(`${partial} was replaced by another file while the download wrote it; nothing was published`);
    }
    // The lock must still be ours: a process that took it over (this one was paused past the
    // lock's lease) owns the partial file now.
    try {
      await release.check();
    } catch (error) {
      state = 'aborted';
      await release();
      throw takenOver(error, 'nothing was published');
    }
    // A device, FIFO or socket put at `to` since the download began is not replaced either.
    if (options.overwrite) await refuseSpecial(target, path);
    // A session task records, before the name appears, that the file about to be `to` is its
    // own: killed before the session records the completion, the next run knows it. The
    // session removes the record once it has (settlePublished).
    if (options.owner !== undefined) await writeRecord({ owner: ownerDigest(options.owner), file });
    if (options.overwrite) await rename(partial, target);
    else {
      // A hard link is an atomic "create unless it exists" for a whole file.
      let linked = false;
      try {
        await fs.link(partial, target);
        linked = true;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (code === 'EEXIST') throw targetExists(path, error);
        if (!NO_HARD_LINKS.has(code)) throw error;
        // No hard links here (FAT, exFAT): checked, then renamed (a file appearing in between is the one race left).
        if (await exists(target)) throw targetExists(path, error);
        await rename(partial, target);
      }
      if (linked) await unlink(partial);
    }
    if (options.owner === undefined) await rm(meta, { force: true });
    state = 'published';
    await release();
    return { data: undefined, path: target };
  };

  const sink: FileSink = {
    path: target,
    get offset() {
      return offset;
    },
    get validator() {
      return validator;
    },
    write(chunk) {
      if (state !== 'open') throw ended();
      if (failure) throw cannotWrite(failure);
      offset += chunk.byteLength;
      if (out.write(chunk)) return;
      return new Promise<void>((done, reject) => {
        const settle = (error?: Error) => {
          waiting = undefined;
          out.off('error', settle);
          out.off('drain', settle);
          if (error) reject(state === 'open' ? cannotWrite(error) : error);
          else done();
        };
        waiting = settle;
        out.once('error', settle);
        out.once('drain', settle);
      });
    },
    async reset() {
      await mustHold('it was not started over');
      await end();
      await handle!.truncate(0).catch((error: unknown) => {
        throw cannotWrite(error);
      });
      offset = 0;
      validator = undefined;
      out = stream(handle!, 0);
      watch(out);
    },
    async remember(next) {
      await mustHold('its record was left as it is');
      validator = next;
      // The ownership of a file at `to` carries over: killed again, the task still knows it.
      // A disk that cannot take the record (full, read-only) is the disk's failure, not the network's.
      await writeRecord({ ...(next !== undefined ? { validator: next } : {}), ...(source !== undefined && next !== undefined ? { source } : {}), ...(owned ?? {}) }).catch((error: unknown) => {
        throw localFileError(`cannot write ${meta}`, error);
      });
    },
    async *existing() {
      if (offset === 0) return;
      // Flush what an earlier attempt left buffered, so that every byte counted is on disk.
      await end();
      out = stream(handle!, offset);
      watch(out);
      // A disk that fails under the read, or a file cut short under the run (by another program),
      // is the disk's failure, not the network's: never retried, as every attempt would meet it.
      let read = 0;
      try {
        for await (const chunk of createReadStream(partial, { start: 0, end: offset - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
          read += chunk.byteLength;
          yield chunk;
        }
      } catch (error) {
        throw localFileError(`cannot read ${partial}`, error);
      }
      if (read !== offset) throw localFileError(`cannot resume from ${partial}`, new Error(`it holds ${read} bytes, not the ${offset} counted`));
    },
    async *kept() {
      // Opened without waiting (a FIFO at `to` would block the open until a writer came, beyond
      // any abort), and read only when it is a regular file (a device may never end).
      const file = await open(target, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        if (!(await file.stat()).isFile()) throw new Error(`${target} is not a regular file`);
        yield* file.createReadStream({ highWaterMark: 1 << 20, autoClose: false });
      } finally {
        await file.close();
      }
    },
    async finish() {
      if (state !== 'open') throw ended();
      try {
        return await publish();
      } catch (error) {
        throw state === 'open' ? localFileError(`cannot publish ${path}`, error) : error;
      }
    },
    async abort(reason) {
      // Once published or aborted, `<to>.partial` may already be another download's: nothing
      // here is ours any more.
      if (state !== 'open') return;
      state = 'aborted';
      waiting?.(ended());
      try {
        await new Promise<void>((done) => {
          if (out.closed || out.destroyed) return done();
          out.end(() => done());
          out.once('error', () => done());
        });
        await handle!.close().catch(() => undefined);
        // Taken over (this process was paused past the lock's lease): the partial file and its
        // record are the new owner's, neither removed nor rewritten.
        const ours = await release.check().then(() => true, () => false);
        if (!ours) return;
        if (!keeps(options.keepPartial, offset, validator, reason)) {
          await rm(partial, { force: true });
          // The record that the file at `to` is this task's own stays with it: stopped before a
          // byte came (a close, a 304), the task must still know that file on its next run.
          if (owned) await writeRecord({ ...owned });
          else await rm(meta, { force: true });
        } else if (failedCheck(reason) && validator !== undefined) {
          // Kept (`keepPartial: true`) for a look, but never continued: a resume of bytes that
          // failed a check would only meet the same failure (a 416 for a whole file, every run).
          await writeRecord({ ...(owned ?? {}) });
        }
      } finally {
        await release();
      }
    },
  };
  return sink;
}

/** Whether a failed download's partial file stays (`keepPartial`; see DownloadOptions). */
function keeps(keepPartial: boolean | 'resumable', size: number, validator: string | undefined, reason: unknown): boolean {
  if (size === 0) return false; // nothing to keep (a failure before the first byte, a 304)
  if (keepPartial !== 'resumable') return keepPartial;
  // Bytes that failed a check cannot be continued; a body cut short can.
  if (failedCheck(reason)) return false;
  return validator !== undefined;
}

/** Whether a download failed because its bytes failed a check (a digest, a size), not because they stopped. */
function failedCheck(reason: unknown): boolean {
  return isIntegrityError(reason) && reason.reason !== 'truncated';
}

/**
 * What identifies the resource a partial file belongs to: a digest of its URL's origin and path.
 * Not the query, which a signed URL changes each time it is signed (a re-signed S3 URL continues
 * its file), nor credentials or the fragment; a digest, because the record sits beside the
 * user's file.
 */
function sourceDigest(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let key = url;
  try {
    const parsed = new URL(url);
    key = parsed.origin + parsed.pathname;
  } catch {
    // not a URL: the text itself
  }
  return 'sha256:' + createHash('sha256').update(key).digest('hex').slice(0, 32);
}

function stream(handle: FileHandle, start: number): WriteStream {
  // The numeric fd: a stream given the FileHandle itself keeps a reference to it that
  // `autoClose: false` never releases, and `handle.close()` in finish() then never settles.
  return createWriteStream('', { fd: handle.fd, start, autoClose: false, highWaterMark: WRITE_BUFFER });
}

