/**
 * The platform-neutral entry stays Node-free in a browser bundle, and the package's `exports` map
 * sends browsers to it (Node, through the `node` condition, gets `index.node`).
 * Bundles are built in memory with esbuild (`write: false`).
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { builtinModules } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');

const NODE_BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '').split('/')[0]!));
const isBuiltin = (spec: string): boolean => spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0]!);

/** Imports of Node built-ins, recorded and left external (so the bundle builds and we can report them). */
function recordBuiltins(seen: string[]): Plugin {
  return {
    name: 'record-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === 'entry-point' || !isBuiltin(args.path)) return undefined;
        seen.push(`${args.path} <- ${args.importer.replace(root + '/', '')}`);
        return { path: args.path, external: true };
      });
    },
  };
}

interface BrowserBundle {
  text: string;
  inputs: string[];
  builtins: string[];
  metafile: Metafile;
}

async function bundleForBrowser(entry: string, absWorkingDir = root): Promise<BrowserBundle> {
  const builtins: string[] = [];
  const result = await build({
    entryPoints: [entry],
    absWorkingDir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [recordBuiltins(builtins)],
  });
  return { text: result.outputFiles.map((f) => f.text).join('\n'), inputs: Object.keys(result.metafile.inputs), builtins, metafile: result.metafile };
}

