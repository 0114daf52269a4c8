import type { Transport, TransportRequest, TransportResponse } from '../core/transport.js';
import { NetworkError } from '../core/errors/network-error.js';
import { localFileError } from '../core/errors/local-file-error.js';
import { hasHeader, lowerCaseHeaders } from '../core/headers.js';
import { FakeUpload } from './fake-upload.js';

/** The head a {@link FakeRequest} answers with. */
export interface FakeHead {
  status?: number;
  statusText?: string;
  headers?: Record<string, string>;
  /** The body is content-decoded (as after gzip): its length is not Content-Length. */
  decoded?: boolean;
  /** Where the response came from, when the transport followed redirects itself. Default: the request's URL. */
  url?: string;
  /**
   * Answered before the request body was read to its end (a server that refuses an upload at
   * once, as a 413 to a body that never ends): the head goes at once, the body is closed with
   * only the bytes read so far (those `uploadProgress` asked for) sent. Default: the head goes
   * once the whole body has been read.
   */
  early?: boolean;
}

/**
 * One request seen by the {@link FakeTransport}: inspect it, then drive it step by step.
 * Every method is a no-op once the core aborted the request. Once it has ended (`end`, `fail`,
 * `flush`), `chunk` and `fail` are no-ops too; `respond` answers only a head not yet answered
 * (after `end` alone: with an empty body), and the core ignores whatever comes after the
 * transfer's end.
 *
 * The request body is read as the Node transport sends it: its first `n` bytes when the test
 * reports `uploadProgress(n)`, all of it before the head `respond` answers reaches the core (unless
 * `early`). A body that fails — its source throws, it runs past or ends short of its declared
 * size, its file is gone — fails the request with a `TransferError` `'invalid'` ("cannot send
 * the request body: …"), never `done`. The source is released however the request ends (a Node
 * stream destroyed, an iterator returned).
 *
 * @example
 * ```ts
 * import { upload } from 'rxtransfer';
 * import { FakeTransport } from 'rxtransfer/testing';
 * const fake = new FakeTransport();
 * upload('https://example.com/up', 'data', { transport: fake }).subscribe();
 * const request = await fake.next();
 * console.log(request.method, request.header('content-type')); // POST text/plain;charset=UTF-8
 * request.connect().uploadProgress(4).respond({ status: 201 }).end();
 * ```
 */
export class FakeRequest {
  private chunks: Uint8Array[] = [];
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private answer!: { resolve(response: TransportResponse): void; reject(error: unknown): void };
  private answered = false;
  /** The head reached the transport (it may wait for the body after `respond`). */
  private settled = false;
  private drained = false;
  private readonly upload: FakeUpload | undefined;
  /** The headers sent, lower case: the core's, and what the Node transport adds. */
  private readonly sent: Record<string, string>;
  /** Resolves when the head is answered (used by the transport). */
  readonly response: Promise<TransportResponse>;

  constructor(readonly request: TransportRequest) {
    this.response = new Promise<TransportResponse>((resolve, reject) => (this.answer = { resolve, reject }));
    this.response.catch(() => undefined);
    const context = { url: request.url, method: request.method };
    this.upload = request.body ? new FakeUpload(request.body, request.bodySize, (error) => this.bodyFailed(localFileError('cannot send the request body', error, context))) : undefined;
    // As the Node transport sends them (axios-http-transport.ts), when the core's headers have none.
    const headers: Record<string, string> = { ...request.headers };
    if (this.upload?.contentType && !hasHeader(headers, 'content-type')) headers['Content-Type'] = this.upload.contentType;
    if (request.body && request.bodySize !== undefined && !hasHeader(headers, 'content-length')) headers['Content-Length'] = String(request.bodySize);
    if (!hasHeader(headers, 'accept-encoding')) headers['Accept-Encoding'] = 'gzip, deflate, br';
    this.sent = lowerCaseHeaders(headers);
    request.signal.addEventListener('abort', () => this.abortNow(), { once: true });
    if (request.signal.aborted) this.abortNow();
  }

  get url(): string {
    return this.request.url;
  }
  get method(): string {
    return this.request.method;
  }
  /**
   * A header sent, by case-insensitive name: the core's (`request.headers`), and those the Node
   * transport adds when they are not among them: `Content-Length` of a body of known size, the
   * multipart `Content-Type` of a FormData, `Accept-Encoding: gzip, deflate, br`.
   */
  header(name: string): string | undefined {
    return this.sent[name.toLowerCase()];
  }
  /** True once the core aborted this request (unsubscribe, timeout, cancel). */
  get aborted(): boolean {
    return this.request.signal.aborted;
  }

  /**
   * True once nothing of this request can be left open: the core aborted it, the test failed it,
   * or the core read its body to the end. A request that is not released after its transfer ended
   * is a connection the core forgot (G6).
   */
  get released(): boolean {
    return this.aborted || this.failure !== undefined || this.drained;
  }

