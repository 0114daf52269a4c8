/**
 * The browser demo page of `rxtransfer demo --web`: `docs/demo/index.html`, `demo.css` and the
 * script `docs/demo/demo.ts` bundled for the browser. In a checkout (esbuild installed, the
 * sources present) the script is bundled in memory when the server starts, so it is always
 * current; otherwise the prebuilt `docs/demo/dist/demo.js` (`npm run build:demo`) is served.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { CliError } from './exit-codes.js';
import type { ExtraRoutes } from './demo-server.js';

/** The page's files, ready to serve. */
export interface DemoPage {
  readonly html: string;
  readonly css: string;
  readonly js: string;
  /** `bundled` (esbuild, now) or `prebuilt` (docs/demo/dist/demo.js). */
  readonly source: 'bundled' | 'prebuilt';
}

/** The package's root: the nearest directory above this file whose package.json is rxtransfer's. */
export function packageRoot(): string | undefined {
  const start = typeof __dirname === 'string' ? __dirname : dirname(process.argv[1] ?? '.');
  for (let dir = start, i = 0; i < 8; dir = dirname(dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'rxtransfer') return dir;
    } catch {
      // keep looking upward
    }
  }
  return undefined;
}

interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: Array<{ text: string }> }>;
}

/** esbuild, when it is installed (a checkout with its dev dependencies). */
async function loadEsbuild(): Promise<EsbuildLike | undefined> {
  try {
    return (await import('esbuild')) as unknown as EsbuildLike;
  } catch {
    return undefined;
  }
}

/**
 * The esbuild options of the page bundle, shared with `scripts/build-demo.mjs`: `rxtransfer` is
 * the package's platform-neutral entry (`lib/index.ts`), so the bundle holds no Node modules.
 */
export function demoBundleOptions(root: string): Record<string, unknown> {
  return {
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
    logLevel: 'silent',
  };
}

/** Reads (and, in a checkout, bundles) the page. Throws a {@link CliError} when it cannot be found. */
export async function loadDemoPage(): Promise<DemoPage> {
  const root = packageRoot();
  const dir = root && join(root, 'docs', 'demo');
  if (!root || !dir || !existsSync(join(dir, 'index.html'))) {
    throw new CliError('io', 'the browser demo page (docs/demo/index.html) is not installed');
  }
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const css = readFileSync(join(dir, 'demo.css'), 'utf8');
  const esbuild = existsSync(join(dir, 'demo.ts')) && existsSync(join(root, 'lib', 'index.ts')) ? await loadEsbuild() : undefined;
  if (esbuild) {
    try {
      const result = await esbuild.build({ ...demoBundleOptions(root), write: false });
      const js = result.outputFiles?.[0]?.text;
      if (js) return { html, css, js, source: 'bundled' };
    } catch (error) {
      throw new CliError('io', `the browser demo page could not be bundled: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  const prebuilt = join(dir, 'dist', 'demo.js');
  if (existsSync(prebuilt)) return { html, css, js: readFileSync(prebuilt, 'utf8'), source: 'prebuilt' };
  throw new CliError('io', 'the browser demo script is not built: run `npm run build:demo` in a checkout of rxtransfer');
}

/** Routes serving the page: `/`, `/demo.css`, `/demo.js`. */
export function demoPageRoutes(page: DemoPage): ExtraRoutes {
  const files: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html; charset=utf-8', body: page.html },
    '/index.html': { type: 'text/html; charset=utf-8', body: page.html },
    '/demo.css': { type: 'text/css; charset=utf-8', body: page.css },
    '/demo.js': { type: 'text/javascript; charset=utf-8', body: page.js },
  };
  return (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204).end();
      return true;
    }
    const file = req.method === 'GET' || req.method === 'HEAD' ? files[path] : undefined;
    if (!file) return false;
    res.writeHead(200, { 'content-type': file.type, 'content-length': String(Buffer.byteLength(file.body)), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : file.body);
    return true;
  };
}
