import { join } from 'node:path';
import ts from 'typescript';

/**
 * Every export of every entry point carries a TSDoc summary (STYLE.md: "TSDoc on every export").
 * Read through the TypeScript checker, so re-exports are followed to their declarations.
 */
const ROOT = join(__dirname, '..', '..');
const ENTRIES = ['lib/index.ts', 'lib/index.node.ts', 'lib/node/index.ts', 'lib/testing/index.ts'];

/** Each export of each entry point, with the symbol it stands for (re-exports followed). */
function exportsOfEntries(): { entry: string; name: string; symbol: ts.Symbol; checker: ts.TypeChecker }[] {
  const configFile = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const program = ts.createProgram(ENTRIES.map((e) => join(ROOT, e)), { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const found: { entry: string; name: string; symbol: ts.Symbol; checker: ts.TypeChecker }[] = [];
  for (const entry of ENTRIES) {
    const source = program.getSourceFile(join(ROOT, entry));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`cannot read ${entry}`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      found.push({ entry, name: exported.getName(), symbol, checker });
    }
  }
  return found;
}

function undocumented(): string[] {
  const missing = new Set<string>();
  for (const { entry, name, symbol, checker } of exportsOfEntries()) {
    const documented = (symbol.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0) || symbol.getDocumentationComment(checker).length > 0;
    if (!documented) missing.add(`${entry}: ${name}`);
  }
  return [...missing].sort();
}

/**
 * Exports whose summary, as TypeScript (and so an editor's hover) shows it, is an `{@inheritDoc}`
 * tag: TypeScript does not resolve it, so the user reads the tag itself instead of the summary.
 */
function unresolvedInheritDoc(): string[] {
  const found = new Set<string>();
  for (const { entry, name, symbol, checker } of exportsOfEntries()) {
    const summary = ts.displayPartsToString(symbol.getDocumentationComment(checker));
    if (/\{@inheritDoc\b/i.test(summary) || summary.trim() === '') found.add(`${entry}: ${name}`);
  }
  return [...found].sort();
}

describe('TSDoc', () => {
  it('every export of rxtransfer, rxtransfer/node and rxtransfer/testing has a doc comment', () => {
    expect(undocumented()).toEqual([]);
  }, 60_000);

  it('no export shows an unresolved {@inheritDoc} or an empty summary in an editor (download and upload on Node did)', () => {
    expect(unresolvedInheritDoc()).toEqual([]);
  }, 60_000);
});
