import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliServer, type CliServer } from './cli-server.js';
import { killAllClis, removeCliEntry } from './cli-run.js';

/** What a CLI spec file works with: the loopback server and fresh temporary directories. */
export interface CliFixture {
  /** The loopback server, started before the file's tests. */
  readonly server: CliServer;
  /** A new empty directory, removed after the file's tests. */
  freshDir(): string;
}

/**
 * Registers the hooks every CLI spec file needs: a loopback server started before its tests,
 * and after them every CLI child killed, the bundled CLI removed, the server closed and the
 * temporary directories deleted. Call it once, at the top of the file.
 */
export function cliFixture(prefix: string): CliFixture {
  const dirs: string[] = [];
  let server: CliServer | undefined;
  beforeAll(async () => {
    server = await startCliServer();
  });
  afterAll(async () => {
    killAllClis();
    removeCliEntry();
    await server?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get server() {
      if (!server) throw new Error('the CLI server is not started yet (use it inside a test)');
      return server;
    },
    freshDir() {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
  };
}
