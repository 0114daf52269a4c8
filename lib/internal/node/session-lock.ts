import { SessionLockedError } from '../session/session-locked-error.js';
import { acquireLockFile } from './lock-file.js';

/**
 * Takes the lock file `path` for session `sessionId` (S8), fsynced: a live owner (another
 * process, or another open in this one) makes it throw {@link SessionLockedError}; a dead one's
 * lock is taken over (see {@link acquireLockFile}). Resolves with the release.
 */
export function acquireSessionLock(path: string, sessionId: string): Promise<() => Promise<void>> {
  return acquireLockFile(path, (ownerPid) => new SessionLockedError(sessionId, ownerPid), { durable: true });
}
