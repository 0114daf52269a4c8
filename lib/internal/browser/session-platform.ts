import type { DownloadFunction, UploadFunction } from '../core/api.js';
import type { SessionPlatform } from '../session/session-options.js';
import { indexedDbSessionStore } from './session-idb-store.js';

/**
 * Sessions in the browser: tasks and completions in IndexedDB (the default store). There is no
 * file system: a download keeps its response as text in the completion (its first 65,536 characters; a longer one is marked `truncated`), and an
 * upload's `file` is sent as a text body. Tasks still survive a reload and completions are
 * delivered until acknowledged; an interrupted transfer restarts from zero. A download given `to`
 * is refused when added: there is no file to write, and its body would be kept nowhere.
 */
export function browserSessionPlatform(api: { download: DownloadFunction; upload: UploadFunction }): SessionPlatform {
  return {
    name: 'browser',
    download: (url, options) => api.download(url, { ...options, to: undefined, resume: false, keepPartial: false } as never),
    upload: (url, source, options) => api.upload(url, source, options),
    defaultStore: () => indexedDbSessionStore(),
    validate: (task) =>
      task.kind === 'download' && task.to !== undefined
        ? `a session in the browser writes no file: leave out \`to\` ("${task.to.slice(0, 80)}"); the response text is kept in the completion's result.data`
        : undefined,
  };
}
