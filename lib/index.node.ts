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

/** {@inheritDoc download} */
export const download: DownloadFunction = api.download;
/** {@inheritDoc upload} */
export const upload: UploadFunction = api.upload;

/**
 * Background sessions: named, persistent, resumable transfers, kept in files on Node.
 * @see docs/sessions.md
 */
export const TransferSession: TransferSessionStatic = createSessionApi(nodeSessionPlatform({ download, upload }));
export type TransferSession = SessionInstance;
