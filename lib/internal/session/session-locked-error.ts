const MARK = Symbol.for('rxtransfer.SessionLockedError');

/**
 * Another owner holds the session (S8): another process (its pid is in `ownerPid` when known),
 * or another `TransferSession.open` in this process. It is not a `TransferError`: no transfer
 * and no URL is involved, and its cure (close the other owner, or wait) is not a retry.
 *
 * @example
 * ```ts
 * import { TransferSession, isSessionLockedError } from 'rxtransfer';
 * try {
 *   await TransferSession.open({ id: 'com.example.sync' });
 * } catch (e) {
 *   if (isSessionLockedError(e)) console.log(`already open in process ${e.ownerPid}`);
 * }
 * ```
 */
export class SessionLockedError extends Error {
  override name: string = 'SessionLockedError';
  readonly code = 'locked' as const;

  constructor(
    readonly sessionId: string,
    readonly ownerPid?: number,
    options?: { cause?: unknown },
  ) {
    super(`session "${sessionId}" is open elsewhere${ownerPid === undefined ? '' : ` (process ${ownerPid})`}; close it there first`, options);
    Object.defineProperty(this, MARK, { value: true });
  }
}

/** True for a {@link SessionLockedError}, also one made by another copy of the package. */
export function isSessionLockedError(value: unknown): value is SessionLockedError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARK] === true;
}
