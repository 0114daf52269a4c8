import axios from 'axios';
import type { IncomingMessage } from 'node:http';
import { pipeline, Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { AxiosLike } from '../core/options.js';
import type { Transport, TransportRequest, TransportResponse } from '../core/transport.js';
import { NetworkError } from '../core/errors/network-error.js';
import { IntegrityError } from '../core/errors/integrity-error.js';
import { fromAxiosError, notAResponse } from '../axios/axios-errors.js';
import { connectAwareTransport } from './connect-aware.js';
import { countedUploadStream, type CountedUpload } from './upload-stream.js';
import { ContinueGate } from './continue-gate.js';
import { localFileError } from './file-sink.js';
import { hasHeader, lowerCaseHeaders } from '../core/headers.js';
import { redactUrl } from '../core/redact.js';
import { ATTEMPT_ABORT, type WithAttemptAbort } from '../core/abort.js';

const noop = (): void => undefined;

/**
 * Content codings this transport decodes, each made for the first bytes it will read. `deflate`
 * is zlib-wrapped as RFC 9110 says, or raw, as some servers send it (axios and browsers take both).
 */
const DECODERS: Record<string, (first: Uint8Array | undefined) => Transform> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: (first) => (first === undefined || isZlibHeader(first) ? zlib.createInflate() : zlib.createInflateRaw()),
  br: () => zlib.createBrotliDecompress(),
};

/** More layers than this is no real server's answer: passed through undecoded. */
const MAX_CODINGS = 3;

/** RFC 1950's header: CM 8 (deflate) in the low nibble, and the two bytes a multiple of 31. */
function isZlibHeader(bytes: Uint8Array): boolean {
  return (bytes[0]! & 0x0f) === 8 && (bytes.length < 2 || ((bytes[0]! << 8) | bytes[1]!) % 31 === 0);
}

/**
 * The codings of a Content-Encoding header, in the order they were applied (`identity` left out);
 * undefined when one is not decoded here: the body is then passed on as raw bytes of unknown length.
 */
function codingsOf(header: string | undefined): string[] | undefined {
  const codings = (header ?? '').split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
  return codings.length <= MAX_CODINGS && codings.every((c) => Object.hasOwn(DECODERS, c)) ? codings : undefined;
}

/**
 * The body with its codings undone, last applied first. An empty body is empty whatever its label
 * (gzip middleware labels empty answers too). A coding that fails on a body whose HTTP framing
 * arrived whole is an IntegrityError ('malformed'): the same bytes would come again, so it is not
 * the network's to retry. A body cut short fails as the raw body does (chunks() tells which).
 * Read only once the core reads the body: a listener on `raw` before then would make it flow
 * into nothing.
 */
async function* decoded(raw: IncomingMessage, codings: readonly string[], context: { url: string; method: string }, onActivity: () => void): AsyncGenerator<Uint8Array> {
  const source = raw[Symbol.asyncIterator]();
  let rawFailed = false;
  const next = async (): Promise<IteratorResult<Buffer>> => {
    try {
      const chunk = (await source.next()) as IteratorResult<Buffer>;
      // A decoder can hold bytes back (a gzip header, a block): each raw one still resets the idle clock.
      if (!chunk.done) onActivity();
      return chunk;
    } catch (error) {
      rawFailed = true;
      throw error;
    }
  };
  const first = await next();
  if (first.done) return;
  let rawEnded = false;
  async function* all(): AsyncGenerator<Buffer> {
    yield first.value as Buffer;
    for (let chunk = await next(); !chunk.done; chunk = await next()) yield chunk.value;
    rawEnded = true;
  }
  const layers = [...codings].reverse().map((coding, i) => DECODERS[coding]!(i === 0 ? first.value : undefined));
  const out = pipeline([Readable.from(all(), { objectMode: false }), ...layers] as never, () => undefined) as unknown as Readable;
  try {
    for await (const chunk of out) yield chunk as Buffer;
  } catch (error) {
    // The connection's failure, or a body that ended short of its framing: chunks() says which.
    // Otherwise the decoder failed on bytes that arrived: the body is not what it is labelled.
    if (rawFailed || (rawEnded && !raw.complete)) throw error;
    throw new IntegrityError('malformed', `the body is not valid ${codings.join(', ')}: ${(error as Error).message ?? String(error)}`, { ...context, cause: error });
  } finally {
    out.destroy();
  }
}

