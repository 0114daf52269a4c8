import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

type RequestOptions = http.RequestOptions & { protocol?: string };

/**
 * An axios `transport` (a module with `request()`) that reports when the connection is up,
 * so the core's connect timeout measures connecting only. A reused keep-alive socket is
 * connected at once.
 *
 * A class instance rather than an object literal: axios deep-copies a plain-object config
 * value on every request (`mergeConfig`), and passes any other object through as it is.
 */
class ConnectAwareTransport {
  constructor(private readonly onConnect: () => void) {}

  request(options: RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest {
    const { onConnect } = this;
    const secure = options.protocol === 'https:';
    const req = (secure ? https : http).request(options, callback);
    req.once('socket', (socket: Socket & { encrypted?: boolean; _secureEstablished?: boolean }) => {
      if (secure) {
        if (socket._secureEstablished) onConnect();
        else socket.once('secureConnect', onConnect);
      } else if (!socket.connecting) onConnect();
      else socket.once('connect', onConnect);
    });
    return req;
  }
}

export function connectAwareTransport(onConnect: () => void): { request(options: RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest } {
  return new ConnectAwareTransport(onConnect);
}
