import axios from 'axios';
import * as rxjs from 'rxjs';
import * as rxtransfer from '../../lib/index.node.js';
import * as rxtransferNode from '../../lib/node/index.js';
import * as rxtransferTesting from '../../lib/testing/index.js';
import { docBlocks, runDocExample, tsdocBlocks, typeCheckDocBlocks } from '../helpers/docs-runner.js';
import { startDocsServer, type DocsServer } from './docs-server.js';

/**
 * Every ```ts block of docs/transfers.md runs here, as a user would run it on Node:
 * 'rxtransfer' is the Node entry (lib/index.node.ts), and `BASE_URL` / `OTHER_URL` point at a
 * loopback server started for the file. The blocks are also type-checked, so an example
 * cannot use an option or a field that does not exist.
 */
const modules = {
  rxtransfer,
  'rxtransfer/node': rxtransferNode,
  'rxtransfer/testing': rxtransferTesting,
  rxjs,
  axios,
};
const declarations = 'declare const BASE_URL: string;\ndeclare const OTHER_URL: string;\n';

describe('docs/transfers.md examples', () => {
  const blocks = docBlocks('transfers.md');
  let server: DocsServer;
  beforeAll(async () => {
    server = await startDocsServer();
  });
  afterAll(() => server.close());

  it('G1 G12 the page has an example for each topic', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(12);
  });

  it('the examples type-check against the public API', () => {
    expect(typeCheckDocBlocks(blocks, declarations)).toEqual([]);
  }, 60_000);

  it('the README example type-checks (it needs the network, so it is not run)', () => {
    const readme = docBlocks('../README.md');
    expect(readme.length).toBeGreaterThanOrEqual(1);
    expect(typeCheckDocBlocks(readme)).toEqual([]);
  }, 60_000);

  it('the @example blocks of the TSDoc in lib/ type-check', () => {
    // The command line is not a library export: its examples show internal helpers.
    const examples = tsdocBlocks().filter((b) => !/^lib\/cli\//.test(b.file));
    expect(examples.length).toBeGreaterThanOrEqual(30);
    expect(typeCheckDocBlocks(examples)).toEqual([]);
  }, 60_000);

  it.each(blocks.map((b) => [b.title, b.code]))('%s', async (_title, code) => {
    await runDocExample(code, { modules, globals: { BASE_URL: server.url, OTHER_URL: server.otherUrl } });
  }, 15_000);
});
