import type { OpenedBody } from './transport.js';

/**
 * A body that can be opened once per attempt, for bodies that are not plain values:
 * files on Node (`fileBody()` from `rxtransfer/node`) or your own source.
 */
export interface BodySource {
  readonly kind: 'source';
  /** Size in bytes, when known. */
  readonly size?: number;
  /** Content type to send when the caller sets none. */
  readonly contentType?: string;
  /** False when `open` can be called only once (a stream): such uploads are never retried or redirected with their body. */
  readonly replayable: boolean;
  open(): AsyncIterable<Uint8Array>;
}

/**
 * What `upload()` accepts: text, bytes (ArrayBuffer, typed arrays, Node Buffers), Blob/File,
 * FormData, an async iterable of bytes (Node readable streams are ones), or a {@link BodySource}.
 */
export type UploadBody =
  | string
  | ArrayBuffer
  | ArrayBufferView
  | Blob
  | FormData
  | AsyncIterable<Uint8Array>
  | BodySource;

/** A validated body: how to open it for an attempt, and what is known about it. */
export interface NormalizedBody {
  readonly size: number | undefined;
  readonly contentType: string | undefined;
  readonly replayable: boolean;
  readonly streaming: boolean;
  open(): OpenedBody;
  /**
   * The error a Node stream body emitted before any attempt read it (a file stream of a missing
   * file, made before the transfer was subscribed to), or undefined.
   */
  failure?(): unknown;
}

function once<T>(value: T): () => T {
  let used = false;
  return () => {
    if (used) throw new Error('this body is a one-shot stream and was already sent');
    used = true;
    return value;
  };
}

/** Validates an upload body. Returns a message for what is wrong with it instead of throwing. */
export function normalizeBody(body: unknown): NormalizedBody | string {
  if (typeof body === 'string') {
    const data = new TextEncoder().encode(body);
    return { size: data.byteLength, contentType: 'text/plain;charset=UTF-8', replayable: true, streaming: false, open: () => ({ kind: 'bytes', data }) };
  }
  if (body instanceof ArrayBuffer) {
    const data = new Uint8Array(body);
    return bytes(data);
  }
  if (ArrayBuffer.isView(body)) {
    return bytes(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  }
  if (typeof Blob !== 'undefined' && body instanceof Blob) {
    return { size: body.size, contentType: body.type || 'application/octet-stream', replayable: true, streaming: false, open: () => ({ kind: 'blob', data: body }) };
  }
  if (typeof FormData !== 'undefined' && body instanceof FormData) {
    return { size: undefined, contentType: undefined, replayable: true, streaming: false, open: () => ({ kind: 'form', data: body }) };
  }
  if (typeof body === 'object' && body !== null && (body as BodySource).kind === 'source' && typeof (body as BodySource).open === 'function') {
    const source = body as BodySource;
    if (source.size !== undefined && !(Number.isSafeInteger(source.size) && source.size >= 0)) return `body size must be a whole number of bytes, got ${source.size}`;
    const take = once(source);
    return {
      size: source.size,
      contentType: source.contentType ?? 'application/octet-stream',
      replayable: source.replayable,
      streaming: true,
      open: () => ({ kind: 'stream', data: (source.replayable ? source : take()).open() }),
    };
  }
  if (typeof body === 'object' && body !== null && typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    const take = once(body as AsyncIterable<Uint8Array>);
    const failure = watchErrors(body);
    return { size: undefined, contentType: 'application/octet-stream', replayable: false, streaming: true, open: () => ({ kind: 'stream', data: take() }), ...(failure ? { failure } : {}) };
  }
  return `unsupported body type: ${body === null ? 'null' : typeof body}`;
}

/**
 * A Node stream (an `EventEmitter` that pipes) is listened to for `'error'` from the moment it is
 * handed to `upload()`: the transfer is cold, and a stream that fails before it is subscribed to
 * (a file stream of a missing file) would otherwise throw its error out of the process, with no
 * listener yet. Returns what it emitted first, for the attempt to fail with.
 */
function watchErrors(body: object): (() => unknown) | undefined {
  const emitter = body as { on?: unknown; pipe?: unknown };
  if (typeof emitter.on !== 'function' || typeof emitter.pipe !== 'function') return undefined;
  // One listener per stream, however many upload() calls it is given to.
  let watch = WATCHED.get(body);
  if (!watch) {
    const state: { failed?: { error: unknown } } = {};
    try {
      (emitter.on as (event: string, listener: (error: unknown) => void) => void).call(body, 'error', (error: unknown) => void (state.failed ??= { error }));
    } catch {
      return undefined;
    }
    watch = () => state.failed?.error;
    WATCHED.set(body, watch);
  }
  return watch;
}

/** The streams {@link watchErrors} listens to, with what each emitted first. */
const WATCHED = new WeakMap<object, () => unknown>();

function bytes(data: Uint8Array): NormalizedBody {
  return { size: data.byteLength, contentType: 'application/octet-stream', replayable: true, streaming: false, open: () => ({ kind: 'bytes', data }) };
}
