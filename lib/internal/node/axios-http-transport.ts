import axios from 'axios';
import type { IncomingMessage } from 'node:http';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { AxiosLike } from '../core/options.js';
import type { Transport, TransportRequest, TransportResponse } from '../core/transport.js';
import { NetworkError } from '../core/errors/network-error.js';
import { IntegrityError } from '../core/errors/integrity-error.js';
import { fromAxiosError } from '../axios/axios-errors.js';
import { connectAwareTransport } from './connect-aware.js';
import { countedUploadStream, type CountedUpload } from './upload-stream.js';
import { localFileError } from './file-sink.js';
import { lowerCaseHeaders } from '../core/headers.js';
import { ATTEMPT_ABORT, type WithAttemptAbort } from '../core/abort.js';

const noop = (): void => undefined;

/** Encodings this transport can decode; others are passed through as raw bytes of unknown length. */
const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/** The credentials a client may add by default (G11); `Proxy-Authorization` stays: it is the proxy's. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie'] as const;

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase() === name);
}

/**
 * The Node transport: axios' `http` adapter with redirects left to the core (`maxRedirects: 0`,
 * which also keeps axios from buffering upload bodies), responses as streams, decoding done
 * here so that the core knows when Content-Length no longer counts the body.
 */
export function axiosHttpTransport(instance?: AxiosLike): Transport {
  const client = (instance ?? axios) as unknown as { request(config: unknown): Promise<{ status: number; statusText: string; headers: unknown; data: IncomingMessage }> };
  return {
    name: 'axios-http',
    followsRedirects: false,
    streamsBodies: true,
    async send(req: TransportRequest): Promise<TransportResponse> {
      const context = { url: req.url, method: req.method };
      // The core's own requests carry their attempt's abort: listened to by the socket layer
      // (connect-aware.ts) instead of an AbortSignal handed to axios, when nothing can route the
      // request past that layer. Otherwise axios gets the signal, as from any other caller.
      const abort = abortsDirectly(client, instance !== undefined) ? (req as TransportRequest & WithAttemptAbort)[ATTEMPT_ABORT] : undefined;
      const signal = abort ? undefined : req.signal;
      const headers: Record<string, string> = { ...req.headers };
      let data: Readable | undefined;
      let upload: CountedUpload | undefined;
      // A body is read once the connection is up (G4, G9: see countedUploadStream), where the
      // socket layer is sure to report it: on the direct path. It is let go on abort or failure too.
      let letGo = noop;
      const connected = abort && req.body ? new Promise<void>((resolve) => (letGo = resolve)) : undefined;
      const onConnect = connected ? () => (letGo(), req.onConnect()) : req.onConnect;
      if (req.body) {
        upload = countedUploadStream(req.body, req.onUploadProgress, { size: req.bodySize, connected });
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
      if (crossOrigin) for (const name of CREDENTIAL_HEADERS) if (!hasHeader(headers, name)) (headers as Record<string, string | false>)[name] = false;
      let response;
      try {
        const config: Record<string, unknown> = {
          url: req.url,
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
          transport: connectAwareTransport(onConnect, abort, crossOrigin),
        };
        if (signal) config['signal'] = signal;
        if (crossOrigin) config['auth'] = null;
        response = await client.request(config);
      } catch (error) {
        data?.destroy();
        letGo();
        if (abort ? abort.aborted : signal!.aborted) throw abort ? abort.reason : signal!.reason;
        // The body's own failure (a file gone or changed, a source that threw) is local: not
        // the network's, and no retry can mend it.
        const failed = upload?.failure();
        if (failed) throw localFileError('cannot send the request body', failed, context);
        throw fromAxiosError(error, context);
      }
      const raw = response.data;
      const responseHeaders = lowerCaseHeaders(response.headers);
      const encoding = responseHeaders['content-encoding']?.trim().toLowerCase();
      // No body to decode: HEAD, 204, 304, or an empty one (`Content-Length: 0` under gzip is no gzip stream at all).
      const empty = req.method === 'HEAD' || response.status === 204 || response.status === 304 || responseHeaders['content-length']?.trim() === '0';
      const decoder = encoding && !empty ? DECODERS[encoding] : undefined;
      let body: Readable = raw;
      if (decoder) {
        const stream = decoder() as unknown as Readable;
        body = pipeline(raw, stream as never, () => undefined) as unknown as Readable;
      }
      return {
        status: response.status,
        statusText: response.statusText ?? '',
        headers: responseHeaders,
        url: req.url,
        decoded: decoder !== undefined,
        body: chunks(body, raw, context, data),
      };
    },
  };
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
async function* chunks(body: Readable, raw: IncomingMessage, context: { url: string; method: string }, upload: Readable | undefined): AsyncGenerator<Uint8Array> {
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
    body.destroy();
    raw.destroy();
    upload?.destroy();
  }
}
