import fc from 'fast-check';
import { declaredLength, parseContentRange, readExcerpt, strongValidator } from '../../lib/internal/core/response-head.js';
import type { TransportResponse } from '../../lib/internal/core/transport.js';
import { BODY_EXCERPT_LIMIT } from 'rxtransfer';

function response(status: number, headers: Record<string, string>, decoded = false): TransportResponse {
  return { status, statusText: '', headers, url: 'https://a.test/', decoded, body: (async function* () {})() };
}

describe('parseContentRange', () => {
  it.each([
    ['bytes 0-99/100', { start: 0, end: 99, size: 100 }],
    ['bytes 100-199/*', { start: 100, end: 199, size: undefined }],
    ['bytes */1000', { start: undefined, end: undefined, size: 1000 }],
    ['BYTES 5-5/6', { start: 5, end: 5, size: 6 }],
    ['  bytes 1-2/3  ', { start: 1, end: 2, size: 3 }],
  ])('reads %p', (value, expected) => {
    expect(parseContentRange(value)).toEqual(expected);
  });

  it.each([undefined, '', 'bytes', 'bytes 5-4/10', 'bytes */*', 'items 0-1/2', 'bytes 0-/10', 'bytes -5/10', 'bytes 0-9', 'bytes 0-9/ten', 'bytes 1.5-2/3', 'bytes 0-9/10, bytes 10-19/20'])('refuses malformed %p', (value) => {
    expect(parseContentRange(value)).toBeUndefined();
  });

  it('never throws and returns ordered numbers for any text (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([a, b, c]) => `bytes ${a}-${b}/${c}`)), (text) => {
        const r = parseContentRange(text);
        if (r?.start !== undefined) expect(r.end).toBeGreaterThanOrEqual(r.start);
        if (r) expect(r.start !== undefined || r.size !== undefined).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('declaredLength', () => {
  it('reads Content-Length of an identity body', () => {
    expect(declaredLength(response(200, { 'content-length': '42' }), 'GET')).toBe(42);
    expect(declaredLength(response(200, { 'content-length': ' 7 ', 'content-encoding': 'identity' }), 'GET')).toBe(7);
  });

  it('is 0 for HEAD, 204 and 304 whatever the header says', () => {
    expect(declaredLength(response(200, { 'content-length': '42' }), 'HEAD')).toBe(0);
    expect(declaredLength(response(204, {}), 'GET')).toBe(0);
    expect(declaredLength(response(304, { 'content-length': '9' }), 'GET')).toBe(0);
  });

  it('is unknown under a content encoding or once decoded (G4: never a false size)', () => {
    expect(declaredLength(response(200, { 'content-length': '42', 'content-encoding': 'gzip' }), 'GET')).toBeUndefined();
    expect(declaredLength(response(200, { 'content-length': '42' }, true), 'GET')).toBeUndefined();
  });

  it.each(['', '-1', '1.5', '0x10', '1e3', '12, 12', '99999999999999999999'])('is unknown for Content-Length %p', (value) => {
    expect(declaredLength(response(200, { 'content-length': value }), 'GET')).toBeUndefined();
  });
});

describe('strongValidator', () => {
  it('takes a strong ETag; a weak ETag gives no validator', () => {
    expect(strongValidator({ etag: '"v1"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' })).toBe('"v1"');
    expect(strongValidator({ etag: 'W/"v1"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT', date: 'Tue, 02 Jan 2024 00:00:00 GMT' })).toBeUndefined();
    expect(strongValidator({})).toBeUndefined();
  });

  it('takes Last-Modified only when it is at least a second older than Date (strong per RFC 9110)', () => {
    const lm = 'Mon, 01 Jan 2024 00:00:00 GMT';
    expect(strongValidator({ 'last-modified': lm, date: 'Mon, 01 Jan 2024 00:00:01 GMT' })).toBe(lm);
    expect(strongValidator({ 'last-modified': lm, date: lm })).toBeUndefined();
    expect(strongValidator({ 'last-modified': lm })).toBeUndefined();
    expect(strongValidator({ 'last-modified': 'garbage', date: lm })).toBeUndefined();
  });
});

describe('readExcerpt', () => {
  async function* chunks(parts: string[], onReturn?: () => void) {
    try {
      for (const p of parts) yield new TextEncoder().encode(p);
    } finally {
      onReturn?.();
    }
  }

  it('reads a short body whole', async () => {
    await expect(readExcerpt(chunks(['he', 'llo']), new AbortController().signal)).resolves.toBe('hello');
  });

  it('reads an empty body as empty text', async () => {
    await expect(readExcerpt(chunks([]), new AbortController().signal)).resolves.toBe('');
  });

  it('stops at the limit and releases the body', async () => {
    let released = false;
    const big = Array.from({ length: 100 }, () => 'x'.repeat(100));
    const text = await readExcerpt(chunks(big, () => (released = true)), new AbortController().signal);
    expect(text).toHaveLength(BODY_EXCERPT_LIMIT);
    expect(released).toBe(true);
  });

  it('stops reading once aborted', async () => {
    const c = new AbortController();
    c.abort();
    await expect(readExcerpt(chunks(['abc']), c.signal)).resolves.toBe('');
  });

  it('rejects when the body breaks', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([65]);
      throw new Error('reset');
    }
    await expect(readExcerpt(broken(), new AbortController().signal)).rejects.toThrow('reset');
  });
});