/** The credentials a client may add by default (G11); `Proxy-Authorization` is judged where the request leaves (connect-aware.ts): the proxy's own stays. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie'] as const;

/**
 * The headers a hop past the first origin sends only when the core gave them (lower case):
 * credentials and the caller's sensitive ones, never the proxy's own `Proxy-Authorization`.
 */
function withheldHeaders(sensitive: ReadonlySet<string> | undefined): readonly string[] {
  if (sensitive === undefined || sensitive.size === 0) return CREDENTIAL_HEADERS;
  return [...CREDENTIAL_HEADERS, ...[...sensitive].filter((name) => name !== 'proxy-authorization' && !(CREDENTIAL_HEADERS as readonly string[]).includes(name))];
}

/**
 * The Node transport: axios' `http` adapter with redirects left to the core (`maxRedirects: 0`,
 * which also keeps axios from buffering upload bodies), responses as streams, decoding done
 * here so that the core knows when Content-Length no longer counts the body.
 */
export function axiosHttpTransport(instance?: AxiosLike): Transport {
  const client = (instance ?? axios) as unknown as Client;
  const given = instance !== undefined;
  return {
    name: 'axios-http',
    followsRedirects: false,
    streamsBodies: true,
    send: (req: TransportRequest) => exchange(client, given, req, req.expectContinue),
  };
}

type Client = { request(config: unknown): Promise<{ status: number; statusText: string; headers: unknown; data: IncomingMessage }>; defaults?: { httpVersion?: unknown } };

/** Whether an `Expect` header value asks for 100-continue (RFC 9110: the only expectation defined). */
const isContinue = (value: string | undefined): boolean => value !== undefined && value.trim().toLowerCase() === '100-continue';

/**
 * One request of the transport. `expectMs`: send `Expect: 100-continue` and hold the body back
 * until the server's 100 or for that long (see {@link ContinueGate}), unless the caller set an
 * `Expect` header of their own (then the body waits only if it asks for 100-continue). A server
 * that does not meet the expectation (417) is asked again once without it, with the same body,
 * still unread.
 */
