import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { RunAbort } from '../core/abort.js';

type RequestOptions = http.RequestOptions & { protocol?: string };

/**
 * An axios `transport` (a module with `request()`) that reports when the connection is up,
 * so the core's connect timeout measures connecting only (a reused keep-alive socket is
 * connected at once), and, given the attempt's abort, that destroys the request when it aborts.
 * axios is then given no `signal` (see `abortsDirectly` in axios-http-transport.ts for when),
 * which spares an `AbortController` and its listeners per request (Node 20 makes both slow).
 * Destroying the request closes its socket, before or during the response (G6); once the
 * request has closed (its socket back in the agent's pool) the abort no longer touches it.
 *
 * A class instance rather than an object literal: axios deep-copies a plain-object config
 * value on every request (`mergeConfig`), and passes any other object through as it is.
 */
class ConnectAwareTransport {
  constructor(
    private readonly onConnect: () => void,
    private readonly abort: RunAbort | undefined,
  ) {}

  request(options: RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest {
    const { onConnect, abort } = this;
    const secure = options.protocol === 'https:';
    const req = (secure ? https : http).request(options, callback);
    req.once('socket', (socket: Socket & { encrypted?: boolean; _secureEstablished?: boolean }) => {
      if (secure) {
        if (socket._secureEstablished) onConnect();
        else socket.once('secureConnect', onConnect);
      } else if (!socket.connecting) onConnect();
      else socket.once('connect', onConnect);
    });
    if (abort) {
      if (abort.aborted) req.destroy();
      else req.once('close', abort.onAbort(() => req.destroy()));
    }
    return req;
  }
}

export function connectAwareTransport(onConnect: () => void, abort?: RunAbort): { request(options: RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest } {
  return new ConnectAwareTransport(onConnect, abort);
}
