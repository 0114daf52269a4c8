import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { parseIntegrity, toBase64 } from '../../lib/internal/core/integrity.js';

const digest = (algorithm: string, text: string) => createHash(algorithm).update(text).digest('base64');
const sha256 = digest('sha256', 'a');
const sha384 = digest('sha384', 'a');
const sha512 = digest('sha512', 'a');

describe('parseIntegrity (SRI)', () => {
  it('reads one digest', () => {
    expect(parseIntegrity(`sha256-${sha256}`)).toEqual({ algorithm: 'sha256', digests: [sha256] });
    expect(parseIntegrity(`  sha512-${sha512}  `)).toEqual({ algorithm: 'sha512', digests: [sha512] });
  });

  it('keeps the strongest algorithm when several are given, in any order', () => {
    expect(parseIntegrity(`sha256-${sha256} sha512-${sha512} sha384-${sha384}`)).toEqual({ algorithm: 'sha512', digests: [sha512] });
    expect(parseIntegrity(`sha384-${sha384}\tsha256-${sha256}`)).toEqual({ algorithm: 'sha384', digests: [sha384] });
  });

  it('accepts several digests of the strongest algorithm (any may match)', () => {
    const other = digest('sha384', 'b');
    expect(parseIntegrity(`sha384-${sha384} sha256-${sha256} sha384-${other}`)).toEqual({ algorithm: 'sha384', digests: [sha384, other] });
  });

  it('ignores SRI options after "?"', () => {
    expect(parseIntegrity(`sha256-${sha256}?foo=bar`)).toEqual({ algorithm: 'sha256', digests: [sha256] });
  });

  it.each([
    ['', /integrity is empty/],
    ['   ', /integrity is empty/],
    [`md5-${digest('md5', 'a')}`, /is not "sha256-<base64>"/],
    [`sha1-${digest('sha1', 'a')}`, /is not "sha256-<base64>"/],
    [sha256, /is not "sha256-<base64>"/],
    ['sha256-', /is not "sha256-<base64>"/],
    ['sha256-!!!notbase64!!!', /does not hold a sha256 digest in base64/],
    [`sha256-${sha384}`, /does not hold a sha256 digest/], // right base64, wrong length
    [`sha512-${sha256}`, /does not hold a sha512 digest/],
    [`sha256-${sha256.slice(0, -2)}`, /does not hold a sha256 digest/],
    [`sha256-${sha256}=`, /does not hold a sha256 digest/],
    [`sha256-${sha256} garbage`, /"garbage" is not/],
  ])('refuses %p with a message', (value, message) => {
    const parsed = parseIntegrity(value);
    expect(typeof parsed).toBe('string');
    expect(parsed).toMatch(message);
  });

  it('bounds the quoted value in its message', () => {
    expect((parseIntegrity('x'.repeat(10_000)) as string).length).toBeLessThan(200);
  });
});

describe('toBase64', () => {
  it('matches Buffer for any bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'))), { numRuns: 500 });
  });

  it('round-trips every real digest length through parseIntegrity (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(['sha256', 32], ['sha384', 48], ['sha512', 64]), fc.uint8Array({ minLength: 64, maxLength: 64 }), ([algorithm, length], bytes) => {
        const b64 = toBase64(bytes.subarray(0, length as number));
        expect(parseIntegrity(`${algorithm}-${b64}`)).toEqual({ algorithm, digests: [b64] });
      }),
      { numRuns: 500 },
    );
  });
});
