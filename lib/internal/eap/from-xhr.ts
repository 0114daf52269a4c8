import { Observable } from 'rxjs';
import { CancelledError } from '../core/errors/cancelled-error.js';
import { HttpStatusError } from '../core/errors/http-status-error.js';
import { IntegrityError } from '../core/errors/integrity-error.js';
import { NetworkError, browserNetworkErrorMessage } from '../core/errors/network-error.js';
import { TimeoutError } from '../core/errors/timeout-error.js';
import { TransferError, type TransferErrorContext } from '../core/errors/transfer-error.js';
import type { DownloadResult, ResponseHeaders, Transfer, TransferDirection, TransferEvent } from '../core/events.js';
import { ForeignProgress } from './foreign-progress.js';
import { redactUrl } from '../core/redact.js';

/** A URL with `user:password@` (or `user@`) before its host. */
const USERINFO = /^[a-z][a-z\d+.-]*:\/\/[^/?#]*@/i;

/** What `fromXhr` needs of a progress event. */
export interface XhrProgressEventLike {
  readonly loaded: number;
  readonly total: number;
  readonly lengthComputable: boolean;
}

/** The part of `EventTarget` `fromXhr` uses. */
export interface XhrEventTargetLike {
  addEventListener(type: string, listener: (event: XhrProgressEventLike) => void): void;
  removeEventListener(type: string, listener: (event: XhrProgressEventLike) => void): void;
}

/** The part of `XMLHttpRequest` `fromXhr` uses: a real one, or a fake in tests. */
export interface XhrLike extends XhrEventTargetLike {
  readonly readyState: number;
  readonly status: number;
  readonly response: unknown;
  readonly responseType: string;
  readonly responseURL?: string;
  readonly timeout: number;
  readonly upload?: XhrEventTargetLike;
  send(body?: unknown): void;
  abort(): void;
  getAllResponseHeaders(): string;
}

/** Options of {@link fromXhr}. */
export interface FromXhrOptions {
  /** The request body given to `send`. */
  readonly body?: unknown;
  /** For error messages and the result when the XHR has no `responseURL`. */
  readonly url?: string;
  readonly method?: string;
}

/** What a transfer made by {@link fromXhr} resolves to: a download result plus the bytes sent. */
export interface XhrResult<T = unknown> extends DownloadResult<T> {
  readonly sent: number;
}

const DONE = 4;
const EVENTS = ['progress', 'load', 'error', 'abort', 'timeout', 'loadend'] as const;

/**
 * `XMLHttpRequest`'s events as a transfer: upload progress (from `xhr.upload`), then download
 * progress, then `done` on `load` with a 2xx/3xx status; `HttpStatusError` for >= 400,
 * `NetworkError` on `error`, `TimeoutError` on `timeout`, `CancelledError` on an `abort` we did
 * not ask for. `open` makes a configured, opened XHR per subscription (cold, G1); listeners are
 * attached before `send`, as browsers need for upload events. Unsubscribing removes them and
 * aborts the request (G6).
 *
 * @example
 * ```ts
 * import { fromXhr } from 'rxtransfer';
 * const upload$ = fromXhr(() => {
 *   const xhr = new XMLHttpRequest();
 *   xhr.open('POST', '/upload');
 *   return xhr;
 * }, { body: new Blob(['hello']) });
 * // upload$.subscribe((e) => e.type === 'progress' && console.log(e.direction, e.percent));
 * ```
 */
export function fromXhr<T = unknown>(open: () => XhrLike, options: FromXhrOptions = {}): Transfer<XhrResult<T>> {
  return new Observable<TransferEvent<XhrResult<T>>>((subscriber) => {
    const context: TransferErrorContext = { url: options.url, method: options.method };
    const progress = new ForeignProgress();
    const removers: (() => void)[] = [];
    let xhr: XhrLike | undefined;
    let ended = false;
    const end = (): void => {
      ended = true;
      for (const remove of removers.splice(0)) remove();
    };
    const fail = (error: unknown): void => {
      if (ended) return;
      end();
      subscriber.error(error);
    };
    const report = (direction: TransferDirection, e: XhrProgressEventLike): void => {
      const event = progress.update(direction, { loaded: e.loaded, total: e.lengthComputable ? e.total : undefined });
      if (event && !ended) subscriber.next(event);
    };
    const on = (target: XhrEventTargetLike, type: string, listener: (e: XhrProgressEventLike) => void): void => {
      target.addEventListener(type, listener);
      removers.push(() => target.removeEventListener(type, listener));
    };
    const onLoad = (request: XhrLike, e: XhrProgressEventLike): void => {
      if (ended) return;
      report('download', e);
      const headers = parseHeaders(request.getAllResponseHeaders());
      const status = request.status;
      if (status >= 400) return fail(new HttpStatusError(status, headers, bodyText(request), context));
      if (status === 0) return fail(new NetworkError('the request ended with status 0', undefined, context));
      const check = progress.finish('download', false);
      if (check.kind === 'short') return fail(new IntegrityError('truncated', `received ${check.loaded} of ${check.total} bytes`, context));
      end();
      // Without credentials, as every result's url (a browser's responseURL keeps `user:password@`);
      // any other URL (a `blob:` or `data:` one included) as it is.
      const raw = request.responseURL || options.url || '';
      const url = USERINFO.test(raw) ? redactUrl(raw) : raw;
      subscriber.next({ type: 'done', result: { url, status, headers, size: progress.loaded('download'), sent: progress.loaded('upload'), data: request.response as T } });
      subscriber.complete();
    };
    try {
      const request = (xhr = open());
      // Upload listeners only for a body to send: any listener on `xhr.upload` makes a
      // cross-origin request non-simple (Fetch §4.1), so a plain GET would need a CORS preflight.
      if (request.upload && options.body !== undefined && options.body !== null) {
        const upload = request.upload;
        on(upload, 'progress', (e) => report('upload', e));
        on(upload, 'load', (e) => report('upload', e));
      }
      const handlers: Record<(typeof EVENTS)[number], (e: XhrProgressEventLike) => void> = {
        progress: (e) => report('download', e),
        load: (e) => onLoad(request, e),
        error: () => fail(new NetworkError(browserNetworkErrorMessage('network error'), undefined, context)),
        abort: () => fail(new CancelledError(context, 'the request was aborted')),
        timeout: () => fail(new TimeoutError('total', request.timeout, context)),
        loadend: () => fail(new NetworkError('the request ended without a response', undefined, context)),
      };
      for (const type of EVENTS) on(request, type, handlers[type]);
      request.send(options.body ?? null);
    } catch (error) {
      // The factory threw, or gave an XHR that cannot be sent (not opened): the caller's mistake,
      // not the network's, so never retried; told after subscribe() returns, as every end is (G7).
      const message = (error as { message?: unknown } | undefined)?.message;
      const refused = new TransferError('invalid', `fromXhr: the XMLHttpRequest could not be sent: ${typeof message === 'string' ? message : String(error)}`, { ...context, cause: error });
      queueMicrotask(() => fail(refused));
    }
    return () => {
      const wasEnded = ended;
      end();
      if (!wasEnded && xhr && xhr.readyState !== DONE) xhr.abort();
    };
  });
}

function parseHeaders(raw: string): ResponseHeaders {
  const headers: Record<string, string> = {};
  for (const line of (raw ?? '').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

function bodyText(request: XhrLike): string {
  try {
    const response = request.response;
    if (typeof response === 'string') return response;
    if (response instanceof ArrayBuffer) return new TextDecoder().decode(response.slice(0, 2048));
    return response === null || response === undefined ? '' : JSON.stringify(response);
  } catch {
    return '';
  }
}
