const MARK = Symbol.for('rxtransfer.SessionLockedError');

/**
 * Another owner holds the session (S8): another process (its pid is in `ownerPid` when known),
 * or another `TransferSession.open` in this process. `detail` says more where the library can
 * tell: for an owner on another host or in another container, where it is and when its lock is
 * taken over if it stops renewing it. It is not a `TransferError`: no transfer
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

  /** Where the owner is and when its lock expires, when the library can tell (see the class). */
  readonly detail?: string;

  constructor(
    readonly sessionId: string,
    readonly ownerPid?: number,
    options?: { cause?: unknown; detail?: string },
  ) {
    const about = [ownerPid === undefined ? undefined : `process ${ownerPid}`, options?.detail].filter((s) => s !== undefined).join(', ');
    super(`session "${sessionId}" is open elsewhere${about ? ` (${about})` : ''}; close it there first`, options);
    if (options?.detail !== undefined) this.detail = options.detail;
    Object.defineProperty(this, MARK, { value: true });
  }
}

/** True for a {@link SessionLockedError}, also one made by another copy of the package. */
export function isSessionLockedError(value: unknown): value is SessionLockedError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARK] === true;
}
