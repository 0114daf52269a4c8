/**
 * Where `rxtransfer get` writes, and how the file gets its final name without ever replacing
 * a file it should not.
 *
 * With `--content-disposition` the name is only known once the response head arrives, but the
 * library needs `to` before the request. So the body goes to a hidden side file in the target
 * directory, `.rxtransfer-<hash of the URL>.download` (its own `.partial` while in flight), and
 * is linked to its final name after `done`. One request decides both the bytes and the name (a
 * HEAD first could disagree with the GET, and some servers refuse HEAD); the side name is the
 * same for the same URL and directory, so `--resume` continues it.
 */
import { createHash } from 'node:crypto';
import { chmod, link, lstat, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { PARTIAL_META_SUFFIX, PARTIAL_SUFFIX } from '../node/index.js';
import { unreplaceable } from '../internal/node/file-sink.js';
import { CliError } from './exit-codes.js';
import { FALLBACK_NAME, nameFromUrl } from './safe-name.js';

/** Where the library writes, and whether the name is chosen after the response. */
export interface TargetPlan {
  /** The library's `to`. */
  readonly path: string;
  /** With `--content-disposition`: the directory that receives the final name (then `path` is a side file). */
  readonly nameLater?: { readonly dir: string };
}

/** The command a message names: `get`, or `session add` (whose task downloads later). */
export type TargetCommand = 'get' | 'session add';

/** Plans the target: `-o FILE`, `-o DIR`, or the current directory; the URL's name or a side file. */
export async function planTarget(url: URL, output: string | undefined, contentDisposition: boolean, command: TargetCommand = 'get'): Promise<TargetPlan> {
  let dir = '.';
  if (output !== undefined) {
    if (output.length === 0) throw new CliError('usage', '-o needs a file or directory name');
    // curl's and wget's stdout: not a file named '-' that no one asked for.
    if (output === '-') throw new CliError('usage', `-o - (standard output) is not supported: ${command} writes to a file (-o ./- names a file '-')`);
    if (!(await isDirectory(output))) return { path: output };
    dir = output;
  }
  if (contentDisposition) return { path: join(dir, sideFileName(url)), nameLater: { dir } };
  return { path: join(dir, nameFromUrl(url) ?? FALLBACK_NAME) };
}

/** The hidden side file for a URL: stable across runs, so `--resume` finds its partial. */
export function sideFileName(url: URL): string {
  return `.rxtransfer-${createHash('sha256').update(url.href).digest('hex').slice(0, 16)}.download`;
}

/** Refuses, before any request, to replace a file that exists. */
export async function refuseExisting(path: string): Promise<void> {
  if (await exists(path)) throw existsError(path);
}

/**
 * Refuses, before any request, a name that is a device, FIFO or socket, or a symlink to one
 * (`-o /dev/null`, `-o /dev/stdout`, as with curl), or that leads to an open file descriptor's
 * link (`-o /dev/stdout` with stdout redirected to a file): `--force` or `--resume` would rename
 * the download over it, and as root that replaces `/dev/null` for the whole system.
 */
export async function refuseSpecialFile(path: string, command: TargetCommand = 'get'): Promise<void> {
  const why = await unreplaceable(path);
  if (why !== undefined) throw unreplaceableError(why, path, undefined, command);
  // The URL's name is a directory here (`get https://host/docs` beside ./docs): no rename replaces
  // it, so "exists; use --force" would lead to a whole download that then cannot be published.
  if ((await lstat(path).catch(() => undefined))?.isDirectory()) {
    throw new CliError('usage', `${path} is a directory: ${command} saves to a file and cannot replace it, --force or not; choose another name with -o (-o ${path}${sep} saves into it)`);
  }
}

const UNREPLACEABLE = {
  special: { what: 'is not a regular file (a device, FIFO or socket)', harm: 'would replace it' },
  descriptor: { what: 'leads to an open file descriptor (/dev/stdout, /dev/fd/N, /proc/self/fd/N)', harm: 'would replace the link, not write to the descriptor' },
} as const;

/** The error for a name {@link unreplaceable} says no to; with `side`, where the finished download is. */
function unreplaceableError(why: keyof typeof UNREPLACEABLE, path: string, side?: string, command: TargetCommand = 'get'): CliError {
  const { what, harm } = UNREPLACEABLE[why];
  if (side !== undefined) return new CliError('usage', `${path} ${what} and is not replaced; the download is complete in ${side}`);
  return new CliError('usage', `${path} ${what}: ${command} saves to a file and ${harm}, --force or not; choose another name with -o`);
}

/** The error for a name that is taken. */
export function existsError(path: string, cause?: unknown): CliError {
  return new CliError('exists', `${path} exists; use --force to replace it, or -o to choose another name`, { cause });
}

/**
 * Gives the finished side file its final name. Without `replace`, a hard link claims the name
 * atomically (it fails if the name is taken, even by a file created a moment ago); where the
 * file system has no hard links, an exclusively created placeholder claims it instead. When the
 * name is taken, the side file is removed, or with `keep` (the user asked to resume: the bytes
 * cost something) kept, and the error says where it is.
 */
export async function placeFile(side: string, final: string, replace: boolean, keep = false): Promise<void> {
  if (replace) {
    // Never a device, FIFO or socket, nor a name that leads to a descriptor's link (a server
    // naming the file `stdout` in /dev): what refuseSpecialFile() keeps from -o FILE.
    const why = await unreplaceable(final);
    if (why !== undefined) throw unreplaceableError(why, final, side);
    // A file replaced keeps its permissions (a private file stays private), as the library's own
    // publish keeps them for `-o FILE`.
    const replaced = await lstat(final).catch(() => undefined);
    if (replaced?.isFile()) await chmod(side, replaced.mode & 0o777).catch(() => undefined);
    await rename(side, final).catch((error: NodeJS.ErrnoException) => {
      // The download is whole: say where it is rather than leave a hidden file no one knows of.
      throw new CliError('io', `cannot rename the download to ${final}: ${error.code ?? error.message}; it is complete in ${side}`, { cause: error });
    });
    return;
  }
  try {
    await link(side, final);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw await clash(side, final, keep, error);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      throw new CliError('io', `cannot name the download ${final}: ${code ?? (error as Error).message}`, { cause: error });
    }
    await claimWithPlaceholder(side, final, keep);
    return;
  }
  await unlink(side);
}

