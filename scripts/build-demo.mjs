#!/usr/bin/env node
/**
 * `npm run build:demo`: bundles the browser demo page's script (`docs/demo/demo.ts`) into
 * `docs/demo/dist/demo.js` (git-ignored) with esbuild. `rxtransfer demo --web` serves that file
 * where esbuild is not installed (an installed package); in a checkout it bundles in memory
 * with the same options (`demoBundleOptions` in `lib/cli/demo-page.ts`), so this is only needed
 * before packing.
 */
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'docs', 'demo', 'dist', 'demo.js');

await mkdir(dirname(outfile), { recursive: true });
const started = Date.now();
const result = await build({
  // Keep in step with demoBundleOptions() in lib/cli/demo-page.ts.
  entryPoints: [join(root, 'docs', 'demo', 'demo.ts')],
  absWorkingDir: root,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  alias: { rxtransfer: join(root, 'lib', 'index.ts') },
  tsconfig: join(root, 'docs', 'demo', 'tsconfig.json'),
  outfile,
  metafile: true,
  logLevel: 'warning',
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
console.error(`built docs/demo/dist/demo.js (${(bytes / 1024).toFixed(0)} KiB) in ${Date.now() - started} ms`);