  /** Reports that the connection is up. */
  connect(): this {
    if (!this.aborted) this.request.onConnect();
    return this;
  }
  /** Reports `loaded` request-body bytes handed to the network, and reads the body that far. */
  uploadProgress(loaded: number): this {
    if (this.aborted) return this;
    this.request.onUploadProgress(loaded);
    this.upload?.want(loaded);
    return this;
  }
  /** Reports the body's bytes received so far (decoded ones for a `decoded` response), as a buffering transport (XHR) does. */
  downloadProgress(loaded: number): this {
    if (!this.aborted) this.request.onDownloadProgress(loaded);
    return this;
  }
  /**
   * Answers the head: it reaches the core once the request body has been read (at once with
   * `early`). A head that HTTP gives no body (to a HEAD, a 204, a 304) ends the body as it
   * goes, as a Node response's ends: no `end()` is needed.
   */
  respond(head: FakeHead = {}): this {
    if (this.answered || this.aborted) return this;
    this.answered = true;
    const response: { -readonly [K in keyof TransportResponse]: TransportResponse[K] } = {
      status: head.status ?? 200,
      statusText: head.statusText ?? '',
      headers: lowerCaseHeaders(head.headers ?? {}),
      url: head.url ?? this.request.url,
      decoded: head.decoded ?? false,
      body: this.body(),
    };
    const upload = this.upload;
    if (upload && head.early) {
      upload.close();
      response.sent = () => Math.min(upload.read, this.request.bodySize ?? upload.read);
    }
    if (upload && !head.early) upload.whenRead(() => this.settle(response));
    else this.settle(response);
    return this;
  }
  /** Sends body bytes (after {@link respond}). */
  chunk(data: Uint8Array | string): this {
    if (this.ended || this.aborted) return this;
    this.chunks.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    this.poke();
    return this;
  }
  /** Ends the body. */
  end(): this {
    this.ended = true;
    this.poke();
    return this;
  }
  /** Fails the request: before the head, `send` rejects; after, the body breaks. */
  fail(error: unknown = new NetworkError('connection reset', 'ECONNRESET', { url: this.url, method: this.method })): this {
    if (this.ended || this.aborted) return this;
    this.ended = true;
    this.failure = error;
    this.answered = true;
    this.rejectHead(error);
    this.upload?.close();
    this.poke();
    return this;
  }
  /** Answers head, body and end at once. */
  flush(body: Uint8Array | string = '', head: FakeHead = {}): this {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const headers = { 'content-length': String(bytes.byteLength), ...(head.headers ?? {}) };
    return this.respond({ ...head, headers }).chunk(bytes).end();
  }

  private abortNow(): void {
    if (!this.ended) this.failure ??= new NetworkError('aborted', 'ECONNABORTED', { url: this.url, method: this.method });
    this.ended = true;
    this.answered = true;
    this.rejectHead(this.failure);
    this.upload?.close();
    this.poke();
  }

  /** The request body failed: as with the Node transport, the request fails with it, the head unanswered. */
  private bodyFailed(error: unknown): void {
    if (this.aborted || this.failure !== undefined) return;
    this.ended = true;
    this.failure = error;
    this.answered = true;
    this.rejectHead(error);
    this.poke();
  }

  private settle(response: TransportResponse): void {
    if (this.settled) return;
    this.settled = true;
    // No body by HTTP's framing (to a HEAD, a 204, a 304): it ends by itself, as a Node
    // response's does, without the test's `end()` (the core reads a redirect's to its end).
    const empty = this.method === 'HEAD' || response.status === 204 || response.status === 304;
    if (empty && !this.ended) {
      this.ended = true;
      this.poke();
    }
    this.answer.resolve(response);
  }

  private rejectHead(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.answer.reject(error);
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async *body(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.chunks.length > 0) {
        yield this.chunks.shift()!;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) {
        this.drained = true;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/**
 * A transport you drive from a test, as Angular's HttpTestingController: pass it as
 * `transport`, then take each request and answer it.
 *
 * @example
 * ```ts
 * import { download } from 'rxtransfer';
 * import { FakeTransport } from 'rxtransfer/testing';
 * const fake = new FakeTransport();
 * download('https://example.com/a', { transport: fake, responseType: 'text' }).subscribe(console.log);
 * (await fake.next()).flush('hello');
 * ```
 */
export class FakeTransport implements Transport {
  readonly name = 'fake';
  readonly streamsBodies: boolean;
  readonly followsRedirects: boolean;
  /** Every request seen, in order. */
  readonly requests: FakeRequest[] = [];
  private waiting: Array<(request: FakeRequest) => void> = [];
  private readonly onRequest: ((request: FakeRequest) => void) | undefined;

  /**
   * By default it imitates the Node transport. `followsRedirects: true, streamsBodies: false`
   * imitate a browser's (XHR): redirects are followed out of sight of the core (answer with the
   * head's `url`), and a stream body (an async iterable, a `BodySource`) fails with `'invalid'`
   * before any request, as it does there.
   */
  constructor(options: { followsRedirects?: boolean; streamsBodies?: boolean; onRequest?: (request: FakeRequest) => void } = {}) {
    this.followsRedirects = options.followsRedirects ?? false;
    this.streamsBodies = options.streamsBodies ?? true;
    this.onRequest = options.onRequest;
  }

  send(request: TransportRequest): Promise<TransportResponse> {
    const fake = new FakeRequest(request);
    this.requests.push(fake);
    const waiter = this.waiting.shift();
    waiter?.(fake);
    this.onRequest?.(fake);
    return fake.response;
  }

  /** The next request not yet taken: resolves when it arrives. */
  next(): Promise<FakeRequest> {
    const taken = this.taken;
    if (taken < this.requests.length) {
      this.taken++;
      return Promise.resolve(this.requests[taken]!);
    }
    return new Promise<FakeRequest>((resolve) =>
      this.waiting.push((request) => {
        this.taken++;
        resolve(request);
      }),
    );
  }
  private taken = 0;
}
