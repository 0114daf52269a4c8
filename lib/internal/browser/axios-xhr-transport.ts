import axios from 'axios';
import type { AxiosLike } from '../core/options.js';
import type { OpenedBody, Transport, TransportRequest, TransportResponse } from '../core/transport.js';
import { fromAxiosError, notAResponse } from '../axios/axios-errors.js';
import { TransferError } from '../core/errors/transfer-error.js';
import { NetworkError, browserNetworkErrorMessage, isNetworkError } from '../core/errors/network-error.js';
import { localFileError } from '../core/errors/local-file-error.js';
import { lowerCaseHeaders, parseHeaderBlock } from '../core/headers.js';
import { sameResource } from '../core/redirect.js';

interface AxiosResult { status: number; statusText: string; headers: unknown; data: ArrayBuffer | null; request?: XMLHttpRequest }

function xhrData(body: OpenedBody | undefined): unknown {
  if (!body) return undefined;
  if (body.kind === 'bytes') {
    const { data } = body;
    return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data.buffer : data.slice().buffer;
  }
  if (body.kind === 'stream') throw new TransferError('invalid', 'XMLHttpRequest cannot send a stream body');
  return body.data;
}

/**
 * Whether `Content-Length` may count other bytes than the body handed over: the browser decodes
 * any `Content-Encoding` itself, and a cross-origin response hides that header unless the server
 * exposes it (it is not CORS-safelisted), while `Content-Length` is shown. Such a length is the
 * browser's to check (it fails a body cut short of it), not the core's.
 */
function isEncoded(headers: Record<string, string>, redirected: boolean, url: string): boolean {
  const encoding = headers['content-encoding'];
  if (encoding !== undefined) return encoding.toLowerCase() !== 'identity';
  // Redirected: the browser does not say through which origins, and one detour through another
  // origin filters the headers of a response from this one as well.
  return redirected || crossOrigin(url);
}

/**
 * What axios' XHR adapter rejects with, as a TransferError. Its `ERR_NETWORK` ("Network Error") is
 * the XHR's `error` event, for which the browser gives no reason: the message says what it may be.
 */
function fromXhrError(error: unknown, context: { url: string; method: string }): TransferError {
  const mapped = fromAxiosError(error, context);
  // Anything may be rejected with (an interceptor's `Promise.reject()`): read as maybe nothing.
  const axiosError = error as { code?: unknown; message?: unknown } | null | undefined;
  if (!isNetworkError(mapped) || axiosError?.code !== 'ERR_NETWORK') return mapped;
  return new NetworkError(browserNetworkErrorMessage(`request failed: ${String(axiosError.message)}`), undefined, { ...context, cause: mapped.cause });
}

/**
 * The first File of `body` (a Blob, or in a FormData) that cannot be found any more: deleted or
 * moved since it was picked, which the browser fails as a network error (status 0) without a
 * reason. Up to one byte of each is read to tell. A file that is there but changed since it was picked
 * is not one: an XHR sends it as it is now (only its reading in the page fails).
 */
async function goneFile(body: OpenedBody): Promise<{ file: string; error: unknown } | undefined> {
  const blobs = body.kind === 'blob' ? [body.data] : body.kind === 'form' ? [...body.data.values()].filter((v): v is File => typeof v !== 'string') : [];
  for (const blob of blobs) {
    try {
      // A File gone from the disk says its size is 0: read whole (nothing), it fails.
      await (blob.size > 0 ? blob.slice(0, 1) : blob).arrayBuffer();
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'NotFoundError') return { file: (blob as Partial<File>).name ?? 'blob', error };
    }
  }
  return undefined;
}

interface AxiosClient {
  request(config: unknown): Promise<AxiosResult>;
  getUri?(config: unknown): string;
  defaults?: { withXSRFToken?: unknown; transformRequest?: unknown };
}

/**
 * The `transformRequest` list for a request: the instance's own, then one that hands over the
 * config axios sends with. It runs after the request interceptors, with that config as `this`.
 */
