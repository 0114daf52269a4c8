import { Readable, Transform, pipeline } from 'node:stream';
import type { OpenedBody } from '../core/transport.js';

/** Chunk size used to feed in-memory bodies, so their upload progress moves smoothly. */
const SLICE = 256 * 1024;

function* slices(data: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += SLICE) yield data.subarray(at, Math.min(at + SLICE, data.byteLength));
}

function isNodeReadable(value: unknown): value is Readable {
  return value instanceof Readable || (typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function' && typeof (value as Readable).on === 'function');
}

/**
 * Turns an opened body into a Node stream whose bytes are counted as they are handed on to the
 * request (G4: bytes handed to the socket, under backpressure, not bytes read from the source).
 */
export function countedUploadStream(body: OpenedBody, onProgress: (loaded: number) => void): { stream: Readable; contentType?: string } {
  let source: Readable;
  let contentType: string | undefined;
  switch (body.kind) {
    case 'bytes':
      source = Readable.from(slices(body.data), { objectMode: false });
      break;
    case 'blob':
      source = Readable.fromWeb(body.data.stream() as never);
      break;
    case 'form': {
      const encoded = new Response(body.data);
      contentType = encoded.headers.get('content-type') ?? undefined;
      source = Readable.fromWeb(encoded.body as never);
      break;
    }
    case 'stream':
      source = isNodeReadable(body.data) ? body.data : Readable.from(body.data, { objectMode: false });
      break;
  }
  let loaded = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      loaded += chunk.length;
      onProgress(loaded);
      callback(null, chunk);
    },
  });
  pipeline(source, counter, () => undefined);
  return { stream: counter, ...(contentType ? { contentType } : {}) };
}