/** Node built-ins an output refers to: `require("fs")`, `from "node:path"`, `import("http")`… */
function builtinReferences(text: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\bimport\s*["']([^"']+)["']/g,
  ];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) if (isBuiltin(match[1]!)) found.add(match[1]!);
  }
  for (const match of text.matchAll(/["'](node:[a-z_/]+)["']/g)) found.add(match[1]!);
  return [...found].sort();
}

const NODE_ONLY_INPUTS = [/^lib\/internal\/node\//, /^lib\/node\//, /^lib\/index\.node\.ts$/, /axios\/lib\/adapters\/http\.js$/, /axios\/dist\/node\//, /axios\/lib\/platform\/node\//];

describe('the browser bundle of the neutral entry', () => {
  let neutral: BrowserBundle;
  let testing: BrowserBundle;
  let nodeEntry: BrowserBundle;

  beforeAll(async () => {
    [neutral, testing, nodeEntry] = await Promise.all([
      bundleForBrowser('lib/index.ts'),
      bundleForBrowser('lib/testing/index.ts'),
      bundleForBrowser('lib/index.node.ts'),
    ]);
  });

  it('lib/index.ts imports no Node built-in (fs, path, http, https, stream, zlib, node:*)', () => {
    expect(neutral.builtins).toEqual([]);
    expect(neutral.inputs.filter((i) => i.startsWith('node:') || NODE_ONLY_INPUTS.some((p) => p.test(i)))).toEqual([]);
    expect(builtinReferences(neutral.text)).toEqual([]);
  });

  it('lib/index.ts bundles the core, the browser transport and axios\' XHR adapter', () => {
    expect(neutral.inputs).toEqual(expect.arrayContaining(['lib/internal/core/transfer.ts', 'lib/internal/browser/axios-xhr-transport.ts']));
    expect(neutral.inputs.some((i) => /axios\/lib\/adapters\/xhr\.js$/.test(i))).toBe(true);
    expect(neutral.text).toContain('axios-xhr');
  });

  it('lib/testing/index.ts (FakeTransport, grammar checker) is Node-free too', () => {
    expect(testing.builtins).toEqual([]);
    expect(testing.inputs.filter((i) => NODE_ONLY_INPUTS.some((p) => p.test(i)))).toEqual([]);
    expect(builtinReferences(testing.text)).toEqual([]);
  });

  it('lib/index.node.ts is not browser material: it pulls Node built-ins (the checks above do detect them)', () => {
    expect(nodeEntry.builtins.length).toBeGreaterThan(0);
    const names = new Set(nodeEntry.builtins.map((b) => b.split(' <- ')[0]!.replace(/^node:/, '').split('/')[0]));
    expect([...names]).toEqual(expect.arrayContaining(['fs', 'http', 'stream']));
    expect(builtinReferences(nodeEntry.text).length).toBeGreaterThan(0);
    expect(nodeEntry.inputs.some((i) => /^lib\/internal\/node\//.test(i))).toBe(true);
  });
});

describe('the exports map routes each platform to its entry', () => {
  // A stand-in package with the real package.json and a marker module at every target, so
  // esbuild's own exports-map resolution shows which file each platform and format would load.
  let dir: string;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxtransfer-exports-'));
    const pkgDir = join(dir, 'node_modules', 'rxtransfer');
    mkdirSync(pkgDir, { recursive: true });
    writeFileSync(join(pkgDir, 'package.json'), JSON.stringify(pkg));
    const targets = new Set<string>();
    const walk = (v: unknown): void => {
      if (typeof v === 'string') targets.add(v);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(pkg.exports);
    for (const target of targets) {
      if (!/\.js$/.test(target)) continue;
      const file = join(pkgDir, target);
      mkdirSync(dirname(file), { recursive: true });
      const marker = target.replace(/^\.\/dist\//, '');
      writeFileSync(file, target.includes('/cjs/') ? `exports.entry = ${JSON.stringify(marker)};\n` : `export const entry = ${JSON.stringify(marker)};\n`);
    }
    writeFileSync(join(dir, 'import.mjs'), `import { entry } from 'rxtransfer'; import { entry as t } from 'rxtransfer/testing'; console.log(entry, t);\n`);
    writeFileSync(join(dir, 'require.cjs'), `const { entry } = require('rxtransfer'); console.log(entry);\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function entryFor(platform: 'browser' | 'node', file: string): Promise<string[]> {
    const result = await build({ entryPoints: [file], absWorkingDir: dir, bundle: true, platform, write: false, metafile: true, logLevel: 'silent' });
    return Object.keys(result.metafile.inputs).filter((i) => i.startsWith('node_modules/rxtransfer/dist/')).map((i) => i.replace('node_modules/rxtransfer/dist/', '')).sort();
  }

  it('a browser bundler gets the neutral index, never index.node', async () => {
    expect(await entryFor('browser', 'import.mjs')).toEqual(['esm/index.js', 'esm/testing/index.js']);
    expect(await entryFor('browser', 'require.cjs')).toEqual(['cjs/index.js']);
  });

  it('Node (the `node` condition) gets index.node, as ESM and as CommonJS', async () => {
    expect(await entryFor('node', 'import.mjs')).toEqual(['esm/index.node.js', 'esm/testing/index.js']);
    expect(await entryFor('node', 'require.cjs')).toEqual(['cjs/index.node.js']);
  });

  it('gives every JavaScript target the declarations beside it, listed first (ESM types for import, CommonJS for require)', () => {
    const leaves: Array<[string, string[], Record<string, string>]> = [];
    const walk = (path: string, value: unknown) => {
      if (typeof value !== 'object' || value === null) return;
      const record = value as Record<string, unknown>;
      if (typeof record['default'] === 'string') leaves.push([path, Object.keys(record), record as Record<string, string>]);
      else for (const [key, inner] of Object.entries(record)) walk(`${path} ${key}`, inner);
    };
    for (const [subpath, conditions] of Object.entries(pkg.exports)) walk(subpath, conditions);
    expect(leaves.length).toBe(8);
    for (const [path, keys, leaf] of leaves) {
      expect([path, keys]).toEqual([path, ['types', 'default']]);
      expect([path, leaf['types']]).toEqual([path, leaf['default']!.replace(/\.js$/, '.d.ts')]);
      expect([path, leaf['default']!.startsWith(path.includes(' import') ? './dist/esm/' : './dist/cjs/')]).toEqual([path, true]);
    }
  });
});
