import { join } from 'node:path';
import ts from 'typescript';

describe('EAP types', () => {
  it('E2 e.result is typed without a cast, and misuse fails to compile (eap-types.check.ts)', () => {
    const root = join(__dirname, '..', '..');
    const configFile = ts.readConfigFile(join(root, 'tsconfig.json'), (f) => ts.sys.readFile(f));
    const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, root);
    const program = ts.createProgram([join(__dirname, 'eap-types.check.ts')], { ...parsed.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    // An unused @ts-expect-error is itself an error, so a type that got looser fails here too.
    expect(diagnostics).toEqual([]);
  });
});
