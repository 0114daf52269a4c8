/**
 * Where a download's bytes go. The core writes every chunk of a successful response here and
 * publishes the result only after every check passed (G5).
 */
export interface BodySink<T> {
  /** Bytes held now: from an earlier run (resume) plus every chunk written since the last reset. */
  readonly offset: number;
  /** Takes a chunk; returns a promise when the caller must wait (backpressure). */
  write(chunk: Uint8Array): void | Promise<void>;
  /** Forgets every byte written (the next attempt starts from zero). */
  reset(): void | Promise<void>;
  /** Publishes the body: the data in memory, or the file renamed into place. */
  finish(): Promise<{ data: T; path?: string }>;
  /** Gives up (because of `reason`, when known): releases resources and removes anything that could look finished. */
  abort(reason?: unknown): Promise<void>;
}

/** The in-memory result types a download can ask for. */
export type ResponseType = 'arraybuffer' | 'uint8array' | 'text' | 'json' | 'blob';

/** The type of `data` for each {@link ResponseType}. */
export interface ResponseTypeMap {
  arraybuffer: ArrayBuffer;
  uint8array: Uint8Array;
  text: string;
  json: unknown;
  blob: Blob;
}

/** Joins chunks into one array. */
export function concatChunks(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.byteLength === size) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Shared: a non-streaming `decode()` keeps no state between calls. */
const utf8 = new TextDecoder();

/** Converts raw bytes to the requested in-memory type. Throws (a SyntaxError) on bad JSON. */
export function decodeBody(bytes: Uint8Array, type: ResponseType, contentType?: string): unknown {
  switch (type) {
    case 'uint8array':
      return bytes;
    case 'arraybuffer':
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer
        : bytes.slice().buffer;
    case 'text':
      return utf8.decode(bytes);
    case 'json': {
      const text = utf8.decode(bytes);
      return text.length === 0 ? null : JSON.parse(text);
    }
    case 'blob':
      return new Blob([bytes as Uint8Array<ArrayBuffer>], contentType ? { type: contentType } : {});
  }
}

/** A sink that keeps the body in memory and decodes it per `responseType`. */
export function memorySink<T>(type: ResponseType, contentType: () => string | undefined): BodySink<T> {
  return new MemorySink<T>(type, contentType);
}

/** A class rather than an object literal with a getter: one is made per request. */
class MemorySink<T> implements BodySink<T> {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor(
    private readonly type: ResponseType,
    private readonly contentType: () => string | undefined,
  ) {}

  get offset(): number {
    return this.size;
  }

  write(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  reset(): void {
    this.chunks = [];
    this.size = 0;
  }

  async finish(): Promise<{ data: T }> {
    const data = decodeBody(concatChunks(this.chunks, this.size), this.type, this.contentType()) as T;
    this.chunks = [];
    return { data };
  }

  async abort(): Promise<void> {
    this.chunks = [];
  }
}
