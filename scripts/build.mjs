#!/usr/bin/env node
/**
 * `npm run build`: the ESM, CommonJS and declaration builds the package's `exports` map points at.
 *
 *   dist/esm    tsconfig.esm.json    ES modules   + dist/esm/package.json {"type":"module"}
 *   dist/cjs    tsconfig.cjs.json    CommonJS     + dist/cjs/package.json {"type":"commonjs"}
 *   dist/types  tsconfig.types.json  .d.ts only, then copied beside both builds and removed
 *
 * The declarations go beside each build's JavaScript, so that TypeScript reads them in that
 * build's module format (the nearest package.json's `type`): an ESM importer gets ESM types (no
 * default export to import), a `require` gets CommonJS ones. One set of types for both would be
 * read as CommonJS everywhere ("masquerading as CJS").
 *
 * The three `tsc` runs are independent and run in parallel. The JavaScript builds skip type
 * checking (`noCheck`: `isolatedModules` makes each file's output independent of types); the
 * declaration build checks everything, so a type error still fails the build. Afterwards every
 * file the `exports` map (and `main`/`module`/`types`) names must exist.
 *
 * `--verify` (.ci/run uses it) then runs `verify-dist.mjs`: the files `npm pack` would ship (every
 * path package.json points at must be among them), loaded through the package name as ESM and
 * CommonJS, the bin run, and type-checked by Node and browser consumers.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyDist } from './verify-dist.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

const builds = [
  { name: 'esm', project: 'tsconfig.esm.json', out: 'dist/esm', type: 'module' },
  { name: 'cjs', project: 'tsconfig.cjs.json', out: 'dist/cjs', type: 'commonjs' },
  { name: 'types', project: 'tsconfig.types.json', out: 'dist/types' },
];

/** Runs `tsc -p <project>`; resolves with its output, rejects when it fails. */
function runTsc(build) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', build.project, '--pretty', 'false'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise(output);
      else reject(new Error(`tsc -p ${build.project} failed (exit ${code}):\n${output.trim()}`));
    });
  });
}

/** Copies every `.d.ts` under `from` to the same place under `to`. */
async function copyDeclarations(from, to) {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      await mkdir(target, { recursive: true });
      await copyDeclarations(source, target);
    } else if (entry.name.endsWith('.d.ts')) {
      await copyFile(source, target);
    }
  }
}

/** Every path the package.json names under dist/, from `exports`, `main`, `module` and `types`. */
function declaredTargets(pkg) {
  const targets = new Set();
  const walk = (value) => {
    if (typeof value === 'string') {
      if (value.startsWith('./dist/')) targets.add(value);
    } else if (value && typeof value === 'object') {
      for (const v of Object.values(value)) walk(v);
    }
  };
  walk(pkg.exports);
  for (const field of ['main', 'module', 'types']) walk(pkg[field]);
  return [...targets];
}

async function main() {
  const started = Date.now();
  await rm(join(root, 'dist'), { recursive: true, force: true });
  const results = await Promise.allSettled(builds.map((b) => runTsc(b)));
  const failures = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
  if (failures.length > 0) {
    console.error(failures.join('\n\n'));
    process.exitCode = 1;
    return;
  }
  for (const b of builds) {
    if (!b.type) continue;
    await mkdir(join(root, b.out), { recursive: true });
    await writeFile(join(root, b.out, 'package.json'), `${JSON.stringify({ type: b.type }, null, 2)}\n`);
    await copyDeclarations(join(root, 'dist/types'), join(root, b.out));
  }
  await rm(join(root, 'dist/types'), { recursive: true, force: true });
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  const missing = declaredTargets(pkg).filter((p) => !existsSync(join(root, p)));
  if (missing.length > 0) {
    console.error(`package.json names files the build did not produce:\n  ${missing.join('\n  ')}`);
    process.exitCode = 1;
    return;
  }
  const seconds = (from) => ((Date.now() - from) / 1000).toFixed(1);
  let message = `built dist/esm and dist/cjs, each with its declarations, in ${seconds(started)} s`;
  if (process.argv.includes('--verify')) {
    const verifying = Date.now();
    await verifyDist();
    message += `, verified in ${seconds(verifying)} s`;
  }
  console.error(message); // stderr: `npm pack --json` (prepack builds) keeps a clean stdout
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
