import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Runs the ```ts blocks of a page in docs/ so that its examples cannot rot (the habit of
 * fast-check's Docs.md.spec.ts). Each block is one example: its imports are resolved from a
 * table the spec gives (so `'rxtransfer'` can mean the source under lib/), `node:` built-ins
 * are the real ones, and the rest of the block runs inside an async function, so it may use
 * top-level `await`. Globals the spec provides (such as a loopback server's `BASE_URL`) are in
 * scope as plain names. Blocks can also be type-checked against the real declarations.
 */

/** The repository root. */
export const REPO_ROOT = resolve(__dirname, '..', '..');

/** One ```ts block of a docs page, titled by the nearest heading above it. */
export interface DocBlock {
  readonly file: string;
  readonly title: string;
  readonly code: string;
  /** 1-based line of the block's first code line in the page. */
  readonly line: number;
}

/** Every ```ts block of `docs/<file>`, in order (`'../README.md'` reads the README). */
export function docBlocks(file: string): DocBlock[] {
  const text = readFileSync(join(REPO_ROOT, 'docs', file), 'utf8');
  const found: DocBlock[] = [];
  const fence = /^```ts\n([\s\S]*?)^```/gm;
  for (let match = fence.exec(text); match; match = fence.exec(text)) {
    const before = text.slice(0, match.index);
    const heading = before.match(/^#+ (.*)$/gm)?.pop()?.replace(/^#+ /, '') ?? file;
    const line = before.split('\n').length + 1;
    found.push({ file, title: `${file}: ${heading} (#${found.length + 1}, line ${line})`, code: match[1]!, line });
  }
  return found;
}

/** Every ```ts block inside the TSDoc comments of the `.ts` files under `lib/`. */
export function tsdocBlocks(dir = join(REPO_ROOT, 'lib')): DocBlock[] {
  const found: DocBlock[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      found.push(...tsdocBlocks(path));
      continue;
    }
    if (!entry.name.endsWith('.ts')) continue;
    const text = readFileSync(path, 'utf8');
    const fence = /^[ \t]*\* ```ts\n([\s\S]*?)^[ \t]*\* ```/gm;
    for (let match = fence.exec(text); match; match = fence.exec(text)) {
      const line = text.slice(0, match.index).split('\n').length + 1;
      const code = match[1]!.replace(/^[ \t]*\* ?/gm, '');
      const file = relative(REPO_ROOT, path);
      found.push({ file, title: `${file}:${line}`, code, line });
    }
  }
  return found;
}

/** What an example may import, and the globals it sees. */
export interface RunOptions {
  /** Module specifier → module object. `node:` built-ins need not be listed. */
  readonly modules: Readonly<Record<string, unknown>>;
  /** Names in scope for the example, such as `BASE_URL`. */
  readonly globals?: Readonly<Record<string, unknown>>;
}

const nodeRequire = createRequire(__filename);

/** Splits a block into its import declarations and the statements that follow. */
function splitImports(code: string): { imports: string; body: string } {
  const source = ts.createSourceFile('example.ts', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const imports: string[] = [];
  const body: string[] = [];
  for (const statement of source.statements) {
    const text = code.slice(statement.getFullStart(), statement.getEnd());
    (ts.isImportDeclaration(statement) ? imports : body).push(text);
  }
  return { imports: imports.join('\n'), body: body.join('') };
}

/** Runs one example; resolves when it finished, rejects with what it threw. */
export async function runDocExample(code: string, options: RunOptions): Promise<void> {
  const { imports, body } = splitImports(code);
  const globals = options.globals ?? {};
  const source = `${imports}\nexport {};\nexports.__example = async function __example() {\n${body}\n};`;
  const output = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const exports: { __example?: () => Promise<void> } = {};
  const require = (name: string): unknown => {
    if (name in options.modules) return options.modules[name];
    if (name.startsWith('node:')) return nodeRequire(name);
    throw new Error(`docs example imports ${name}, which the runner does not provide`);
  };
  const names = Object.keys(globals);
  new Function('exports', 'require', ...names, output)(exports, require, ...names.map((n) => globals[n]));
  await exports.__example?.();
}

/**
 * Type-checks blocks as users would compile them: `'rxtransfer'`, `'rxtransfer/node'` and
 * `'rxtransfer/testing'` resolve through tsconfig.json's `paths` to lib/. `declarations` is a
 * .d.ts text for the runner's globals. Returns one readable line per diagnostic.
 */
export function typeCheckDocBlocks(blocks: readonly DocBlock[], declarations = ''): string[] {
  const configPath = join(REPO_ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath));
  const virtualDir = join(REPO_ROOT, 'spec', 'docs', '.examples');
  const files = new Map<string, string>();
  const globalsFile = join(virtualDir, 'globals.d.ts');
  files.set(globalsFile, declarations);
  const origin = new Map<string, DocBlock>();
  blocks.forEach((block, i) => {
    const name = join(virtualDir, `${block.file.replace(/\W/g, '_')}_${i + 1}.ts`);
    files.set(name, `${block.code}\nexport {};\n`);
    origin.set(name, block);
  });
  const host = ts.createCompilerHost(parsed.options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (p) => files.get(p) ?? readFile(p);
  host.fileExists = (p) => files.has(p) || fileExists(p);
  host.getSourceFile = (p, language, onError, create) => {
    const text = files.get(p);
    return text === undefined ? getSourceFile(p, language, onError, create) : ts.createSourceFile(p, text, language, true);
  };
  const program = ts.createProgram([...files.keys()], { ...parsed.options, noEmit: true }, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || files.has(d.file.fileName))
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return message;
      const block = origin.get(d.file.fileName);
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      if (!block) return `${d.file.fileName}: ${message}`;
      const page = block.file.startsWith('lib/') ? block.file : join('docs', block.file);
      return `${page}:${block.line + line}: ${message}`;
    });
}
