import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';

/** The repository's root. */
export const ROOT = resolve(__dirname, '..', '..');

/**
 * Bundles a TypeScript entry (and the lib/ sources it imports) into one CommonJS file that a
 * child `node` process can run, npm packages left external. Child processes need this because
 * `node -r esbuild-register` cannot resolve the sources' `./x.js` specifiers. The file is
 * `spec/.output/<folder>/<name>-<pid>.js`; the caller removes it.
 */
export function bundleForNode(entry: string, folder: string, name: string): string {
  const outDir = join(ROOT, 'spec', '.output', folder);
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `${name}-${process.pid}.js`);
  buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20', packages: 'external', outfile, logLevel: 'warning' });
  return outfile;
}
