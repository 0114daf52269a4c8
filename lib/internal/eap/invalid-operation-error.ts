const MARK = Symbol.for('rxtransfer.InvalidOperationError');

/**
 * A call that is not valid in the object's current state, as .NET's
 * `InvalidOperationException`: starting a single-invocation operation while busy (E7), reusing a
 * pending userState (E6), reading `result` of a cancelled operation (E3), posting to a
 * completed `AsyncOperation`.
 *
 * @example
 * ```ts
 * import { isInvalidOperationError } from 'rxtransfer';
 * try {
 *   throw new Error('not yet');
 * } catch (e) {
 *   if (isInvalidOperationError(e)) console.log('called at the wrong time');
 * }
 * ```
 */
export class InvalidOperationError extends Error {
  override name = 'InvalidOperationError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, MARK, { value: true });
  }
}

/**
 * True for an {@link InvalidOperationError}, also one made by another copy of the package.
 *
 * @example
 * ```ts
 * import { isInvalidOperationError, InvalidOperationError } from 'rxtransfer';
 * isInvalidOperationError(new InvalidOperationError('busy')); // true
 * ```
 */
export function isInvalidOperationError(value: unknown): value is InvalidOperationError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARK] === true;
}
