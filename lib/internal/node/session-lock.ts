import { SessionLockedError } from '../session/session-locked-error.js';
import { acquireLockFile, type HeldLock } from './lock-file.js';

/**
 * Takes the lock file `path` for session `sessionId` (S8), fsynced: a live owner (another
 * process, or another open in this one) makes it throw {@link SessionLockedError}; a dead one's
 * lock, or one whose lease expired, is taken over (see {@link acquireLockFile}). Resolves with the
 * lock held (its release, and `check()`). `onLost` is called once the lock is found taken over.
 */
export function acquireSessionLock(path: string, sessionId: string, onLost?: () => void): Promise<HeldLock> {
  return acquireLockFile(path, (ownerPid, detail) => new SessionLockedError(sessionId, ownerPid, detail === undefined ? undefined : { detail }), { durable: true, onLost });
}
