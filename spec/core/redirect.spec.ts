import { nextHop, REDIRECT_STATUSES, type Hop } from '../../lib/internal/core/redirect.js';

const FIRST = 'https://a.test';
const start: Hop = {
  url: 'https://a.test/dir/file?x=1',
  method: 'POST',
  headers: { Authorization: 'Bearer t', cookie: 'c=1', 'Proxy-Authorization': 'Basic p', 'Content-Type': 'text/plain', 'Content-Length': '4', 'X-Keep': 'k' },
  withBody: true,
};

function hop(status: number, location: string, from: Hop = start): Hop {
  const next = nextHop(from, FIRST, status, location);
  if (typeof next === 'string') throw new Error(next);
  return next;
}

describe('nextHop (redirect rules, G11)', () => {
  it('knows the redirect statuses', () => {
    expect([...REDIRECT_STATUSES].sort()).toEqual([301, 302, 303, 307, 308]);
  });

  it('keeps credentials on the same origin', () => {
    const next = hop(307, '/other');
    expect(next.headers).toMatchObject({ Authorization: 'Bearer t', cookie: 'c=1', 'Proxy-Authorization': 'Basic p', 'X-Keep': 'k' });
    expect(next.url).toBe('https://a.test/other');
  });

  it('drops Authorization, Cookie and Proxy-Authorization (any case) when the redirect leaves the origin', () => {
    for (const target of ['https://b.test/x', 'https://a.test:8443/x', 'https://sub.a.test/x']) {
      const next = hop(307, target);
      expect(Object.keys(next.headers).map((h) => h.toLowerCase())).not.toEqual(expect.arrayContaining(['authorization']));
      expect(next.headers).not.toHaveProperty('cookie');
      expect(next.headers).not.toHaveProperty('Proxy-Authorization');
      expect(next.headers).toMatchObject({ 'X-Keep': 'k' });
    }
  });

  it('keeps them dropped when a later hop comes back to the first origin', () => {
    const away = hop(307, 'https://b.test/x');
    const back = hop(307, 'https://a.test/again', away);
    expect(back.headers).not.toHaveProperty('Authorization');
    expect(back.headers).not.toHaveProperty('cookie');
  });

  it('drops them on every later hop once away, also same-origin hops on the foreign host', () => {
    const away = hop(302, 'https://b.test/x', { ...start, method: 'GET', withBody: false });
    const further = nextHop({ ...away, headers: { ...away.headers, Authorization: 'added-later' } }, FIRST, 302, '/y');
    expect(typeof further !== 'string' && further.headers).not.toHaveProperty('Authorization');
  });

  it('turns 303 into a GET without body or body headers', () => {
    const next = hop(303, '/see-other');
    expect(next.method).toBe('GET');
    expect(next.withBody).toBe(false);
    expect(next.headers).not.toHaveProperty('Content-Type');
    expect(next.headers).not.toHaveProperty('Content-Length');
    expect(next.headers).toMatchObject({ 'X-Keep': 'k', Authorization: 'Bearer t' });
    expect(hop(303, '/s', { ...start, method: 'PUT' }).method).toBe('GET');
    expect(hop(303, '/s', { ...start, method: 'HEAD', withBody: false }).method).toBe('HEAD');
  });

  it.each([301, 302])('turns %i after a POST into a GET, keeps other methods', (status) => {
    const next = hop(status, '/moved');
    expect([next.method, next.withBody]).toEqual(['GET', false]);
    expect(next.headers).not.toHaveProperty('Content-Type');
    const put = hop(status, '/moved', { ...start, method: 'PUT' });
    expect([put.method, put.withBody]).toEqual(['PUT', true]);
    expect(put.headers).toHaveProperty('Content-Type');
  });

  it.each([307, 308])('keeps the method and body on %i', (status) => {
    const next = hop(status, '/keep');
    expect([next.method, next.withBody]).toEqual(['POST', true]);
    expect(next.headers).toMatchObject({ 'Content-Type': 'text/plain', 'Content-Length': '4' });
  });

  it('resolves relative locations against the current URL and drops the fragment', () => {
    expect(hop(302, 'next?y=2').url).toBe('https://a.test/dir/next?y=2');
    expect(hop(302, '../up').url).toBe('https://a.test/up');
    expect(hop(302, '//b.test/p').url).toBe('https://b.test/p');
    expect(hop(302, '/p#frag').url).toBe('https://a.test/p');
  });

  it.each(['file:///etc/passwd', 'ftp://a.test/x', 'data:text/plain,hi', 'javascript:alert(1)'])('refuses a redirect to %s', (location) => {
    const next = nextHop(start, FIRST, 302, location);
    expect(typeof next).toBe('string');
    expect(next).toMatch(/refused redirect to a \w+: URL/);
  });

  it('refuses https to http, allows http to https and http to http', () => {
    expect(nextHop(start, FIRST, 302, 'http://a.test/x')).toBe('refused redirect from https to http');
    const plain: Hop = { ...start, url: 'http://a.test/x' };
    expect(typeof nextHop(plain, 'http://a.test', 302, 'https://a.test/y')).toBe('object');
    expect(typeof nextHop(plain, 'http://a.test', 302, 'http://b.test/y')).toBe('object');
  });

  it('refuses an unparsable location with a bounded message', () => {
    const next = nextHop(start, FIRST, 302, 'http://[bad' + 'x'.repeat(500));
    expect(next).toMatch(/^redirect to an invalid location/);
    expect((next as string).length).toBeLessThan(200);
  });

  it('G11 never quotes credentials from an unparsable location', () => {
    const next = nextHop(start, FIRST, 302, 'https://svc:p@ss-SECRET@[bad/x?token=TOKEN-SECRET');
    expect(next).toMatch(/^redirect to an invalid location "https:\/\//);
    expect(next).not.toMatch(/SECRET/);
  });

  it.each([
    // A space (a header value may hold one) ends what reads as a URL in a message, not the location.
    'https://svc:pass SECRET@bad host/x',
    'https://bad host/x?token=TOKEN-SECRET',
    'https://svc:pass@bad host/x?sig=SIG-SECRET#access_token=SECRET',
    // No `//`: a special scheme reads the userinfo all the same.
    'http:svc:SECRET@bad host/x',
  ])('G11 never quotes credentials or secret query values from an unparsable location with a space: %s', (location) => {
    const next = nextHop(start, FIRST, 302, location);
    expect(next).toMatch(/^redirect to an invalid location "https?:(\/\/)?bad /);
    expect(next).not.toMatch(/SECRET/);
  });
});
