import type { ResponseHeaders } from './events.js';
import type { TransportResponse } from './transport.js';
import { BODY_EXCERPT_LIMIT } from './errors/http-status-error.js';
import { concatChunks, decodeText } from './sink.js';

/** A parsed `Content-Range`: `bytes start-end/size`, or `bytes * /size` (start and end undefined). */
export interface ContentRange {
  readonly start: number | undefined;
  readonly end: number | undefined;
  readonly size: number | undefined;
}

/** Parses `Content-Range`; undefined when absent or malformed. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(value.trim());
  if (!m) return undefined;
  const start = m[1] === undefined ? undefined : Number(m[1]);
  const end = m[2] === undefined ? undefined : Number(m[2]);
  const size = m[3] === '*' ? undefined : Number(m[3]);
  if (start !== undefined && end !== undefined && end < start) return undefined;
  if (start === undefined && size === undefined) return undefined;
  return { start, end, size };
}

/**
 * The body length the response declares, in decoded bytes: Content-Length when the body is not
 * content-encoded (G4: never a false size under gzip), 0 for HEAD, 204 and 304.
 */
export function declaredLength(response: TransportResponse, method: string): number | undefined {
  if (method === 'HEAD' || response.status === 204 || response.status === 304) return 0;
  if (response.decoded) return undefined;
  const encoding = response.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return undefined;
  const value = response.headers['content-length'];
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A validator fit for `If-Range`: a strong ETag, else a strong Last-Modified date; never a weak
 * ETag. A date is strong only when the response's `Date` is at least one second later
 * (RFC 9110 §8.8.2.2, §13.1.5): a file changed within the same second would look unchanged.
 */
export function strongValidator(headers: ResponseHeaders): string | undefined {
  const etag = headers['etag'];
  if (etag !== undefined) return /^W\//.test(etag) ? undefined : etag;
  const modified = headers['last-modified'];
  if (modified === undefined) return undefined;
  const at = Date.parse(modified);
  const date = headers['date'] === undefined ? Number.NaN : Date.parse(headers['date']);
  return Number.isFinite(at) && Number.isFinite(date) && date - at >= 1000 ? modified : undefined;
}

/** The first {@link BODY_EXCERPT_LIMIT} bytes of a body as they arrive, readable as text at any time. */
export class BodyExcerpt {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly contentType: string | undefined) {}

  /** Keeps `chunk`; true once the excerpt is full. */
  add(chunk: Uint8Array): boolean {
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    return this.size >= BODY_EXCERPT_LIMIT;
  }

  /** What arrived so far, in the charset `contentType` names. */
  text(): string {
    return decodeText(concatChunks(this.chunks, this.size).subarray(0, BODY_EXCERPT_LIMIT), this.contentType);
  }
}

/**
 * Reads at most {@link BODY_EXCERPT_LIMIT} bytes of a body into `excerpt`, then stops; resolves with its text.
 * `onChunk` hears every chunk (the idle watchdog: bytes of an error body are bytes moving, G9).
 */
export async function readExcerpt(body: AsyncIterable<Uint8Array>, signal: { readonly aborted: boolean }, excerpt = new BodyExcerpt(undefined), onChunk?: () => void): Promise<string> {
  for await (const chunk of body) {
    onChunk?.();
    if (signal.aborted || excerpt.add(chunk)) break;
  }
  return excerpt.text();
}
