/**
 * rxtransfer/node — file sources and sinks, and the Node transport.
 * @packageDocumentation
 */
export { fileBody } from '../internal/node/file-body.js';
export { openFileSink, PARTIAL_SUFFIX, PARTIAL_META_SUFFIX, PARTIAL_LOCK_SUFFIX } from '../internal/node/file-sink.js';
export { axiosHttpTransport } from '../internal/node/axios-http-transport.js';
export { nodePlatform } from '../internal/node/node-platform.js';
export { asyncLocalContextStore, installNodeContextStore } from './context-node.js';
export { fileSessionStore, defaultSessionDirectory, sessionDirectory, existingSessionDirectory, nodeJournalFile } from '../internal/node/session-file-store.js';
export { nodeSessionPlatform } from '../internal/node/session-platform.js';
export { liveLockOwner, type LockLease } from '../internal/node/lock-file.js';
