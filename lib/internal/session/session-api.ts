import { SessionCore, type TransferSession } from './transfer-session.js';
import { checkSessionId, type SessionOptions, type SessionPlatform } from './session-options.js';

/** `TransferSession.open` and friends, bound to a platform. */
export interface TransferSessionStatic {
  /**
   * Opens (or reconnects to) the session named `options.id` and takes ownership of it: a second
   * opener gets a `SessionLockedError` (S8). Resolves once the stored tasks are loaded; the
   * unfinished ones start right after (resumed where they were).
   *
   * @example
   * ```ts
   * import { TransferSession } from 'rxtransfer';
   * const session = await TransferSession.open({ id: 'com.example.sync', maxConcurrent: 3 });
   * session.events$.subscribe((e) => e.type === 'progress' && console.log(e.taskId, e.percent));
   * session.finished$.subscribe(() => console.log('all done'));
   * ```
   * @see docs/sessions.md
   */
  open(options: SessionOptions): Promise<TransferSession>;
}

/** Builds `TransferSession` over a platform. Each entry point does this once. */
export function createSessionApi(platform: SessionPlatform): TransferSessionStatic {
  return {
    async open(options: SessionOptions): Promise<TransferSession> {
      if (typeof options !== 'object' || options === null) throw new TypeError('TransferSession.open needs options with an id');
      const problem = checkSessionId(options.id);
      if (problem) throw new TypeError(problem);
      for (const key of ['maxConcurrent', 'maxPerHost'] as const) {
        const value = options[key];
        if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new TypeError(`${key} must be a whole number >= 1, got ${String(value)}`);
      }
      // NaN or a negative interval would checkpoint (write the journal) on every progress event (S10).
      for (const key of ['progressInterval', 'checkpointInterval'] as const) {
        const value = options[key];
        if (value !== undefined && !(typeof value === 'number' && value >= 0 && Number.isFinite(value))) throw new TypeError(`${key} must be a finite number of ms >= 0, got ${String(value)}`);
      }
      const store = options.store ?? platform.defaultStore({ ...(options.directory !== undefined ? { directory: options.directory } : {}) });
      const handle = await store.open(options.id);
      return new SessionCore(options.id, platform, handle, options);
    },
  };
}
