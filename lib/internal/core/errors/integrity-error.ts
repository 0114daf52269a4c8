import { TransferError, type TransferErrorContext, isTransferError } from './transfer-error.js';

/**
 * Why the bytes cannot be trusted: fewer than declared (`truncated`), more than declared
 * (`overflow`), more than `maxBytes` (`too-large`), not matching `integrity` (`digest`), or not
 * readable as the `responseType` asked for (`malformed`: bad JSON).
 */
export type IntegrityReason = 'truncated' | 'overflow' | 'too-large' | 'digest' | 'malformed';

/**
 * The body is not the one promised (G5). Never followed by `done`.
 *
 * @example
 * ```ts
 * import { download, isIntegrityError } from 'rxtransfer';
 * download('https://example.com/app.js', { integrity: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' }).subscribe({
 *   error: (e) => { if (isIntegrityError(e)) console.log(e.reason); }, // 'digest', 'truncated', …
 * });
 * ```
 */
export class IntegrityError extends TransferError {
  override name = 'IntegrityError' as const;
  override readonly code = 'integrity' as const;
  /** Why the body cannot be trusted: `truncated`, `overflow`, `too-large` (over `maxBytes`), `digest` (not the `integrity` given) or `malformed`. */
  readonly reason: IntegrityReason;

  constructor(reason: IntegrityReason, message: string, context: TransferErrorContext = {}) {
    super('integrity', message, context);
    this.reason = reason;
  }
}

/** True for an {@link IntegrityError}, across package copies. */
export function isIntegrityError(value: unknown): value is IntegrityError {
  return isTransferError(value) && value.code === 'integrity';
}