function capturingTransforms(client: AxiosClient, capture: (config: unknown) => void): unknown[] {
  const own = client.defaults?.transformRequest;
  const transforms = own === undefined || own === null ? [] : Array.isArray(own) ? [...(own as unknown[])] : [own];
  transforms.push(function (this: unknown, data: unknown) {
    capture(this);
    return data;
  });
  return transforms;
}

/**
 * The URL axios opens the XHR with: the request's, with the instance's `baseURL` (under
 * `allowAbsoluteUrls: false`) and `params` (through its `paramsSerializer`), and what a request
 * interceptor changed, as axios' `getUri` builds it. `fallback` where it cannot be told.
 */
function requestedUrl(client: AxiosClient, config: unknown, fallback: string): string {
  if (typeof client.getUri !== 'function') return fallback;
  try {
    const url = client.getUri(config);
    // A relative `baseURL` is resolved as the XHR resolves it: against the page.
    return typeof url === 'string' && url !== '' ? new URL(url, (globalThis as { location?: { href?: string } }).location?.href).href : fallback;
  } catch {
    return fallback;
  }
}

/** Methods that change nothing: what Angular's HttpClient sends no XSRF token with either. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

function crossOrigin(url: string): boolean {
  // The page's own origin (`self.origin`), not its URL's: a sandboxed iframe keeps the URL of
  // its server in `location` while its origin is opaque.
  const scope = globalThis as { origin?: unknown; location?: { origin?: string } };
  const here = typeof scope.origin === 'string' ? scope.origin : scope.location?.origin;
  if (here === undefined) return false;
  // An opaque origin (a sandboxed iframe, srcdoc, a data: URL): every response is a CORS one.
  if (here === 'null') return true;
  try {
    return new URL(url, here).origin !== here;
  } catch {
    return false;
  }
}

/**
 * The browser transport: axios' `xhr` adapter. The browser follows redirects itself and decodes
 * bodies; the head is handed over at the first download progress event (status and headers
 * are known then), the body when the request completes.
 */
