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

/** Decoders by charset label, made once each; `null`: a label this platform does not know. */
const decoders = new Map<string, TextDecoder | null>();

/**
 * The encoding of a text body, as a browser's XHR picks it (WHATWG Encoding's "decode"): a byte
 * order mark first, then the `charset` of Content-Type; undefined for neither.
 */
function textLabel(bytes: Uint8Array, contentType: string | undefined): string | undefined {
  return bomEncoding(bytes) ?? (contentType === undefined ? undefined : /;\s*charset="?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase());
}

/**
 * The decoder for a label: UTF-8 for none, or one unknown here. A BOM is left for the decoder to
 * drop: each of these removes its own.
 */
function textDecoderFor(label: string | undefined): TextDecoder {
  if (label === undefined || label === 'utf-8' || label === 'utf8') return utf8;
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      decoder = null;
    }
    if (decoders.size < 64) decoders.set(label, decoder);
  }
  return decoder ?? utf8;
}

/**
 * windows-1252's bytes 0x80–0x9F (the five it leaves undefined map to themselves, as in WHATWG's
 * index). Node 20's decoder reads them as ISO-8859-1 control codes, so `€` became U+0080; a
 * browser's decoder gives these already, and the mapping then changes nothing.
 */
const WINDOWS_1252 = '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** A body as text, as a browser's XHR decodes it (see {@link textLabel}). */
export function decodeText(bytes: Uint8Array, contentType: string | undefined): string {
  const label = textLabel(bytes, contentType);
  if (label === 'x-user-defined') return userDefined(bytes);
  const decoder = textDecoderFor(label);
  const text = decoder.decode(bytes);
  return decoder.encoding === 'windows-1252' ? text.replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252[c.charCodeAt(0) - 0x80]!) : text;
}

/**
 * WHATWG's x-user-defined (what pages once used to read binary through XHR's text): ASCII as
 * itself, each byte 0x80–0xFF as U+F780–U+F7FF. Browsers decode it; Node 20's TextDecoder
 * refuses the label, which fell back to UTF-8 and turned those bytes into U+FFFD.
 */
function userDefined(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    const part = bytes.subarray(i, i + 8192);
    text += String.fromCharCode(...Array.from(part, (b) => (b < 0x80 ? b : 0xf700 + b)));
  }
  return text;
}

function bomEncoding(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return undefined;
}

/** Whether the bytes are the whole of their `buffer`. */
function ownsItsBuffer(bytes: Uint8Array): boolean {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/** Converts raw bytes to the requested in-memory type. Throws (a SyntaxError) on bad JSON. */
export function decodeBody(bytes: Uint8Array, type: ResponseType, contentType?: string): unknown {
  switch (type) {
    // Bytes that sit in a larger block (a Node Buffer from its pool or a zlib block) are copied
    // out, with Uint8Array's own slice (a Buffer's `slice()` is a view): the result's `buffer`
    // would be that whole block, other memory of the process.
    case 'uint8array':
      return ownsItsBuffer(bytes) ? bytes : Uint8Array.prototype.slice.call(bytes);
    case 'arraybuffer':
      return ownsItsBuffer(bytes) ? bytes.buffer : Uint8Array.prototype.slice.call(bytes).buffer;
    case 'text':
      return decodeText(bytes, contentType);
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
