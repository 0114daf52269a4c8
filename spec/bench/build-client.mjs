// Makes the rxtransfer client runnable without `npm run build`: bundles clients/rxtransfer.mjs
// with the library's TypeScript sources (lib/), leaving axios and rxjs as the same external
// packages the peers load. The client then runs as plain `node <bundle>`, so no compiler runs in
// the measured process (esbuild-register would compile lib/ inside it, and cannot resolve lib's
// `./x.js` specifiers to `./x.ts` anyway).
//
// With `--lib dist` the runner skips this and runs clients/rxtransfer.mjs itself, which then
// loads `rxtransfer` from dist/ through the package's own exports map. With `--lib <dir>` it
// bundles the sources in <dir> instead of lib/ (to measure a patched copy side by side).
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/**
 * Bundles a client (`clients/<client>.mjs`: `rxtransfer` or `micro`) with the sources in `libDir` (default: this repo's lib/; another directory
 * measures a patched copy) into `outDir`, inside the repo so that axios and rxjs resolve from
 * its node_modules. Returns the bundle's path.
 */
export async function buildRxtransferClient(libDir = join(root, 'lib'), outDir = join(root, 'spec', '.output', 'bench'), client = 'rxtransfer') {
  const sources = {
    rxtransfer: join(libDir, 'index.node.ts'),
    'rxtransfer/node': join(libDir, 'node', 'index.ts'),
    'rxtransfer/testing': join(libDir, 'testing', 'index.ts'),
    // Internal, for the microbenchmark of the event pipeline only.
    'rxtransfer/internal/progress': join(libDir, 'internal', 'core', 'progress.ts'),
  };
  await mkdir(outDir, { recursive: true });
  const outfile = join(outDir, `${client}-client.mjs`);
  await build({
    entryPoints: [join(here, 'clients', `${client}.mjs`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [
      {
        name: 'rxtransfer-sources',
        setup(b) {
          b.onResolve({ filter: /^rxtransfer(\/node|\/testing|\/internal\/progress)?$/ }, (args) => ({ path: sources[args.path] }));
        },
      },
    ],
  });
  return outfile;
}
