const MARK = Symbol.for('rxtransfer.SessionInvalidatedError');

/**
 * The session was invalidated (or closed) and takes no more work: what `download()`/`upload()`
 * and the task operations reject with afterwards.
 */
export class SessionInvalidatedError extends Error {
  override name: string = 'SessionInvalidatedError';
  readonly code = 'invalidated' as const;

  constructor(
    readonly sessionId: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`session "${sessionId}" ${reason}`, options);
    Object.defineProperty(this, MARK, { value: true });
  }
}

/** True for a {@link SessionInvalidatedError}, also one made by another copy of the package. */
export function isSessionInvalidatedError(value: unknown): value is SessionInvalidatedError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARK] === true;
}
