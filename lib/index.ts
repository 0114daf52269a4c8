/**
 * rxtransfer — HTTP transfers as cold RxJS Observables.
 * This entry is platform neutral: a browser bundle of it holds no `fs`, `path`, `http` or `stream`.
 * @packageDocumentation
 */
export * from './internal/core/events.js';
export * from './internal/core/errors/index.js';
// --- EAP adapters and synchronization contexts (issue 3) ---
