import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as rxjs from 'rxjs';
import * as rxtransfer from '../../lib/index.node.js';
import * as rxtransferNode from '../../lib/node/index.js';
import { docBlocks, runDocExample, typeCheckDocBlocks } from '../helpers/docs-runner.js';
import { startDocsServer, type DocsServer } from './docs-server.js';

/**
 * Every ```ts block of docs/sessions.md runs here against the docs' loopback server, with its
 * sessions and files in a temporary directory (`DOWNLOADS`), and is type-checked.
 */
const modules = { rxtransfer, 'rxtransfer/node': rxtransferNode, rxjs };
const declarations = 'declare const BASE_URL: string;\ndeclare const DOWNLOADS: string;\ndeclare function refreshToken(): Promise<string>;\n';

describe('docs/sessions.md examples', () => {
  const blocks = docBlocks('sessions.md');
  let server: DocsServer;
  let dir: string;
  beforeAll(async () => {
    server = await startDocsServer();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rxt-sessions-doc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the examples type-check against the public API', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(typeCheckDocBlocks(blocks, declarations)).toEqual([]);
  }, 60_000);

  it.each(blocks.map((b) => [b.title, b.code]))('%s', async (_title, code) => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await runDocExample(code, {
        modules,
        globals: { BASE_URL: server.url, DOWNLOADS: dir, refreshToken: async () => 'fresh-token' },
      });
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
  }, 20_000);
});
