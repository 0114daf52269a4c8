import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Every type a public signature names can be named by its users: a type that an exported
 * function takes or returns, or that an exported interface or class uses, is exported from one of
 * the entry points too (`import type { X } from 'rxtransfer'` works, no `ReturnType<…>` needed).
 * Read through the TypeScript checker from the entry points, as tsdoc-coverage.spec.ts does.
 */
const ROOT = join(__dirname, '..', '..');
const LIB = join(ROOT, 'lib');
const ENTRIES = ['lib/index.ts', 'lib/index.node.ts', 'lib/node/index.ts', 'lib/testing/index.ts'];

function isHidden(node: ts.Node): boolean {
  const flags = ts.getCombinedModifierFlags(node as ts.Declaration);
  if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return true;
  const name = (node as { name?: ts.Node }).name;
  return name !== undefined && ts.isPrivateIdentifier(name);
}

/** Types declared under lib/ that a public declaration refers to and no entry point exports. */
function unexportedPublicTypes(): string[] {
  const configFile = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, ROOT);
  const program = ts.createProgram(ENTRIES.map((e) => join(ROOT, e)), { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const resolve = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

  // By name: what users can write. `TransferSession` is the session interface through a type alias.
  const exported = new Set<string>();
  const roots: ts.Symbol[] = [];
  for (const entry of ENTRIES) {
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(join(ROOT, entry))!)!;
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      exported.add(symbol.getName());
      roots.push(resolve(symbol));
    }
  }

  const missing = new Map<string, string>();
  const seen = new Set<ts.Node>();
  const visit = (declaration: ts.Node, owner: string): void => {
    if (seen.has(declaration)) return;
    seen.add(declaration);
    const walk = (node: ts.Node): void => {
      if (isHidden(node)) return;
      // Bodies and initializers are implementation, not signature (an annotated one is read by its type).
      if (ts.isBlock(node)) return;
      if ((ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isParameter(node)) && node.type) {
        walk(node.type);
        return;
      }
      const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isExpressionWithTypeArguments(node) ? node.expression : ts.isTypeQueryNode(node) ? node.exprName : undefined;
      if (name) {
        const found = checker.getSymbolAtLocation(name);
        const symbol = found && resolve(found);
        for (const d of symbol?.declarations ?? []) {
          if (ts.isTypeParameterDeclaration(d) || !d.getSourceFile().fileName.startsWith(LIB)) continue;
          if (!exported.has(symbol!.getName())) missing.set(symbol!.getName(), `${owner} (${relative(ROOT, d.getSourceFile().fileName)})`);
          visit(d, symbol!.getName());
        }
      }
      ts.forEachChild(node, walk);
    };
    ts.forEachChild(declaration, walk);
  };
  for (const symbol of roots) for (const d of symbol.declarations ?? []) if (d.getSourceFile().fileName.startsWith(LIB)) visit(d, symbol.getName());
  return [...missing].map(([name, where]) => `${name} <- ${where}`).sort();
}

describe('public types', () => {
  it('every type a public signature uses is exported from an entry point (BoundTask, LockLease were not)', () => {
    expect(unexportedPublicTypes()).toEqual([]);
  }, 60_000);
});
