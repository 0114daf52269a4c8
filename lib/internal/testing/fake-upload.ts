import type { OpenedBody } from '../core/transport.js';

type Chunk = Uint8Array | string;

/** A Node `Readable` (duck-typed: this file is imported in browsers too). */
function isNodeReadable(value: unknown): value is AsyncIterable<Uint8Array> & { destroy(): void; once(event: 'error', listener: (error: unknown) => void): unknown } {
  const v = value as { pipe?: unknown; on?: unknown; once?: unknown; destroy?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.pipe === 'function' && typeof v.on === 'function' && typeof v.once === 'function' && typeof v.destroy === 'function';
}

/**
 * The request body of a {@link FakeRequest}, read as the Node transport sends it, at the pace a
 * test scripts: up to `n` bytes when it reports `uploadProgress(n)`, all of it before the head
 * it answers. A body that fails (its source throws, it runs past or ends short of its declared
 * size) is reported to `onError`; a Node stream is watched from the start, as the Node transport
 * watches it while the connection is made. `close()` releases the source (a Node stream
 * destroyed, an iterator returned, a web stream cancelled), read or not; a source read to its end
 * is released by its own end. Reads only when asked: a body that never ends is never read past
 * what the test asked for.
 */
export class FakeUpload {
  /** Bytes read from the source so far. */
  read = 0;
  /** The Content-Type the transport sends for it (a FormData's multipart type with its boundary). */
  readonly contentType: string | undefined;
  private readonly open: () => { next(): Promise<IteratorResult<Chunk>>; close(): void };
  private reader: { next(): Promise<IteratorResult<Chunk>>; close(): void } | undefined;
  private wanted = 0;
  private reading = false;
  private finished = false;
  private closed = false;
  private waiting: Array<() => void> = [];

  constructor(body: OpenedBody, private readonly size: number | undefined, private readonly onError: (error: Error) => void) {
    switch (body.kind) {
      case 'bytes':
        // Nothing to read that could fail.
        this.read = body.data.byteLength;
        this.finished = true;
        this.open = () => ({ next: () => Promise.resolve({ done: true, value: undefined }), close: () => undefined });
        break;
      case 'blob':
        this.open = () => webReader(body.data.stream());
        break;
      case 'form': {
        const encoded = new Response(body.data);
        this.contentType = encoded.headers.get('content-type') ?? undefined;
        this.open = () => webReader(encoded.body!);
        break;
      }
      case 'stream': {
        const data = body.data;
        const readable = isNodeReadable(data);
        if (readable) data.once('error', (error) => this.fail(error));
        this.open = () => {
          const iterator = data[Symbol.asyncIterator]();
          return { next: () => iterator.next(), close: () => (readable ? data.destroy() : void Promise.resolve(iterator.return?.()).catch(() => undefined)) };
        };
        break;
      }
    }
  }

  /** Reads the body up to `loaded` bytes (in whole chunks), in the background. */
  want(loaded: number): void {
    this.wanted = Math.max(this.wanted, loaded);
    void this.pump();
  }

  /** Calls `then` once the whole body has been read: at once when it has been already; never if it fails or is closed first. */
  whenRead(then: () => void): void {
    if (this.finished) return then();
    this.waiting.push(then);
    this.want(Number.POSITIVE_INFINITY);
  }

  /** Releases the source, read or not; nothing more is read or reported. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting = [];
    if (this.finished) return;
    try {
      (this.reader ?? this.open()).close();
    } catch {
      // a source that cannot even be closed: nothing more to do
    }
  }

  private async pump(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      while (!this.closed && !this.finished && this.read < this.wanted) {
        this.reader ??= this.open();
        const chunk = await this.reader.next();
        if (this.closed) return;
        if (chunk.done) {
          if (this.size !== undefined && this.read < this.size) throw new Error(`the body ended after ${this.read} of the ${this.size} bytes declared`);
          this.finished = true;
          break;
        }
        this.read += byteLength(chunk.value);
        if (this.size !== undefined && this.read > this.size) throw new Error(`the body is longer than the ${this.size} bytes declared`);
      }
    } catch (error) {
      return this.fail(error);
    } finally {
      this.reading = false;
    }
    if (this.finished && !this.closed) for (const then of this.waiting.splice(0)) then();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.onError(typeof (error as Error | undefined)?.message === 'string' ? (error as Error) : new Error(String(error)));
  }
}

/** A chunk's size as the Node transport sends it: bytes, or text as UTF-8; anything else fails the body, as there. */
function byteLength(chunk: unknown): number {
  if (typeof chunk === 'string') return new TextEncoder().encode(chunk).byteLength;
  if (ArrayBuffer.isView(chunk)) return chunk.byteLength;
  throw new TypeError(`the body gave a chunk that is not bytes (${chunk === null ? 'null' : typeof chunk})`);
}

function webReader(stream: ReadableStream<Uint8Array>): { next(): Promise<IteratorResult<Chunk>>; close(): void } {
  const reader = stream.getReader();
  return {
    next: async () => {
      const { done, value } = await reader.read();
      return done ? { done: true, value: undefined } : { done: false, value };
    },
    close: () => void reader.cancel().catch(() => undefined),
  };
}
