import { Readable, Transform, pipeline } from 'node:stream';
import type { OpenedBody } from '../core/transport.js';

/** The chunks an in-memory body is handed on in (views, not copies), as a file's reads are. */
const CHUNK = 1024 * 1024;
/** What a chunk is cut into on a slow link, so that upload progress moves there too. */
const SLICE = 64 * 1024;
/** A chunk that took longer than this to be taken by the request marks the link as slow. */
const SLOW_MS = 50;

function* slices(data: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += size) yield data.subarray(at, Math.min(at + size, data.byteLength));
}

/**
 * The chunks of `source`, handed on whole while the request takes them fast, and in slices of
 * {@link SLICE} while it does not (and at the start, before the link's pace is known): progress
 * counts bytes as the request takes them (G4), so a 1 MiB chunk on a 100 KB/s link would move it
 * once in 10 s. On a fast link (loopback, a LAN) whole chunks spare the writes: 64 KiB slices
 * cost a 256 MiB loopback upload 10–25% more time.
 */
async function* paced(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let slow = true;
  for await (const chunk of source) {
    const began = performance.now();
    if (slow && chunk.byteLength > SLICE) yield* slices(chunk, SLICE);
    else yield chunk;
    slow = performance.now() - began > SLOW_MS;
  }
}

function isNodeReadable(value: unknown): value is Readable {
  return value instanceof Readable || (typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function' && typeof (value as Readable).on === 'function');
}

export interface CountedUpload {
  readonly stream: Readable;
  readonly contentType?: string;
  /** What the body itself failed with (its source threw, or it was not the size declared); undefined if it did not. */
  failure(): Error | undefined;
  /** Bytes handed on to the request so far (the last count reported). */
  sent(): number;
  /**
   * Lets go of the stream without touching its source, when nothing has been read from it yet
   * (the request was answered while it held the body back): the same source can then be sent
   * on another request. False, and nothing done, once reading has begun.
   */
  detach(): boolean;
  /**
   * Takes the source back when nothing has been read from it yet (the server answered while it
   * held the body back): this request never reads it, and closing the stream no longer closes
   * the source, which is then the caller's to send on another request or to close. Unlike
   * {@link detach}, the stream itself is left as it is (destroying it would end the request,
   * and with it the response still to be read). False, and nothing done, once reading has begun.
   */
  reclaim(): boolean;
}

/**
 * Turns an opened body into a Node stream whose bytes are counted as they are handed on to the
 * request (G4: bytes handed to the socket, under backpressure, not bytes read from the source).
 *
 * - `size`: the length sent as Content-Length. A body that runs past it or ends short of it
 *   fails (`failure()`): past it, the extra bytes would go out as the start of another request on
 *   the kept-alive connection; short of it, the server would wait for bytes that never come.
 * - `gate`: the body is not read (nor anything counted) before it resolves. A request buffers
 *   what is written to it until its socket connects, so counting from the start reported bytes
 *   sent to a host that had not answered yet (and ended the connect phase, G9); and a request
 *   that sent `Expect: 100-continue` holds the body until the server's 100. A stream destroyed
 *   before its gate opened closes its source unread.
 */
export function countedUploadStream(body: OpenedBody, onProgress: (loaded: number) => void, options: { size?: number | undefined; gate?: Promise<void> | undefined } = {}): CountedUpload {
  // Made when first read (or closed): a source a 417 detaches unread must still be free to be
  // read by the next request (Readable.from takes a web stream's reader, its lock, at once).
  let make: () => Readable;
  let contentType: string | undefined;
  switch (body.kind) {
    case 'bytes':
      make = () => Readable.from(slices(body.data, CHUNK), { objectMode: false });
      break;
    case 'blob':
      make = () => Readable.fromWeb(body.data.stream() as never);
      break;
    case 'form': {
      const encoded = new Response(body.data);
      contentType = encoded.headers.get('content-type') ?? undefined;
      make = () => Readable.fromWeb(encoded.body as never);
      break;
    }
    case 'stream': {
      const data = body.data;
      make = () => (isNodeReadable(data) ? data : Readable.from(data, { objectMode: false }));
      break;
    }
  }
  let made: Readable | undefined;
  const source = (): Readable => {
    if (made) return made;
    made = make();
    made.once('error', (error: unknown) => {
      if (counter.destroyed) return;
      const failed = fail(typeof (error as Error | undefined)?.message === 'string' ? (error as Error) : new Error(String(error)));
      // Failed while it waits for the connection (a stream that breaks on its own): the request
      // ends now, not when the host answers or the connect limit runs out.
      if (!started) counter.destroy(failed);
    });
    return made;
  };
  const { size, gate } = options;
  let failure: Error | undefined;
  const fail = (error: Error) => (failure ??= error);
  // The source's own error comes first; once the counter is destroyed (the request failed or was
  // let go), what the source reports is the teardown, not a failure of the body.
  let started = false;
  let loaded = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      loaded += chunk.length;
      if (size !== undefined && loaded > size) return callback(fail(new Error(`the body is longer than the ${size} bytes declared`)));
      onProgress(loaded);
      callback(null, chunk);
    },
    flush(callback) {
      if (size !== undefined && loaded < size) return callback(fail(new Error(`the body ended after ${loaded} of the ${size} bytes declared`)));
      callback();
    },
  });
  const start = () => {
    if (started) return;
    started = true;
    // Released before its gate opened: nothing was read; the source is closed unread (a
    // detached one never gets here).
    if (counter.destroyed) source().destroy();
    else pipeline(source(), paced, counter, () => undefined);
  };
  if (gate) {
    // A Node stream of the caller's is watched while it waits: one that breaks ends the request.
    if (body.kind === 'stream' && isNodeReadable(body.data)) source();
    void gate.then(start);
    counter.once('close', start);
  } else start();
  // `started` is set before the source is first piped (read): one that was not is unread.
  const reclaim = () => {
    if (started) return false;
    started = true;
    return true;
  };
  const detach = () => {
    if (!reclaim()) return false;
    counter.destroy();
    return true;
  };
  return { stream: counter, ...(contentType ? { contentType } : {}), failure: () => failure, sent: () => loaded, detach, reclaim };
}
