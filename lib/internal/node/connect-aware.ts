import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { RunAbort } from '../core/abort.js';
import type { ContinueGate } from './continue-gate.js';

type RequestOptions = http.RequestOptions & { protocol?: string };

/**
 * An axios `transport` (a module with `request()`) that reports when the connection is up,
 * so the core's connect timeout measures connecting only (a reused keep-alive socket is
 * connected at once), and, given the attempt's abort, that destroys the request when it aborts.
 * axios is then given no `signal` (see `abortsDirectly` in axios-http-transport.ts for when),
 * which spares an `AbortController` and its listeners per request (Node 20 makes both slow).
 * Destroying the request closes its socket, before or during the response (G6); once the
 * request has closed (its socket back in the agent's pool) the abort no longer touches it.
 * With `Expect: 100-continue` it tells the body's gate what the server answered first.
 *
 * A class instance rather than an object literal: axios deep-copies a plain-object config
 * value on every request (`mergeConfig`), and passes any other object through as it is.
 */
class ConnectAwareTransport {
  constructor(
    private readonly onConnect: () => void,
    private readonly abort: RunAbort | undefined,
    /** Set past the first origin: the (lower-case) header names to strip, see {@link stripCredentials}. */
    private readonly withheld: readonly string[] | undefined,
    /** Set when the request expects 100-continue: opened by the server's 100, shut by a final answer. */
    private readonly gate: ContinueGate | undefined,
  ) {}

  request(options: RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest {
    const { onConnect, abort } = this;
    if (this.withheld) stripCredentials(options, this.withheld);
    const secure = options.protocol === 'https:';
    this.gate?.hold();
    const req = (secure ? https : http).request(options, callback);
    req.once('socket', (socket: Socket & { encrypted?: boolean; _secureEstablished?: boolean }) => {
      if (secure) {
        if (socket._secureEstablished) onConnect();
        else socket.once('secureConnect', onConnect);
      } else if (!socket.connecting) onConnect();
      else socket.once('connect', onConnect);
    });
    const gate = this.gate;
    if (gate) {
      req.once('continue', gate.open);
      req.once('response', gate.shut);
      req.once('close', gate.shut);
    }
    if (abort) {
      if (abort.aborted) req.destroy();
      else req.once('close', abort.onAbort(() => req.destroy()));
    }
    return req;
  }
}

/**
 * A hop past the first origin (G11) goes out with no `Authorization`, no `Cookie`, none of the
 * caller's `sensitiveHeaders` and no basic `auth`, whatever set them on the way down: the
 * client's defaults, or an interceptor (which runs for every hop, as a redirect the client
 * followed itself would not run it). The core has dropped them from the hop's own headers
 * already. `Proxy-Authorization` is left only on a request to a forward proxy (its path the
 * absolute URL: axios set it there from the proxy's credentials); on one that goes to the origin
 * itself (no proxy, or inside an https tunnel, whose CONNECT carries the proxy's own) only the
 * origin would read it, as axios' own redirects drop it.
 */
function stripCredentials(options: RequestOptions, withheld: readonly string[]): void {
  delete options.auth;
  const headers = options.headers;
  if (headers === undefined || Array.isArray(headers)) return;
  const proxied = /^[a-z][a-z0-9+.-]*:\/\//i.test(options.path ?? '');
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (withheld.includes(lower) || (lower === 'proxy-authorization' && !proxied)) delete (headers as Record<string, unknown>)[name];
  }
}

/**
 * `withheld`: past the first origin, the lower-case names of the headers to strip (credentials);
 * undefined before. `gate`: the body's, when the request sends `Expect: 100-continue`.
 */
export function connectAwareTransport(onConnect: () => void, abort?: RunAbort, withheld?: readonly string[], gate?: ContinueGate): { request(options: RequestOptions, callback: (res: http.IncomingMessage) => void): http.ClientRequest } {
  return new ConnectAwareTransport(onConnect, abort, withheld, gate);
}
