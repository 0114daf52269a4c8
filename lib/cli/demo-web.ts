/**
 * `rxtransfer demo --web`: the browser demo page and the endpoints it uses, served on
 * 127.0.0.1 until Ctrl-C (exit 130), SIGTERM (143) or SIGHUP (129).
 */
import { spawn } from 'node:child_process';
import { loadDemoPage, demoPageRoutes } from './demo-page.js';
import { startDemoServer, type DemoServer } from './demo-server.js';
import { CliError, ExitCode, exitCodeFor } from './exit-codes.js';
import { listenForInterrupt } from './interrupt.js';
import { printError, type CliStreams } from './output.js';

export interface DemoWebFlags {
  /** The port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** `--no-open` makes this false: do not start a browser. */
  open?: boolean;
}

/** Asks the desktop to open `url` in a browser; quietly does nothing where it cannot. */
export function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no browser to open: the URL is printed anyway
  }
}

/** Serves the browser demo; resolves with the exit code once interrupted. */
export async function runDemoWeb(flags: DemoWebFlags, streams: CliStreams): Promise<number> {
  let server: DemoServer;
  try {
    const page = await loadDemoPage();
    server = await startDemoServer({ port: flags.port ?? 0, routes: demoPageRoutes(page) }).catch((error: unknown) => {
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE' || code === 'EACCES') {
        throw new CliError('usage', `cannot listen on 127.0.0.1:${flags.port ?? 0} (${code}); pick another with --port`, { cause: error });
      }
      throw error;
    });
  } catch (error) {
    printError(streams, error);
    return exitCodeFor(error);
  }
  const interrupt = listenForInterrupt(streams.stdout);
  try {
    const url = `${server.origin}/`;
    streams.stdout.write(`rxtransfer demo: the browser demo is at ${url}\n`);
    streams.stdout.write('Pick or drop a file to upload, download, cancel, watch animation-frame delivery and EAP events. Ctrl-C stops the server.\n');
    if (flags.open !== false) openInBrowser(url);
    await new Promise<void>((resolve) => {
      if (interrupt.signal.aborted) return resolve();
      interrupt.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    streams.stderr.write('rxtransfer demo: stopped\n');
    return interrupt.received ? interrupt.exitCode : ExitCode.ok;
  } finally {
    interrupt.dispose();
    await server.close();
  }
}
