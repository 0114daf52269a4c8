import type { AxiosLike } from './options.js';
import type { Transport } from './transport.js';
import type { HasherFactory } from './integrity.js';
import type { BodySink } from './sink.js';

/** How a file sink is asked to behave; from the download's options. */
export interface FileSinkOptions {
  readonly resume: boolean;
  readonly keepPartial: boolean | 'resumable';
  readonly overwrite: boolean;
  /** fsync the file before the rename (default true); false only skips that flush. */
  readonly durable?: boolean;
  /**
   * Whether the transfer writing this sink is aborted (its sink is about to be let go): another
   * download to the same file in this process then waits for it instead of failing at once.
   */
  readonly closing?: () => boolean;
  /**
   * The URL asked for. A partial file is continued only for the origin and path that wrote it (its
   * validator record keeps a digest of them): another resource with the same ETag or date is no proof.
   */
  readonly source?: string;
  /**
   * Sessions only (`overwrite: false`): the task writing this file (a token naming the session
   * and the task). Its publish records beside `to` that the file there is this task's, until the
   * session has recorded the completion; a rerun after a kill in between may replace that file,
   * and no other.
   */
  readonly owner?: string;
}

/** A sink that writes to a file and can resume it. */
export interface FileSink extends BodySink<undefined> {
  /** The file the sink publishes to (`to`, as the platform resolves it): `result.path`. */
  readonly path: string;
  /** The validator (strong ETag or Last-Modified) of the partial bytes, for `If-Range`. */
  readonly validator: string | undefined;
  /** Records the validator of the response being written. */
  remember(validator: string | undefined): Promise<void>;
  /** The bytes already on disk, for hashing a resumed download. */
  existing(): AsyncIterable<Uint8Array>;
  /**
   * The file at {@link path} as it is now (the copy a 304 keeps), for checking `integrity`; the
   * iteration fails when there is none, or it is no regular file (a FIFO, a device: never read).
   * Absent: that copy cannot be read here.
   */
  kept?(): AsyncIterable<Uint8Array>;
}

/**
 * What a platform (Node, the browser) gives the pure core. Each entry point builds one;
 * the core never imports a platform module.
 */
export interface Platform {
  readonly name: string;
  /** The default transport, over the given axios instance or the package's own. */
  transport(axios: AxiosLike | undefined): Transport;
  createHasher: HasherFactory;
  /** Opens a file sink for `to`; absent where there is no file system. */
  openFileSink?(path: string, options: FileSinkOptions): Promise<FileSink>;
}
