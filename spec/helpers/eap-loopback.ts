import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP server for adapter tests, on 127.0.0.1 and an ephemeral port. */
export interface Loopback {
  readonly url: string;
  /** Requests whose connection closed before the server finished answering. */
  readonly closedEarly: string[];
  close(): Promise<void>;
}

export type Route = (req: IncomingMessage, res: ServerResponse, closed: () => boolean) => void;

export async function startLoopback(routes: Record<string, Route>): Promise<Loopback> {
  const closedEarly: string[] = [];
  const server: Server = createServer((req, res) => {
    let closed = false;
    res.on('close', () => {
      closed = true;
      if (!res.writableFinished) closedEarly.push(req.url ?? '');
    });
    const route = routes[req.url ?? ''];
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such route');
      return;
    }
    route(req, res, () => closed);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    closedEarly,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

/** Sends `size` bytes in `chunk`-byte writes, `every` ms apart, stopping when the client leaves. Bounded by size. */
export function drip(size: number, chunk: number, every: number): Route {
  return (_req, res, closed) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
    let sent = 0;
    const tick = (): void => {
      if (closed() || sent >= size) return void res.end();
      const n = Math.min(chunk, size - sent);
      res.write(Buffer.alloc(n, 120));
      sent += n;
      if (sent >= size) res.end();
      else setTimeout(tick, every);
    };
    tick();
  };
}
