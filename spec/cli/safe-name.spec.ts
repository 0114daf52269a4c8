import * as fc from 'fast-check';
import { FALLBACK_NAME, MAX_NAME_BYTES, nameFromUrl, safeBaseName, truncateName } from '../../lib/cli/safe-name.js';
import { decodeExtValue, filenameFromContentDisposition, parseHeaderParams } from '../../lib/cli/content-disposition.js';

describe('safeBaseName: names from the network reduced to one safe segment', () => {
  it.each([
    ['../../x', 'x'],
    ['/etc/passwd', 'passwd'],
    ['..\\x', 'x'],
    ['..\\..\\windows\\system32\\evil.dll', 'evil.dll'],
    ['C:\\evil.exe', 'evil.exe'],
    ['C:evil.exe', 'evil.exe'],
    ['report.pdf', 'report.pdf'],
    ['.bashrc', 'bashrc'],
    ['a\u0001b\nc\u007f.txt', 'abc.txt'],
    ['\u001b[31mred\u001b[0m.txt', '[31mred[0m.txt'],
    ['invoice\u202Etxt.exe', 'invoicetxt.exe'],
    ['name.  ', 'name'],
    ['ab:c*d?.txt', 'ab_c_d_.txt'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['naïve café.txt', 'naïve café.txt'],
    ['CON .txt', '_CON .txt'],
    ['conin$', '_conin$'],
    ['CONOUT$.log', '_CONOUT$.log'],
    ['a\u2060b\u061Cc\u180E.txt', 'abc.txt'],
    ['tool.bin.partial', 'tool.bin.partial_'],
    ['tool.bin.partial.json', 'tool.bin.partial.json_'],
    ['tool.bin.PARTIAL.LOCK', 'tool.bin.PARTIAL.LOCK_'],
    ['x.partial.lock.abcd1234', 'x.partial.lock.abcd1234_'],
    ['x.partial.lock.stale-abcd1234', 'x.partial.lock.stale-abcd1234_'],
    ['x.partial.j\u017Fon', 'x.partial.j\u017Fon_'],
    ['x.part\u0131al', 'x.part\u0131al_'],
    ['partial', 'partial'],
    ['notes.partially', 'notes.partially'],
    // Cut to length, these would be device names: checked after the cut.
    [`con${' '.repeat(250)}x`, '_con'],
    [`nul${' '.repeat(250)}.abcdefghijklmnopq`, '_nul'],
  ])('%j → %j', (raw, expected) => {
    expect(safeBaseName(raw)).toBe(expected);
  });

  it.each(['', '.', '..', '../', '/', '\\', '...', '  ', '\u0000\u0001', '../..'])('%j leaves nothing usable', (raw) => {
    expect(safeBaseName(raw)).toBeUndefined();
  });

  it('normalizes once invisible characters are removed: no decomposed look-alike of a composed name', () => {
    // e + ZERO WIDTH SPACE + COMBINING ACUTE: without the space, é; it must be the composed é.
    expect(safeBaseName('e\u200b\u0301.txt')).toBe('\u00e9.txt');
    expect(safeBaseName('cafe\u202e\u0301')).toBe('caf\u00e9');
    fc.assert(
      fc.property(fc.array(fc.constantFrom('e', 'a', '.', '/', ':', ' ', '\u0301', '\u0308', '\u200b', '\u202e', '\u0000', '\ufeff', 'con'), { maxLength: 40 }), (parts) => {
        const name = safeBaseName(parts.join(''));
        if (name !== undefined) expect(name).toBe(name.normalize('NFC'));
      }),
      { numRuns: 1000 },
    );
  });

  it('bounds the length in UTF-8 bytes and keeps the extension', () => {
    const name = safeBaseName(`${'é'.repeat(300)}.tar.gz`)!;
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(name.endsWith('.gz')).toBe(true);
    expect(truncateName('abcdef.txt', 8)).toBe('abcd.txt');
    // Shortened, then checked: never ending in a dot or a space, never a side file's name.
    expect(safeBaseName(`${'a'.repeat(199)}. tail with no short extension`)).toBe('a'.repeat(199));
    const side = safeBaseName(`${'b'.repeat(300)}.partial`)!;
    expect(side.endsWith('_')).toBe(true);
    expect(Buffer.byteLength(side)).toBeLessThanOrEqual(MAX_NAME_BYTES);
  });

  it('property: any text gives a single, non-hidden, bounded segment or nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (raw) => {
        const name = safeBaseName(raw);
        if (name === undefined) return;
        expect(name.length).toBeGreaterThan(0);
        // eslint-disable-next-line no-control-regex -- no control character may survive
        expect(name).not.toMatch(/[/\\\u0000-\u001f\u007f]/);
        expect(name.startsWith('.')).toBe(false);
        expect(name).not.toBe('..');
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
        expect(name).not.toMatch(/[\s.]$/);
        expect(name).not.toMatch(/\.partial(\.json|\.lock(\.(stale-)?[a-z0-9]{8})?)?$/i);
      }),
      { numRuns: 500 },
    );
  });
});

