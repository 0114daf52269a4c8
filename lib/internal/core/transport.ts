import type { ResponseHeaders } from './events.js';

/**
 * A request body opened for one attempt. Transports send it as they can:
 * all of them take bytes, text, Blob and FormData; `stream` needs a streaming transport (Node).
 */
export type OpenedBody =
  | { readonly kind: 'bytes'; readonly data: Uint8Array }
  | { readonly kind: 'blob'; readonly data: Blob }
  | { readonly kind: 'form'; readonly data: FormData }
  | { readonly kind: 'stream'; readonly data: AsyncIterable<Uint8Array> };

/** One HTTP exchange as the core asks a transport to perform it. No redirects are followed by the core's request. */
export interface TransportRequest {
  readonly url: string;
  readonly method: string;
  /** Header names as the user gave them; the transport must not add credentials of its own. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: OpenedBody | undefined;
  /** Body size in bytes when known (sent as Content-Length). */
  readonly bodySize: number | undefined;
  /**
   * Send `Expect: 100-continue` and hold the body back until the server's `100 Continue`, or for
   * this many ms: for transports that can (Node's); others ignore it. Absent: send the body at once.
   */
  readonly expectContinue?: number;
  /**
   * True when a redirect has taken the transfer away from its first origin (G11): the transport
   * then sends no credentials but those in `headers` — none of its own defaults (an axios
   * instance's default `Authorization`, `Cookie` or `auth`), none an interceptor adds. Absent or
   * false for the first hop.
   */
  readonly crossOrigin?: boolean;
  /**
   * The caller's `sensitiveHeaders` (lower-case names): with `crossOrigin`, the transport sends
   * none of these either but those in `headers` (an axios instance's default `X-Api-Key`, one an
   * interceptor sets), as for `Authorization`.
   */
  readonly sensitiveHeaders?: ReadonlySet<string>;
  /** Aborts the exchange: the transport closes the connection and rejects (or ends the body) promptly. */
  readonly signal: AbortSignal;
  /** Cumulative bytes of the body handed to the network in this exchange. */
  onUploadProgress(loaded: number): void;
  /** The connection is established (transports that can tell). */
  onConnect(): void;
  /**
   * Cumulative bytes of the body received, for transports that buffer the body before handing it
   * over: counted as the body is delivered (decoded, when the response is `decoded`), as XHR's
   * progress events count them, so that they meet the chunks' count and `maxBytes`.
   */
  onDownloadProgress(loaded: number): void;
  /** Bytes arrived that no chunk of the body shows yet (a coded body's, before its decoder gives any): the idle clock starts over (G9). */
  onActivity(): void;
}

/** The head of a response and its body, as a stream of chunks. */
export interface TransportResponse {
  readonly status: number;
  readonly statusText: string;
  /** Header names in lower case. */
  readonly headers: ResponseHeaders;
  /** Where the response came from (differs from the request only for transports that follow redirects). */
  readonly url: string;
  /** True when the body was content-decoded (gzip, br…): Content-Length does not count its bytes. */
  readonly decoded: boolean;
  /** The body. Breaking out of the iteration releases it. */
  readonly body: AsyncIterable<Uint8Array>;
  /**
   * Bytes of the request body handed to the network so far, for a transport that counts them
   * (its last `onUploadProgress`). Less than the body at the head when the server answered before
   * taking all of it; it may grow after. Absent: a response is taken to mean the whole body went out.
   */
  readonly sent?: () => number;
  /**
   * For a transport that holds the request body back (`expectContinue`): when the server
   * answered before any of it was read from its source, takes the opened body back for the
   * caller, who may send it on another request (a redirect, a retry) or must close it; this
   * request neither reads nor closes it any more. False, and nothing done, once any of it was
   * read. Absent: the body is taken to be consumed.
   */
  readonly reclaim?: () => boolean;
}

/**
 * What moves bytes: `send` resolves with the response head once it is known, rejects with a
 * `TransferError` (or anything, which the core wraps) on failure.
 * @see Angular's `HttpBackend`, tus-js-client's `HttpStack`.
 */
export interface Transport {
  /** A short name for diagnostics. */
  readonly name: string;
  /** True when the transport follows redirects itself (a browser's XHR): the core then cannot apply G11's redirect rules. */
  readonly followsRedirects: boolean;
  /** True when the transport can send `stream` bodies. */
  readonly streamsBodies: boolean;
  send(request: TransportRequest): Promise<TransportResponse>;
}
