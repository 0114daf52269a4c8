import { download, isHttpStatusError, resultOf, type HttpStatusError } from 'rxtransfer';
import { FakeTransport } from 'rxtransfer/testing';

/** The text of a body of `bytes` served with `contentType`, through the core's in-memory sink. */
async function textOf(bytes: number[], contentType?: string, responseType: 'text' | 'json' = 'text'): Promise<unknown> {
  const fake = new FakeTransport({ onRequest: (request) => request.flush(Uint8Array.from(bytes), { headers: contentType === undefined ? {} : { 'content-type': contentType } }) });
  return (await resultOf(download('https://a.test/t', { transport: fake, responseType }))).data;
}

describe("responseType 'text': the charset of Content-Type, as a browser's XHR reads it", () => {
  it('decodes the charset the server names (ISO-8859-1, windows-1252, Shift_JIS, UTF-16)', async () => {
    expect(await textOf([0x63, 0x61, 0x66, 0xe9], 'text/plain; charset=ISO-8859-1')).toBe('café');
    // WHATWG maps the latin1 labels to windows-1252: 0x80 is the euro sign, as in a browser.
    expect(await textOf([0x80, 0x31], 'text/plain;charset="latin1"')).toBe('€1');
    expect(await textOf([0x80], 'text/html; charset=windows-1252')).toBe('€');
    // The whole range that differs from ISO-8859-1 (from Python's cp1252; the five bytes it leaves undefined map to themselves).
    const range = Array.from({ length: 32 }, (_, i) => 0x80 + i);
    expect(await textOf(range, 'text/plain; charset=cp1252')).toBe('€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ');
    expect(await textOf([0x82, 0xa0], 'text/plain; Charset=Shift_JIS')).toBe('あ');
    expect(await textOf([0x68, 0x00, 0x69, 0x00], 'text/plain; charset=utf-16le')).toBe('hi');
  });

  it("decodes x-user-defined as a browser does (ASCII as itself, 0x80-0xFF as U+F780-U+F7FF), however long the body", async () => {
    expect(await textOf([0x41, 0x80, 0xff, 0x7f], 'text/plain; charset=x-user-defined')).toBe('A\uf780\uf7ff\u007f');
    const bytes = Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff);
    const text = (await textOf(bytes, 'application/octet-stream; charset=X-User-Defined')) as string;
    expect(text.length).toBe(bytes.length);
    expect(Array.from(text, (c) => c.charCodeAt(0))).toEqual(bytes.map((b) => (b < 0x80 ? b : 0xf700 + b)));
  });

  it('is UTF-8 without a charset, with an unknown one, and for a UTF-8 body with a label that says so', async () => {
    expect(await textOf([0x63, 0x61, 0x66, 0xc3, 0xa9])).toBe('café');
    expect(await textOf([0x63, 0x61, 0x66, 0xc3, 0xa9], 'text/plain')).toBe('café');
    expect(await textOf([0x63, 0x61, 0x66, 0xc3, 0xa9], 'text/plain; charset=no-such-charset')).toBe('café');
    expect(await textOf([0x63, 0x61, 0x66, 0xc3, 0xa9], 'text/plain; charset=utf-8')).toBe('café');
    // Not a parameter to a browser's MIME parser (no spaces around `=`): ignored, as there.
    expect(await textOf([0x63, 0x61, 0x66, 0xc3, 0xa9], 'text/plain; charset = iso-8859-1')).toBe('café');
    expect(await textOf([0x63, 0x61, 0x66, 0xe9], 'text/plain; format=flowed;charset=iso-8859-1')).toBe('café');
  });

  it('lets a byte order mark override the label (the WHATWG decode algorithm)', async () => {
    expect(await textOf([0xef, 0xbb, 0xbf, 0xc3, 0xa9], 'text/plain; charset=iso-8859-1')).toBe('é');
    expect(await textOf([0xff, 0xfe, 0x68, 0x00], 'text/plain; charset=iso-8859-1')).toBe('h');
    expect(await textOf([0xfe, 0xff, 0x00, 0x68], 'text/plain')).toBe('h');
  });

  it("leaves JSON as UTF-8 whatever the label says (RFC 8259, and XHR's responseType 'json')", async () => {
    expect(await textOf([0x22, 0xc3, 0xa9, 0x22], 'application/json; charset=iso-8859-1', 'json')).toBe('é');
  });

  it("decodes the body excerpt of an HttpStatusError the same way (a server's error page in its own charset)", async () => {
    const excerptOf = async (bytes: number[], contentType?: string) => {
      const fake = new FakeTransport({ onRequest: (request) => request.flush(Uint8Array.from(bytes), { status: 404, headers: contentType === undefined ? {} : { 'content-type': contentType } }) });
      const error = await resultOf(download('https://a.test/missing', { transport: fake, responseType: 'text' })).catch((e: unknown) => e);
      expect(isHttpStatusError(error)).toBe(true);
      return (error as HttpStatusError).body;
    };
    expect(await excerptOf([0x63, 0x61, 0x66, 0xe9], 'text/html; charset=iso-8859-1')).toBe('café');
    expect(await excerptOf([0x82, 0xa0], 'text/plain; charset=Shift_JIS')).toBe('あ');
    expect(await excerptOf([0x63, 0x61, 0x66, 0xc3, 0xa9], 'text/html')).toBe('café');
  });
});
