/**
 * rxtransfer — HTTP transfers as cold RxJS Observables.
 * This entry is platform neutral: a browser bundle of it holds no `fs`, `path`, `http` or `stream`.
 * On Node, the package's `node` export condition loads `index.node.ts` instead, which is this
 * entry with `download`/`upload` bound to the Node platform.
 * @packageDocumentation
 */
import { createTransferApi, type DownloadFunction, type UploadFunction } from './internal/core/api.js';
import { browserPlatform } from './internal/browser/browser-platform.js';
import { createSessionApi, type TransferSession as SessionInstance, type TransferSessionStatic } from './internal/session/index.js';
import { browserSessionPlatform } from './internal/browser/session-platform.js';

export * from './internal/core/events.js';
export * from './internal/core/errors/index.js';
export type { DownloadOptions, UploadOptions, TransferOptions, TimeoutOptions, AxiosLike } from './internal/core/options.js';
export type { RetryPolicy } from './internal/core/retry.js';
export type { UploadBody, BodySource } from './internal/core/body.js';
export type { ResponseType, ResponseTypeMap, BodySink } from './internal/core/sink.js';
export type { Transport, TransportRequest, TransportResponse, OpenedBody } from './internal/core/transport.js';
export type { Platform, FileSink, FileSinkOptions } from './internal/core/platform.js';
export type { DigestAlgorithm, Hasher, HasherFactory } from './internal/core/integrity.js';
export { createTransferApi, type DownloadFunction, type UploadFunction } from './internal/core/api.js';
export { enforceGrammar } from './internal/core/grammar.js';
export { resultOf } from './internal/core/result-of.js';
export { axiosXhrTransport } from './internal/browser/axios-xhr-transport.js';

const api = createTransferApi(browserPlatform);

/**
 * Downloads a URL as a cold transfer: progress events, then one `done` with the result
 * (or one `TransferError`). Nothing happens until you subscribe; unsubscribing aborts.
 *
 * @example
 * ```ts
 * import { download } from 'rxtransfer';
 * download('https://example.com/data.json', { responseType: 'json', retry: 3 }).subscribe((e) => {
 *   if (e.type === 'progress') console.log(`${e.percent ?? '?'}%`);
 *   else console.log(e.result.data);
 * });
 * ```
 * @see docs/transfers.md
 */
export const download: DownloadFunction = api.download;

/**
 * Uploads a body as a cold transfer: upload progress, then download progress for the response,
 * then one `done` (or one `TransferError`). POST unless `method` says otherwise.
 *
 * @example
 * ```ts
 * import { upload } from 'rxtransfer';
 * upload('https://example.com/files', new Blob(['hello']), { method: 'PUT' }).subscribe((e) => {
 *   if (e.type === 'progress' && e.direction === 'upload') console.log(`${e.percent}%`);
 * });
 * ```
 * @see docs/transfers.md
 */
export const upload: UploadFunction = api.upload;

// --- EAP adapters and synchronization contexts (issue 3) ---
export * from './internal/context/index.js';
export * from './internal/eap/index.js';
// --- Background sessions (issue 4) ---
export * from './internal/session/index.js';
export { indexedDbSessionStore } from './internal/browser/session-idb-store.js';
export type { IndexedDbLike } from './internal/browser/session-idb-store.js';
/**
 * Background sessions: named, persistent, resumable transfers (IndexedDB by default in the browser).
 * @see docs/sessions.md
 */
export const TransferSession: TransferSessionStatic = createSessionApi(browserSessionPlatform({ download, upload }));
export type TransferSession = SessionInstance;