it('property: a name is never a Windows device name, however long the text after one', () => {
  fc.assert(
    fc.property(fc.constantFrom('con', 'PRN', 'aux', 'Nul', 'com1', 'LPT9', 'conin$', 'CONOUT$', 'com\u00b9'), fc.nat({ max: 300 }), fc.string({ maxLength: 60 }), (device, spaces, tail) => {
      const name = safeBaseName(device + ' '.repeat(spaces) + tail);
      if (name === undefined) return;
      expect(name).not.toMatch(/^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$)\s*(\..*)?$/i);
    }),
    { numRuns: 500 },
  );
});

it('property: a name ending like a side file (`.partial`, `.partial.json`, `.partial.lock…`) is never one', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 240 }), fc.constantFrom('.partial', '.partial.json', '.partial.lock', '.PARTIAL.Json', '.partial.lock.ab12cd34', '.partial.lock.stale-0123abcd', '.partial. ', '.partial.j\u017Fon', '.part\u0131al.lock', '.partial\u200b'), (stem, suffix) => {
      const name = safeBaseName(stem + suffix);
      if (name === undefined) return;
      expect(name).not.toMatch(/\.partial(\.json|\.lock(\.(stale-)?[a-z0-9]{8})?)?$/i);
      expect(name.toUpperCase()).not.toMatch(/\.PARTIAL(\.JSON|\.LOCK(\.(STALE-)?[A-Z0-9]{8})?)?$/);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    }),
    { numRuns: 500 },
  );
});

describe('nameFromUrl', () => {
  it.each([
    ['http://h/files/report.pdf?x=1', 'report.pdf'],
    ['http://h/a/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', 'passwd'],
    ['http://h/dir/', undefined],
    ['http://h/', undefined],
    ['http://h/na%C3%AFve.txt', 'naïve.txt'],
    ['http://h/bad%zz.bin', 'bad%zz.bin'],
    ['not a url', undefined],
  ])('%s → %j', (url, expected) => {
    expect(nameFromUrl(url)).toBe(expected);
  });

  it('falls back to a fixed name', () => {
    expect(nameFromUrl('http://h/') ?? FALLBACK_NAME).toBe('download');
  });
});

describe('Content-Disposition', () => {
  it.each([
    ['attachment; filename="report.pdf"', 'report.pdf'],
    ['attachment; filename=report.pdf', 'report.pdf'],
    ['attachment;filename="a \\"quoted\\" name.txt"', 'a "quoted" name.txt'],
    ['attachment; filename="fallback.txt"; filename*=UTF-8\'\'na%C3%AFve%20caf%C3%A9.txt', 'naïve café.txt'],
    ["attachment; filename*=iso-8859-1'en'%A3%20rates.txt", '£ rates.txt'],
    ['attachment; filename="x.txt"; filename*=bogus', 'x.txt'],
    ['inline', undefined],
    ['attachment; filename=""', ''],
    ['attachment; FILENAME="upper.txt"', 'upper.txt'],
    ['attachment; size=3; filename="second.txt"', 'second.txt'],
    ["attachment; filename=\"good.txt\"; filename*=UTF-8''", 'good.txt'],
    ["attachment; filename*=UTF-8''; filename=\"good.txt\"", 'good.txt'],
    ["attachment; filename=\"good.txt\"; filename*=UTF-8''%2E%2E", 'good.txt'],
    ["attachment; filename*=UTF-8''", ''],
  ])('%s → %j', (header, expected) => {
    expect(filenameFromContentDisposition(header)).toBe(expected);
  });

  it.each([
    ['two headers naming two files (joined with ", ")', 'attachment; filename=a.txt, attachment; filename=b.txt', undefined],
    ['two headers naming two files, quoted', 'attachment; filename="a.txt", inline; filename="b.txt"', undefined],
    ['two headers, one naming none', 'inline, attachment; filename="b.txt"', undefined],
    ['two headers naming the same file', 'attachment; filename="a.txt", attachment; filename="a.txt"', 'a.txt'],
    ['two headers naming the same file, one by filename*', "attachment; filename*=UTF-8''a.txt, attachment; filename=a.txt", 'a.txt'],
    ['a comma inside a quoted name', 'attachment; filename="a, attachment; filename=b.txt"', 'a, attachment; filename=b.txt'],
    ['a comma in an unquoted name (lenient)', 'attachment; filename=a, b.txt', 'a, b.txt'],
  ])('duplicate headers: %s', (_label, header, expected) => {
    expect(filenameFromContentDisposition(header)).toBe(expected);
  });

  it('reads UTF-8 sent raw in a plain filename (node decodes header bytes as Latin-1)', () => {
    const raw = Buffer.from('attachment; filename="naïve.txt"', 'utf8').toString('latin1');
    expect(filenameFromContentDisposition(raw)).toBe('naïve.txt');
  });

  it('never throws on malformed headers', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (header) => {
      filenameFromContentDisposition(header);
      parseHeaderParams(header);
      decodeExtValue(header);
    }));
  });

  it('names end up safe once sanitized', () => {
    expect(safeBaseName(filenameFromContentDisposition("attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd"))).toBe('passwd');
    expect(safeBaseName(filenameFromContentDisposition("attachment; filename*=UTF-8''a%01b%0D%0Ac.txt"))).toBe('abc.txt');
    expect(safeBaseName(filenameFromContentDisposition('attachment; filename=""'))).toBeUndefined();
  });
});
