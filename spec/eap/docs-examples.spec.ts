import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'node:assert';
import * as events from 'node:events';
import * as rxjs from 'rxjs';
import ts from 'typescript';
import * as rxtransfer from '../../lib/index.js';
import * as rxtransferNode from '../../lib/node/context-node.js';
import { docBlocks, typeCheckDocBlocks } from '../helpers/docs-runner.js';

/**
 * Runs every ```ts block of the EAP and context docs, so the examples cannot rot. Imports of
 * 'rxtransfer' resolve to the source (lib/index.ts); each block asserts what it shows.
 */
const modules: Record<string, unknown> = {
  rxtransfer,
  'rxtransfer/node': rxtransferNode,
  rxjs,
  'node:assert': assert,
  'node:events': events,
};

function blocks(file: string): { title: string; code: string }[] {
  const text = readFileSync(join(__dirname, '..', '..', 'docs', file), 'utf8');
  const found: { title: string; code: string }[] = [];
  const fence = /```ts\n([\s\S]*?)```/g;
  for (let match = fence.exec(text); match; match = fence.exec(text)) {
    const heading = text.slice(0, match.index).match(/^#+ (.*)$/gm)?.pop() ?? file;
    found.push({ title: `${file}: ${heading.replace(/^#+ /, '')} (#${found.length + 1})`, code: match[1] });
  }
  return found;
}

async function execute(code: string): Promise<void> {
  const wrapped = `export {}; async function __example() {\n${code.replace(/^import .*$/gm, '')}\n}`;
  const imports = [...code.matchAll(/^import .*$/gm)].map((m) => m[0]).join('\n');
  const output = ts.transpileModule(`${imports}\n${wrapped}\nexports.__example = __example;`, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const exports: { __example?: () => Promise<void> } = {};
  const require = (name: string): unknown => {
    if (!(name in modules)) throw new Error(`docs example imports ${name}, which the runner does not provide`);
    return modules[name];
  };
  new Function('exports', 'require', output)(exports, require);
  await exports.__example?.();
}

describe('docs examples run', () => {
  const all = [...blocks('eap.md'), ...blocks('contexts.md')];
  it('E12 C1 the docs have examples to run', () => {
    expect(blocks('eap.md').length).toBeGreaterThanOrEqual(5);
    expect(blocks('contexts.md').length).toBeGreaterThanOrEqual(5);
  });
  it.each(all.map((b) => [b.title, b.code]))('%s', async (_title, code) => {
    await execute(code);
  });
  it('the examples type-check against the public API', () => {
    expect(typeCheckDocBlocks([...docBlocks('eap.md'), ...docBlocks('contexts.md')])).toEqual([]);
  }, 60_000);
});
