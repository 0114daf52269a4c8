#!/usr/bin/env node
/**
 * Checks dist/ the way a user meets it, through the package name: a temp project whose
 * node_modules/rxtransfer holds exactly the files `npm pack` would put in the tarball (the list
 * from `npm pack --dry-run --json`, so package.json's `files` is checked too; its dependencies
 * come from this repository's node_modules). Run after a build: `npm run build -- --verify`
 * (as .ci/run does), or alone: `node scripts/verify-dist.mjs`.
 *
 * - Every path `exports`, `main`, `module`, `types` and `bin` name is in the tarball, and the
 *   `rxtransfer` command runs from it (`--version`).
 * - Node ESM `import` and CommonJS `require` of `rxtransfer` load index.node (the `node`
 *   condition), and `rxtransfer/node` and `rxtransfer/testing` load, in both formats.
 * - TypeScript consumers type-check against the declarations beside each build (no
 *   skipLibCheck): a Node one with moduleResolution node16 (an .mts and a .cts file, @types/node;
 *   the .mts must not default-import: ESM types), one with node10 (subpaths through
 *   typesVersions) and a browser one with bundler (DOM lib, no @types/node). A Node consumer without the DOM lib is checked too, but
 *   only warned about (skipLibCheck users never see those errors).
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

const ESM_CHECK = `
import * as main from 'rxtransfer';
import * as node from 'rxtransfer/node';
import * as testing from 'rxtransfer/testing';
const resolved = import.meta.resolve('rxtransfer');
if (!resolved.endsWith('/dist/esm/index.node.js')) throw new Error('ESM import of rxtransfer resolved to ' + resolved);
for (const [name, value] of [['download', main.download], ['upload', main.upload], ['fromXhr', main.fromXhr], ['fileBody', node.fileBody], ['FakeTransport', testing.FakeTransport], ['assertTransferGrammar', testing.assertTransferGrammar]]) {
  if (typeof value !== 'function') throw new Error('ESM: ' + name + ' is ' + typeof value);
}
`;

const CJS_CHECK = `
const resolved = require.resolve('rxtransfer');
if (!resolved.endsWith('/dist/cjs/index.node.js')) throw new Error('require of rxtransfer resolved to ' + resolved);
const main = require('rxtransfer');
const node = require('rxtransfer/node');
const testing = require('rxtransfer/testing');
for (const [name, value] of [['download', main.download], ['upload', main.upload], ['fromXhr', main.fromXhr], ['fileBody', node.fileBody], ['FakeTransport', testing.FakeTransport], ['assertTransferGrammar', testing.assertTransferGrammar]]) {
  if (typeof value !== 'function') throw new Error('CJS: ' + name + ' is ' + typeof value);
}
`;

const NODE_CONSUMER = `
import { download, upload, fromXhr, isTransferError, type TransferEvent, type DownloadResult, type UploadResult } from 'rxtransfer';
import { fileBody } from 'rxtransfer/node';
import { FakeTransport, assertTransferGrammar } from 'rxtransfer/testing';
download('https://example.com/a', { responseType: 'text', transport: new FakeTransport() }).subscribe((e: TransferEvent<DownloadResult<string>>) => {
  if (e.type === 'done') { const text: string = e.result.data; void text; } else { const pct: number | undefined = e.percent; void pct; }
});
upload('https://example.com/u', fileBody('/tmp/x')).subscribe((e: TransferEvent<UploadResult<string>>) => void e);
void fromXhr; void isTransferError; void assertTransferGrammar;
`;

// An ES module sees ESM types: no default export to import (Node has none at run time either).
const NODE_ESM_ONLY = `
// @ts-expect-error -- rxtransfer has named exports only
import rx from 'rxtransfer';
void rx;
`;

// TypeScript's default for --module commonjs: subpaths resolve through typesVersions.
const NODE10_CONSUMER = `
import { download, type TransferEvent, type DownloadResult } from 'rxtransfer';
import { fileBody } from 'rxtransfer/node';
import { FakeTransport } from 'rxtransfer/testing';
download('https://example.com/a', { responseType: 'text', transport: new FakeTransport() }).subscribe((e: TransferEvent<DownloadResult<string>>) => void e);
void fileBody;
`;

const BROWSER_CONSUMER = `
import { download, upload, fromXhr, isTransferError, type TransferEvent, type DownloadResult } from 'rxtransfer';
import { FakeTransport, assertTransferGrammar } from 'rxtransfer/testing';
download('https://example.com/a', { responseType: 'text', transport: new FakeTransport() }).subscribe((e: TransferEvent<DownloadResult<string>>) => {
  if (e.type === 'done') { const text: string = e.result.data; void text; }
});
upload('https://example.com/u', new Blob(['x'])).subscribe();
fromXhr(() => new XMLHttpRequest()).subscribe();
void isTransferError; void assertTransferGrammar;
`;

const base = { noEmit: true, strict: true, target: 'es2022', skipLibCheck: false };
const CONSUMERS = {
  'tsconfig.node.json': { compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16', lib: ['es2022', 'dom'], types: ['node'] }, files: ['node.mts', 'node.cts', 'node-esm-only.mts'] },
  'tsconfig.node10.json': { compilerOptions: { ...base, module: 'commonjs', moduleResolution: 'node10', lib: ['es2022', 'dom'], types: ['node'] }, files: ['node10.ts'] },
  'tsconfig.browser.json': { compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] }, files: ['browser.ts'] },
  'tsconfig.node-no-dom.json': { compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16', lib: ['es2022'], types: ['node'] }, files: ['node.mts'] },
};

/** Runs a command to completion; resolves with its stdout, rejects with its output when it fails or takes over a minute. */
function run(command, args, cwd) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (d) => ((stdout += d), (output += d)));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`${[command, ...args].join(' ')} failed (${signal ?? `exit ${code}`}):\n${output.trim()}`));
    });
  });
}

