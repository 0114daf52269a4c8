import { join } from 'node:path';
import ts from 'typescript';

describe('transfer types', () => {
  it('the event union narrows by type, and results follow responseType (transfer-types.check.ts)', () => {
    const root = join(__dirname, '..', '..');
    const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), (f) => ts.sys.readFile(f));
    const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
    const program = ts.createProgram([join(__dirname, 'transfer-types.check.ts')], { ...parsed.options, noEmit: true });
    const where = ts.getPreEmitDiagnostics(program).map((d) => {
      const line = d.file ? ts.getLineAndCharacterOfPosition(d.file, d.start ?? 0).line + 1 : 0;
      return `line ${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    expect(where).toEqual([]);
  });
});
