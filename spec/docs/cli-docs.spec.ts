import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/docs-runner.js';

/**
 * docs/cli.md and docs/architecture.md say what the command line takes from the library's
 * internals (beside the public entry points) and which flags it has: checked against lib/cli/,
 * so that a new internal import or a new flag cannot go unmentioned.
 */
const CLI_DIR = join(REPO_ROOT, 'lib', 'cli');
const sources = readdirSync(CLI_DIR)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => readFileSync(join(CLI_DIR, f), 'utf8'));
const page = (name: string): string => readFileSync(join(REPO_ROOT, 'docs', name), 'utf8');

/** Names lib/cli/ imports from lib/internal/. */
function internalImports(): string[] {
  const names = new Set<string>();
  for (const text of sources) {
    for (const match of text.matchAll(/^import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'\.\.\/internal\/[^']*';/gm)) {
      for (const name of match[1]!.split(',')) {
        const bare = name.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!;
        if (bare) names.add(bare);
      }
    }
  }
  return [...names].sort();
}

/** The long flags the commands declare with commander's `.option()`. */
function declaredFlags(): string[] {
  const flags = new Set<string>();
  for (const text of sources) for (const match of text.matchAll(/\.option\('(?:-\w, )?(--[a-z-]+)/g)) flags.add(match[1]!);
  return [...flags].sort();
}

describe('docs/cli.md and the command line', () => {
  it('names every internal helper the command line imports (cli.md and architecture.md)', () => {
    const names = internalImports();
    expect(names.length).toBeGreaterThan(0);
    const words = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    for (const doc of ['cli.md', 'architecture.md']) {
      const text = page(doc);
      expect(names.filter((n) => !text.includes(`\`${n}\``))).toEqual([]);
      expect(text).toMatch(new RegExp(`${words[names.length - 1]} (small )?internal helpers`));
    }
  });

  it('documents every flag of every command', () => {
    const text = page('cli.md');
    const flags = declaredFlags();
    expect(flags).toEqual(expect.arrayContaining(['--output', '--resume', '--max-concurrent', '--no-expect', '--web']));
    expect(flags.filter((f) => !new RegExp(`${f}(?![a-z-])`).test(text))).toEqual([]);
  });
});
