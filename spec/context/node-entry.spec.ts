import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, bundleForNode } from '../helpers/node-bundle';

describe('the Node entry in a bundled app', () => {
  it('C2 installs its AsyncLocalStorage store also when the app imports only contexts from it (the bundler must not drop the entry as free of side effects)', () => {
    const folder = join(ROOT, 'spec', '.output', 'node-entry');
    mkdirSync(folder, { recursive: true });
    const entry = join(folder, `app-${process.pid}.ts`);
    // Nothing of the Node entry's own is used (no download, no upload, no session): only what it re-exports.
    writeFileSync(
      entry,
      [
        `import { SynchronizationContext, macrotaskContext } from ${JSON.stringify(join(ROOT, 'lib', 'index.node.js'))};`,
        'const ctx = macrotaskContext();',
        'void SynchronizationContext.run(ctx, async () => {',
        '  await new Promise((resolve) => setTimeout(resolve, 1));',
        "  process.stdout.write(String(SynchronizationContext.current === ctx));",
        '});',
      ].join('\n'),
    );
    let bundle: string | undefined;
    try {
      bundle = bundleForNode(entry, 'node-entry', 'app');
      expect(execFileSync(process.execPath, [bundle], { encoding: 'utf8', timeout: 20_000 })).toBe('true');
    } finally {
      rmSync(entry, { force: true });
      if (bundle) rmSync(bundle, { force: true });
    }
  });
});