async function exchange(client: Client, given: boolean, req: TransportRequest, expectMs: number | undefined): Promise<TransportResponse> {
  const context = { url: req.url, method: req.method };
  // The core's own requests carry their attempt's abort: listened to by the socket layer
  // (connect-aware.ts) instead of an AbortSignal handed to axios, when nothing can route the
  // request past that layer. Otherwise axios gets the signal, as from any other caller.
  const abort = abortsDirectly(client, given) ? (req as TransportRequest & WithAttemptAbort)[ATTEMPT_ABORT] : undefined;
  const signal = abort ? undefined : req.signal;
  const headers: Record<string, string> = { ...req.headers };
  let data: Readable | undefined;
  let upload: CountedUpload | undefined;
  // A body is read once the connection is up (G4, G9: see countedUploadStream), where the
  // socket layer is sure to report it: on the direct path. It is let go on abort or failure too.
  let letGo = noop;
  const connected = abort && req.body ? new Promise<void>((resolve) => (letGo = resolve)) : undefined;
  // With 100-continue, the body also waits for the server's 100 (or the wait to run out),
  // counted from the request going out, then (once the socket layer has it) only from its
  // connection being up: a request the socket layer never sees (an interceptor's own adapter)
  // still sends its body then.
  const own = Object.keys(headers).find((name) => name.toLowerCase() === 'expect');
  const expecting = req.body !== undefined && expectMs !== undefined && (own !== undefined ? isContinue(headers[own]) : client.defaults?.httpVersion !== 2);
  // An empty Expect asks for no expectation at all (curl's `-H 'Expect:'`): none is sent (`false`
  // keeps a client default out too), and the body goes at once. Sent as it is, it gets a 417.
  if (own !== undefined && headers[own]!.trim() === '') (headers as Record<string, string | false>)[own] = false;
  if (expecting && own === undefined) headers['Expect'] = '100-continue';
  const gate = expecting ? new ContinueGate(expectMs) : undefined;
  gate?.arm();
  const onConnect = connected || gate ? () => (letGo(), gate?.arm(), req.onConnect()) : req.onConnect;
  if (req.body) {
    const ready = gate ? (connected ? Promise.all([connected, gate.opened]) : gate.opened) : connected;
    upload = countedUploadStream(req.body, req.onUploadProgress, { size: req.bodySize, gate: ready as Promise<void> | undefined });
    data = upload.stream;
    // The source (a file, a generator) is released however the exchange ends: a request
    // destroyed after its head (unsubscribed, timed out, redirected) leaves a piped body
    // paused forever otherwise, its file still open.
    const stream = data;
    const release = () => (stream.destroy(), letGo());
    if (abort) abort.onAbort(release);
    else signal!.addEventListener('abort', release, { once: true });
    if (upload.contentType && !hasHeader(headers, 'content-type')) headers['Content-Type'] = upload.contentType;
    if (req.bodySize !== undefined && !hasHeader(headers, 'content-length')) headers['Content-Length'] = String(req.bodySize);
  }
  if (!hasHeader(headers, 'accept-encoding')) headers['Accept-Encoding'] = 'gzip, deflate, br';
  // Past the first origin (G11): the hop's headers hold no credentials any more (the core
  // dropped them); `false` keeps the client's defaults from adding them back, and the socket
  // layer strips any an interceptor set (connect-aware.ts).
  const crossOrigin = req.crossOrigin === true;
  // The caller's sensitiveHeaders are credentials too: withheld the same way.
  const withheld = crossOrigin ? withheldHeaders(req.sensitiveHeaders) : undefined;
  if (withheld) for (const name of withheld) if (!hasHeader(headers, name)) (headers as Record<string, string | false>)[name] = false;
  let response;
  try {
    const config: Record<string, unknown> = {
      // An Authorization of the caller's own wins over the URL's `user:password@` (as with curl):
      // axios would replace it with Basic credentials made from the URL.
      url: hasHeader(headers, 'authorization') ? redactUrl(req.url) : req.url,
      method: req.method,
      headers,
      data,
      adapter: 'http',
      responseType: 'stream',
      decompress: false,
      maxRedirects: 0,
      maxBodyLength: Number.POSITIVE_INFINITY,
      // -1, not Infinity: any limit > -1 makes axios wrap the stream in a Readable.from(), and
      // `data` is then no longer the IncomingMessage whose `complete` and headers are read below.
      maxContentLength: -1,
      validateStatus: null,
      transport: connectAwareTransport(onConnect, abort, withheld, gate),
    };
    if (signal) config['signal'] = signal;
    if (crossOrigin) config['auth'] = null;
    response = await client.request(config);
  } catch (error) {
    gate?.shut();
    data?.destroy();
    letGo();
    if (abort ? abort.aborted : signal!.aborted) throw abort ? abort.reason : signal!.reason;
    // The body's own failure (a file gone or changed, a source that threw) is local: not
    // the network's, and no retry can mend it.
    const failed = upload?.failure();
    if (failed) throw localFileError('cannot send the request body', failed, context);
    throw fromAxiosError(error, context);
  }
  const unusable = notAResponse(response, (body) => body instanceof Readable, context);
  if (unusable) {
    // What it resolved with may be the response stream itself: its connection is let go.
    for (const stream of [response, (response as { data?: unknown } | undefined)?.data]) if (stream instanceof Readable) stream.destroy();
    data?.destroy();
    throw unusable;
  }
  const raw = response.data;
  // 417: the server will not meet the expectation. Asked again without it, with the body
  // still unread (the gate held it), as curl does; not when the caller set the header.
  if (gate && own === undefined && response.status === 417 && upload!.detach()) {
    raw.destroy();
    return exchange(client, given, req, undefined);
  }
  const responseHeaders = lowerCaseHeaders(response.headers);
  // No body to decode: HEAD, 204, 304, or an empty one (`Content-Length: 0` under gzip is no gzip stream at all).
  const empty = req.method === 'HEAD' || response.status === 204 || response.status === 304 || responseHeaders['content-length']?.trim() === '0';
  const codings = empty ? [] : codingsOf(responseHeaders['content-encoding']);
  const decoding = codings !== undefined && codings.length > 0;
  const answer: { -readonly [K in keyof TransportResponse]: TransportResponse[K] } = {
    status: response.status,
    statusText: response.statusText ?? '',
    headers: responseHeaders,
    url: req.url,
    decoded: decoding,
    body: chunks(decoding ? decoded(raw, codings, context, req.onActivity) : raw, raw, context, data),
  };
  // A server may answer before it has taken the whole body: the core then claims no more than went out.
  if (upload) {
    answer.sent = upload.sent;
    // Answered while the body was held back (100-continue): the core may take it back unread.
    answer.reclaim = upload.reclaim;
  }
  return answer;
}