export function axiosXhrTransport(instance?: AxiosLike): Transport {
  const client = (instance ?? axios) as unknown as AxiosClient;
  return {
    name: 'axios-xhr',
    followsRedirects: true,
    streamsBodies: false,
    send(req: TransportRequest): Promise<TransportResponse> {
      const context = { url: req.url, method: req.method };
      // An XHR drops the body of a GET or a HEAD without a word: refused, not reported as sent.
      if (req.body && (req.method === 'GET' || req.method === 'HEAD')) {
        return Promise.reject(new TransferError('invalid', `a browser sends no body with ${req.method}: use POST or PUT`, context));
      }
      return new Promise<TransportResponse>((resolve, reject) => {
        let head: TransportResponse | undefined;
        let settle!: { resolve(bytes: Uint8Array): void; reject(error: unknown): void };
        const bodyBytes = new Promise<Uint8Array>((res, rej) => (settle = { resolve: res, reject: rej }));
        bodyBytes.catch(() => undefined);
        // Raw bytes received so far. The progress event that opens the head arrives before the
        // core has read the head, so it would be lost: it is reported again when the core starts
        // reading the body.
        let received = 0;
        let ownEvents = false;
        // The config axios sends with (after the caller's interceptors): what the XHR was opened
        // for, which is what `responseURL` shows when the browser followed no redirect.
        let sent: unknown;
        const downloaded = (xhr: XMLHttpRequest | undefined, loaded: number) => {
          if (!head && xhr && xhr.readyState >= 2) {
            req.onConnect();
            open(xhr.status, xhr.statusText, parseHeaderBlock(xhr.getAllResponseHeaders()) as Record<string, string>, xhr.responseURL);
          }
          received = loaded;
          req.onDownloadProgress(loaded);
        };
        const body = async function* () {
          if (received > 0) req.onDownloadProgress(received);
          const bytes = await bodyBytes;
          if (bytes.byteLength > 0) yield bytes;
        };
        /**
         * The head, from where the response came: `responseURL` (empty when the browser does not
         * say). Compared with the URL axios requested, not the core's: an instance's `params` or
         * `baseURL` are no redirect. Without one, the response is said to come from `req.url`.
         */
        const open = (status: number, statusText: string, headers: Record<string, string>, responseUrl: string | undefined) => {
          const redirected = !!responseUrl && !sameResource(responseUrl, requestedUrl(client, sent ?? { url: req.url }, req.url));
          const url = redirected ? responseUrl : req.url;
          head = { status, statusText, headers, url, decoded: isEncoded(headers, redirected, responseUrl || req.url), body: body() };
          resolve(head);
        };
        // XHR cannot tell when the connection is up, nor (through axios) when the head arrives:
        // the first sign is a body byte. Said at once, so that the connect limit never takes a
        // slow body after a fast head for a connection that never came (idle and total still apply).
        req.onConnect();
        // axios adds its XSRF header to any request to this page's origin, and the browser keeps it
        // through a redirect to another origin (G11), where it also makes a CDN's simple GET need
        // a preflight. A download has no use for it: none for GET and HEAD, unless the caller's
        // axios asks for it.
        const defaults = client.defaults;
        const xsrf = SAFE_METHODS.has(req.method.toUpperCase()) && defaults?.withXSRFToken === undefined ? { withXSRFToken: false } : {};
        client
          .request({
            ...xsrf,
            url: req.url,
            method: req.method,
            headers: req.headers,
            data: xhrData(req.body),
            adapter: 'xhr',
            responseType: 'arraybuffer',
            transformRequest: capturingTransforms(client, (config) => (sent = config)),
            transformResponse: [(d: unknown) => d],
            validateStatus: null,
            signal: req.signal,
            // Only with a body: a listener on `xhr.upload` makes any cross-origin request
            // "non-simple" (Fetch §4.1), so a plain GET would cost a CORS preflight.
            onUploadProgress: req.body ? (e: { loaded: number }) => req.onUploadProgress(e.loaded) : undefined,
            onDownloadProgress: (e: { loaded: number; event?: { target?: XMLHttpRequest } }) => {
              if (ownEvents) return;
              const xhr = e.event?.target;
              // axios calls back about 3 times a second, which would starve the idle watchdog and
              // `progressInterval`: from the first call on, the XHR's own progress events are
              // listened to (every ~50 ms while bytes arrive). A listener on the XHR itself, not
              // on `xhr.upload`, makes no request "non-simple".
              if (xhr && typeof xhr.addEventListener === 'function') {
                ownEvents = true;
                xhr.addEventListener('progress', (event: ProgressEvent) => downloaded(xhr, event.loaded));
              }
              downloaded(xhr, e.loaded);
            },
          })
          .then(
            (res) => {
              const unusable = notAResponse(res, (data) => data === null || data === undefined || data instanceof ArrayBuffer, context);
              if (unusable) {
                if (head) settle.reject(unusable);
                else reject(unusable);
                return;
              }
              const bytes = new Uint8Array(res.data ?? new ArrayBuffer(0));
              if (!head) open(res.status, res.statusText, lowerCaseHeaders(res.headers) as Record<string, string>, res.request?.responseURL);
              settle.resolve(bytes);
            },
            (error: unknown) => {
              const fail = (failure: unknown) => (head ? settle.reject(failure) : reject(failure));
              if (req.signal.aborted) return fail(req.signal.reason);
              // As on Node: what the caller's axios throws itself (an interceptor) is 'invalid',
              // not retried; no URL userinfo in the message.
              const mapped = error instanceof TransferError ? error : fromXhrError(error, context);
              if (!isNetworkError(mapped) || !req.body) return fail(mapped);
              // A File deleted since it was picked fails the request as a network error too: the
              // body's failure, as on Node ('invalid', not retried into the same failure).
              void goneFile(req.body).then((gone) =>
                fail(req.signal.aborted ? req.signal.reason : gone ? localFileError(`cannot send the request body, the file ${JSON.stringify(gone.file)} (deleted or moved since it was picked)`, gone.error, context) : mapped),
              );
            },
          );
      });
    },
  };
}
