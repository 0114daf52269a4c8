import fc from 'fast-check';
import { backoffDelay, isRetryable, normalizeRetry, parseRetryAfter, type NormalizedRetry } from '../../lib/internal/core/retry.js';
import { CancelledError, HttpStatusError, IntegrityError, NetworkError, TimeoutError, TransferError } from 'rxtransfer';

function policy(p: Parameters<typeof normalizeRetry>[0]): NormalizedRetry {
  const n = normalizeRetry(p);
  if (typeof n === 'string') throw new Error(n);
  return n;
}

describe('normalizeRetry', () => {
  it('fills in the defaults', () => {
    expect(policy(undefined)).toMatchObject({ count: 0, baseDelay: 300, maxDelay: 10_000, factor: 2, jitter: 0.5, unsafeMethods: false, maxRetryAfter: 60_000 });
    expect(policy(3).count).toBe(3);
    expect(policy(3).statuses).toEqual([408, 429, 500, 502, 503, 504]);
    expect(policy({ count: 1, statuses: [418] }).statuses).toEqual([418]);
  });

  it.each([
    [-1, /count must be a whole number/],
    [1.5, /count must be a whole number/],
    [Number.NaN, /count must be a whole number/],
    [{ count: 1, baseDelay: -1 }, /retry.baseDelay must be a number >= 0/],
    [{ count: 1, maxDelay: Number.NaN }, /retry.maxDelay/],
    [{ count: 1, factor: 'x' }, /retry.factor/],
    [{ count: 1, jitter: 1.5 }, /retry.jitter must be between 0 and 1/],
    [{ count: 1, maxRetryAfter: -5 }, /retry.maxRetryAfter/],
    [{ count: 1, shouldRetry: 'yes' }, /shouldRetry must be a function/],
    [{ count: 1, statuses: 503 }, /retry.statuses must be an array/],
    [{ count: 1, statuses: ['503'] }, /retry.statuses must be an array/],
    ['3', /retry must be a count or a policy/],
  ])('refuses %p with a clear message', (input, message) => {
    const n = normalizeRetry(input as never);
    expect(typeof n).toBe('string');
    expect(n).toMatch(message);
  });
});

describe('backoffDelay', () => {
  const p = policy({ count: 10, baseDelay: 100, maxDelay: 1000, factor: 2, jitter: 0.5 });

  it('grows exponentially up to maxDelay without jitter', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 5, 6].map((r) => backoffDelay(r, p, none))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('takes at most the jitter fraction away', () => {
    expect(backoffDelay(1, p, () => 0.999999)).toBe(50);
    expect(backoffDelay(3, p, () => 0.5)).toBe(300);
  });

  it('stays within [raw * (1 - jitter), raw] for any policy and random value (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.record({ baseDelay: fc.integer({ min: 0, max: 5000 }), maxDelay: fc.integer({ min: 0, max: 60_000 }), factor: fc.double({ min: 1, max: 4, noNaN: true }), jitter: fc.double({ min: 0, max: 1, noNaN: true }) }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, shape, random) => {
          const n = policy({ count: 1, ...shape });
          const raw = Math.min(n.maxDelay, n.baseDelay * n.factor ** (retry - 1));
          const d = backoffDelay(retry, n, () => random);
          expect(d).toBeGreaterThanOrEqual(Math.floor(raw * (1 - n.jitter)));
          expect(d).toBeLessThanOrEqual(Math.ceil(raw));
          expect(Number.isInteger(d)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
  });

  it('reads an HTTP date, in the future or (as zero) in the past', () => {
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Thursday, 01-Jan-26 12:00:10 GMT', now)).toBe(10_000); // RFC 850
    expect(parseRetryAfter('Thu Jan  1 12:00:02 2026', now)).toBeGreaterThanOrEqual(0); // asctime (local time)
  });

  it.each([undefined, '', 'soon', '-1', '1.5', '0x10', '1e3', '12 '.repeat(3)])('ignores %p', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe('isRetryable', () => {
  const safe = policy({ count: 1 });
  const unsafe = policy({ count: 1, unsafeMethods: true });
  const errors: Array<[string, TransferError, boolean]> = [
    ['network', new NetworkError('reset', 'ECONNRESET'), true],
    ['network, no errno', new NetworkError('request failed: Network Error', undefined), true],
    ['network, timed out once connected', new NetworkError('connection failed', 'ETIMEDOUT'), true],
    ['idle timeout', new TimeoutError('idle', 10), true],
    ['connect timeout', new TimeoutError('connect', 10), true],
    ['total timeout', new TimeoutError('total', 10), false],
    ['truncated body', new IntegrityError('truncated', 'short'), true],
    ['digest mismatch', new IntegrityError('digest', 'bad'), false],
    ['overflow', new IntegrityError('overflow', 'long'), false],
    ['cancelled', new CancelledError(), false],
    ['invalid', new TransferError('invalid', 'bad'), false],
    ...[408, 429, 500, 502, 503, 504].map((s): [string, TransferError, boolean] => [`HTTP ${s}`, new HttpStatusError(s, {}, ''), true]),
    ...[400, 401, 403, 404, 410, 501, 505].map((s): [string, TransferError, boolean] => [`HTTP ${s}`, new HttpStatusError(s, {}, ''), false]),
  ];
  // Failures before any connection: the server never saw the request, so any method is retried.
  const unsent: Array<[string, TransferError]> = [
    ...['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].map((errno): [string, TransferError] => [errno, new NetworkError('connection failed', errno)]),
  ];
  const methods: Array<[string, boolean]> = [['GET', true], ['HEAD', true], ['PUT', true], ['DELETE', true], ['OPTIONS', true], ['POST', false], ['PATCH', false], ['CONNECT', false]];

  it.each(unsent.flatMap(([name, error]) => methods.map(([method, idempotent]) => [name, method, error, idempotent] as const)))('%s on %s: retryable for any method, unless the connection was up', (_name, method, error, idempotent) => {
    expect(isRetryable(error, method, safe)).toBe(true);
    expect(isRetryable(error, method, safe, true)).toBe(idempotent);
    expect(isRetryable(error, method, unsafe, true)).toBe(true);
  });

  it.each(errors.flatMap(([name, error, kind]) => methods.map(([method, idempotent]) => [name, method, error, kind && idempotent, kind] as const)))(
    '%s on %s: retryable by default = %p',
    (_name, method, error, byDefault, withUnsafe) => {
      expect(isRetryable(error, method, safe)).toBe(byDefault);
      expect(isRetryable(error, method, unsafe)).toBe(withUnsafe);
    },
  );

  it('follows the policy statuses', () => {
    const p = policy({ count: 1, statuses: [418] });
    expect(isRetryable(new HttpStatusError(418, {}, ''), 'GET', p)).toBe(true);
    expect(isRetryable(new HttpStatusError(503, {}, ''), 'GET', p)).toBe(false);
  });
});
