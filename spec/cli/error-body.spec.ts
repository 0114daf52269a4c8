import { errorBody, sentCredentials, withoutCredentials } from '../../lib/cli/error-body';
import { HttpStatusError } from '../../lib/internal/core/errors/http-status-error';

/** The credentials a command sends, as `get` and `put` find them. */
const sent = (url: string, headers: Record<string, string> = {}) => sentCredentials(new URL(url), headers);

describe("the server's reason for an HTTP error (get, put)", () => {
  it('finds every credential sent, in the forms a server echoes: -H values and their parts, the URL password and its Basic, secret query values', () => {
    const secrets = sent('http://alice:p%40ss-word@h/x?access_token=a%2Fb-tok&page=20', {
      Authorization: `Basic ${Buffer.from('bob:hunter22').toString('base64')}`,
      cookie: 'sid=cookie-val; lang=en',
      'X-Api-Key': 'key-value',
      Accept: 'application/json',
    });
    expect(secrets).toEqual(expect.arrayContaining(['bob:hunter22', 'hunter22', 'cookie-val', 'key-value', 'p%40ss-word', 'p@ss-word', 'alice', Buffer.from('alice:p@ss-word').toString('base64'), 'a%2Fb-tok', 'a/b-tok']));
    // Neither an ordinary header nor an ordinary query value, nor pieces too short to be told from text.
    expect(secrets).not.toEqual(expect.arrayContaining(['application/json']));
    expect(secrets.some((s) => s === '20' || s === 'en')).toBe(false);
  });

  it('removes them as sent, percent-encoded, JSON-escaped (PHP escapes / as \\/), and cut at the end of the excerpt', () => {
    const secrets = ['tok/en+s3cret'];
    expect(withoutCredentials('a tok/en+s3cret b', secrets)).toBe('a REDACTED b');
    expect(withoutCredentials('q=tok%2Fen%2Bs3cret', secrets)).toBe('q=REDACTED');
    expect(withoutCredentials('{"t":"tok\\/en+s3cret"}', secrets)).toBe('{"t":"REDACTED"}');
    expect(withoutCredentials('... "Bearer tok/en+s3', secrets)).toBe('... "Bearer REDACTED');
    // The library's redaction of URLs a message quotes applies too.
    expect(withoutCredentials('see https://u:pw@h/x?sig=abc', [])).toBe('see https://h/x?sig=REDACTED');
  });

  it('finds a cookie as a server reads it (unquoted, percent-decoded) and a -H Basic pair in UTF-8 as well as Latin-1', () => {
    const secrets = sent('http://h/x', { Cookie: 'sid=tok%2Fen%3D%3D; pref="quoted-secret"', Authorization: `Basic ${Buffer.from('jürgen:pässwort').toString('base64')}` });
    expect(secrets).toEqual(expect.arrayContaining(['tok/en==', 'quoted-secret', 'jürgen', 'pässwort']));
    // Express's cookie-parser, Go's net/http and Python's http.cookies echo them so.
    expect(withoutCredentials('{"cookies":{"sid":"tok/en=="}} pref=quoted-secret', secrets)).toBe('{"cookies":{"sid":"REDACTED"}} pref=REDACTED');
    expect(withoutCredentials('no such user: jürgen', secrets)).toBe('no such user: REDACTED');
  });

  it('removes a credential however it is percent-encoded (lower-case hex, ~ or ! encoded, a space as +), also cut at the end', () => {
    const secrets = ['abc/def+gh~i!j k'];
    expect(withoutCredentials('a=abc%2fdef%2bgh~i!j%20k;', secrets)).toBe('a=REDACTED;');
    expect(withoutCredentials('a=abc%2Fdef%2Bgh%7Ei%21j+k;', secrets)).toBe('a=REDACTED;');
    expect(withoutCredentials('a=abc/def%2Bgh%7ei!j k;', secrets)).toBe('a=REDACTED;');
    expect(withoutCredentials('cut: abc%2fdef%2', secrets)).toBe('cut: REDACTED');
    // Python's json.dumps escapes what is not ASCII.
    expect(withoutCredentials('{"p": "p\\u00e4sswort"}', ['pässwort'])).toBe('{"p": "REDACTED"}');
  });

  it('is shown only for a status >= 400 with a text body; credentials are removed before the excerpt is cut', () => {
    const error = (body: string, status = 403) => new HttpStatusError(status, {}, body);
    expect(errorBody(error('{"message":"expired"}'), [])).toBe('{"message":"expired"}');
    expect(errorBody(error('moved', 302), [])).toBeUndefined();
    expect(errorBody(new Error('x'), [])).toBeUndefined();
    expect(errorBody(error('\u0000\u0001PK'), [])).toBeUndefined();
    const secret = 'a'.repeat(290) + 'zz-s3cret-zz';
    expect(errorBody(error(`${'x'.repeat(295)}${secret}`), [secret])).toBe(`${'x'.repeat(295)}REDAC…`);
  });
});
