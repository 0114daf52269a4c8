import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small HTTPS server on 127.0.0.1 with a throw-away self-signed certificate (made with the
 * `openssl` command), for the https->http redirect rule (G11). Routes: `/redirect?to=<location>`
 * answers 302, anything else 200 `hello over tls`. Use `agent` (it trusts the certificate).
 */
export interface TlsServer {
  readonly agent: Agent;
  url(path: string): string;
  /** Paths requested so far. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startTlsServer(): Promise<TlsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rxtransfer-tls-'));
  let key: Buffer;
  let cert: Buffer;
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 20_000 });
    key = readFileSync(join(dir, 'key.pem'));
    cert = readFileSync(join(dir, 'cert.pem'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const seen: string[] = [];
  const server: Server = createServer({ key, cert }, (req, res) => {
    seen.push(req.url ?? '/');
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    if (url.pathname === '/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/', 'content-length': '0' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '14' }).end('hello over tls');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ ca: cert, keepAlive: false });
  return {
    agent,
    seen,
    url: (path) => `https://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