async function claimWithPlaceholder(side: string, final: string, keep: boolean): Promise<void> {
  try {
    await (await open(final, 'wx')).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw await clash(side, final, keep, error);
    await rm(side, { force: true });
    throw new CliError('io', `cannot create ${final}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  await rename(side, final);
}

/** The error for a final name that is taken; the side file removed, or kept and named. */
async function clash(side: string, final: string, keep: boolean, cause: unknown): Promise<CliError> {
  // A directory: --force cannot replace it either, so it is not what the error suggests.
  const directory = (await lstat(final).catch(() => undefined))?.isDirectory() === true;
  if (!keep) {
    await rm(side, { force: true });
    return directory ? new CliError('exists', `${final} is a directory and is not replaced; choose another name with -o FILE`, { cause }) : existsError(final, cause);
  }
  const what = directory ? 'is a directory' : 'exists';
  return new CliError('exists', `${final} ${what}; the download is complete in ${side} (move it${directory ? '' : `, or use --force to replace ${final}`})`, { cause });
}

/**
 * What an interrupted download left for `--resume`: the partial file's size, and whether its
 * validator record exists (without one, the library cannot prove the bytes and starts over).
 */
export async function partialState(to: string): Promise<{ size: number; resumable: boolean } | undefined> {
  try {
    const size = (await lstat(to + PARTIAL_SUFFIX)).size;
    return { size, resumable: size > 0 && (await exists(to + PARTIAL_META_SUFFIX)) };
  } catch {
    return undefined;
  }
}

/** Whether `path` ends in a separator or names an existing directory. */
async function isDirectory(path: string): Promise<boolean> {
  if (path.endsWith('/') || path.endsWith(sep)) return true;
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
