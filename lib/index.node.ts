/**
 * rxtransfer on Node: the same API as `index.ts`, with `download`/`upload` bound to the Node
 * platform (axios over node:http, files on disk, node:crypto). Selected by the `node` export
 * condition; the browser never loads this file.
 * @packageDocumentation
 */
import { createTransferApi, type DownloadFunction, type UploadFunction } from './internal/core/api.js';
import { nodePlatform } from './internal/node/node-platform.js';
import { installNodeContextStore } from './node/context-node.js';
import { createSessionApi, type TransferSession as SessionInstance, type TransferSessionStatic } from './internal/session/index.js';
import { nodeSessionPlatform } from './internal/node/session-platform.js';

export * from './index.js';

// SynchronizationContext.current flows across awaits and timers on Node (AsyncLocalStorage).
installNodeContextStore();

const api = createTransferApi(nodePlatform);

/**
 * Downloads a URL as a cold transfer: progress events, then one `done` with the result
 * (or one `TransferError`). Nothing happens until you subscribe; unsubscribing aborts.
 * On Node, `to` streams the body to a file (through `<to>.partial`, renamed once complete).
 *
 * @example
 * ```ts
 * import { download } from 'rxtransfer';
 * download('https://example.com/big.iso', { to: 'big.iso', retry: 3 }).subscribe((e) => {
 *   if (e.type === 'progress') console.log(`${e.percent ?? '?'}%`);
 *   else console.log(`saved ${e.result.size} bytes to ${e.result.path}`);
 * });
 * ```
 * @see docs/transfers.md
 */
export const download: DownloadFunction = api.download;

/**
 * Uploads a body as a cold transfer: upload progress, then download progress for the response,
 * then one `done` (or one `TransferError`). POST unless `method` says otherwise. On Node, a file
 * is streamed from disk with `fileBody(path)` from `rxtransfer/node`.
 *
 * @example
 * ```ts
 * import { upload } from 'rxtransfer';
 * import { fileBody } from 'rxtransfer/node';
 * upload('https://example.com/files/big.iso', fileBody('big.iso'), { method: 'PUT' }).subscribe((e) => {
 *   if (e.type === 'progress' && e.direction === 'upload') console.log(`${e.percent}%`);
 * });
 * ```
 * @see docs/transfers.md
 */
export const upload: UploadFunction = api.upload;

/**
 * Background sessions: named, persistent, resumable transfers, kept in files on Node.
 * @see docs/sessions.md
 */
export const TransferSession: TransferSessionStatic = createSessionApi(nodeSessionPlatform({ download, upload }));
export type TransferSession = SessionInstance;
