import { join } from 'node:path';
import ts from 'typescript';

/**
 * Every export of every entry point carries a TSDoc summary (STYLE.md: "TSDoc on every export").
 * Read through the TypeScript checker, so re-exports are followed to their declarations.
 */
const ROOT = join(__dirname, '..', '..');
const ENTRIES = ['lib/index.ts', 'lib/index.node.ts', 'lib/node/index.ts', 'lib/testing/index.ts'];

function undocumented(): string[] {
  const configFile = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const program = ts.createProgram(ENTRIES.map((e) => join(ROOT, e)), { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const missing = new Set<string>();
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(join(ROOT, entry));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`cannot read ${entry}`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const documented = (symbol.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0) || symbol.getDocumentationComment(checker).length > 0;
      if (!documented) missing.add(`${entry}: ${exported.getName()}`);
    }
  }
  return [...missing].sort();
}

describe('TSDoc', () => {
  it('every export of rxtransfer, rxtransfer/node and rxtransfer/testing has a doc comment', () => {
    expect(undocumented()).toEqual([]);
  }, 60_000);
});