/** The files `npm pack` puts in the tarball (package.json's `files`), without running prepack. */
async function packedFiles() {
  const stdout = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--silent'], root);
  const [pack] = JSON.parse(stdout);
  return pack.files.map((f) => f.path.replaceAll('\\', '/'));
}

/** Every path package.json points at (`exports`, `main`, `module`, `types`, `bin`), without `./`. */
export function pointedAt(pkg) {
  const targets = new Set();
  const walk = (value) => {
    if (typeof value === 'string') targets.add(value.replace(/^\.\//, ''));
    else if (value && typeof value === 'object') for (const v of Object.values(value)) walk(v);
  };
  for (const field of ['exports', 'main', 'module', 'types', 'bin']) walk(pkg[field]);
  return [...targets];
}

/** All checks, in parallel; rejects with every failure. */
export async function verifyDist() {
  const dir = mkdtempSync(join(tmpdir(), 'rxtransfer-consumer-'));
  try {
    const files = await packedFiles();
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const missing = pointedAt(pkg).filter((p) => !files.includes(p));
    if (missing.length > 0) {
      throw new Error(`dist verification failed: package.json points at files the tarball leaves out (see its "files"):\n  ${missing.join('\n  ')}`);
    }
    const installed = join(dir, 'node_modules', 'rxtransfer');
    for (const file of files) {
      mkdirSync(dirname(join(installed, file)), { recursive: true });
      copyFileSync(join(root, file), join(installed, file));
    }
    symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    writeFileSync(join(dir, 'check.mjs'), ESM_CHECK);
    writeFileSync(join(dir, 'check.cjs'), CJS_CHECK);
    writeFileSync(join(dir, 'node.mts'), NODE_CONSUMER);
    writeFileSync(join(dir, 'node.cts'), NODE_CONSUMER);
    writeFileSync(join(dir, 'browser.ts'), BROWSER_CONSUMER);
    writeFileSync(join(dir, 'node-esm-only.mts'), NODE_ESM_ONLY);
    writeFileSync(join(dir, 'node10.ts'), NODE10_CONSUMER);
    for (const [name, config] of Object.entries(CONSUMERS)) {
      writeFileSync(join(dir, name), JSON.stringify({ ...config, compilerOptions: { ...config.compilerOptions, typeRoots: [join(root, 'node_modules', '@types')] } }));
    }
    const [noDom, ...results] = await Promise.allSettled([
      run(process.execPath, [tsc, '-p', 'tsconfig.node-no-dom.json'], dir),
      run(process.execPath, ['check.mjs'], dir),
      run(process.execPath, ['check.cjs'], dir),
      ...Object.values(typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : pkg.bin ?? {}).map((bin) => run(process.execPath, [join(installed, bin), '--version'], dir)),
      run(process.execPath, [tsc, '-p', 'tsconfig.node.json'], dir),
      run(process.execPath, [tsc, '-p', 'tsconfig.browser.json'], dir),
      run(process.execPath, [tsc, '-p', 'tsconfig.node10.json'], dir),
    ]);
    if (noDom.status === 'rejected') {
      const errors = noDom.reason.message.split('\n').filter((line) => line.includes('error TS')).map((line) => line.replace(/^.*?dist\//, 'dist/'));
      console.warn(`warning: the types need the DOM lib on Node (fine with skipLibCheck):\n  ${errors.slice(0, 5).join('\n  ')}`);
    }
    const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
    if (failures.length > 0) throw new Error(`dist verification failed:\n\n${failures.join('\n\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  verifyDist().then(
    () => console.log('dist verified: the packed files, ESM and CommonJS through the package name, the bin, types with node16, node10 and bundler'),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
