import { TransferError, isTransferError, type TransferErrorContext } from '../core/errors/transfer-error.js';

const MARK = Symbol.for('rxtransfer.SourceChangedError');

/** A file's size and modification time (ms since the epoch, as `fs.Stats.mtimeMs`). */
export interface SourceVersion {
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * The file of a session upload changed (its size or modification time) between `upload()`, which
 * recorded them, and a run of the task: sending it would send other bytes than were added. The
 * task fails with it (code `'invalid'`, never retried); add the file again to send it as it is now.
 *
 * @example
 * ```ts
 * import { TransferSession } from 'rxtransfer';
 * const session = await TransferSession.open({ id: 'com.example.sync' });
 * session.completions$.subscribe(async (c) => {
 *   if (c.error?.name === 'SourceChangedError') console.log(`${c.task.source} changed: not sent`);
 *   await c.ack();
 * });
 * ```
 * @see docs/sessions.md
 */
export class SourceChangedError extends TransferError {
  override name = 'SourceChangedError' as const;
  override readonly code = 'invalid' as const;

  constructor(
    /** The file. */
    readonly path: string,
    /** Its size and modification time when the task was added. */
    readonly expected: SourceVersion,
    /** What they are now. */
    readonly found: SourceVersion,
    context: TransferErrorContext = {},
  ) {
    const what = expected.size !== found.size ? `its size is ${found.size} bytes, ${expected.size} when the task was added` : `it was modified at ${iso(found.mtimeMs)}, after the task was added (its time then: ${iso(expected.mtimeMs)})`;
    super('invalid', `the file to upload, ${path}, changed since the task was added (${what}): not sent; add it again to send it as it is now`, context);
    Object.defineProperty(this, MARK, { value: true });
  }
}

/** True for a {@link SourceChangedError}, also one made by another copy of the package. */
export function isSourceChangedError(value: unknown): value is SourceChangedError {
  return isTransferError(value) && (value as unknown as Record<symbol, unknown>)[MARK] === true;
}

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