/**
 * Whether an abort can go straight to the `ClientRequest` this transport makes: only with axios'
 * default instance, and only while it has no request interceptors and no HTTP/2 default. A
 * caller's instance may send over HTTP/2 or have interceptors that change the adapter (either
 * takes the request past `config.transport`) or read `config.signal`; those get a signal.
 */
function abortsDirectly(client: unknown, given: boolean): boolean {
  if (given) return false;
  const c = client as { defaults?: { httpVersion?: unknown }; interceptors?: { request?: { handlers?: unknown } } };
  const handlers = c.interceptors?.request?.handlers;
  return c.defaults?.httpVersion !== 2 && Array.isArray(handlers) && !handlers.some((h) => h !== null && h !== undefined);
}

/**
 * The body as chunks; a broken connection becomes a NetworkError. Leaving early destroys the stream.
 * A decoded body is counted in its encoded bytes too: the core cannot see its Content-Length, so
 * one cut short of it is reported here as an IntegrityError (G5), as an identity body would be.
 */
async function* chunks(body: AsyncIterable<Uint8Array>, raw: IncomingMessage, context: { url: string; method: string }, upload: Readable | undefined): AsyncGenerator<Uint8Array> {
  const header = body !== raw ? raw.headers?.['content-length'] : undefined;
  const declared = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  let received = 0;
  if (declared !== undefined) raw.on('data', (chunk: Buffer) => void (received += chunk.length));
  const truncated = (cause?: unknown) =>
    declared !== undefined && raw.complete === false && received < declared
      ? new IntegrityError('truncated', `encoded body ended after ${received} of ${declared} bytes declared`, { ...context, cause })
      : undefined;
  try {
    for await (const chunk of body) yield chunk as Buffer;
    if (raw.complete === false) throw truncated() ?? new NetworkError('connection closed before the body ended', 'ECONNRESET', context);
  } catch (error) {
    if (error instanceof NetworkError || error instanceof IntegrityError) throw error;
    const errno = (error as { code?: string }).code;
    throw truncated(error) ?? new NetworkError(`body interrupted: ${(error as Error).message ?? String(error)}`, errno, { ...context, cause: error });
  } finally {
    raw.destroy();
    upload?.destroy();
  }
}
