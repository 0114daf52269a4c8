import { isTransferError, isHttpStatusError, isTimeoutError, isIntegrityError } from '../index.node.js';
import { printable } from './format.js';
import { isLocalFileError } from '../internal/node/file-sink.js';

/** The command line's exit codes (CONTRACT §5). */
export const ExitCode = {
  ok: 0,
  /** Anything else: a local file that cannot be written or renamed. */
  failure: 1,
  /** Bad arguments, an invalid URL, a file that exists without `--force`. */
  usage: 2,
  http: 3,
  network: 4,
  timeout: 5,
  integrity: 6,
  /** Ctrl-C (128 + SIGINT). */
  interrupted: 130,
  /** SIGTERM (128 + 15). */
  terminated: 143,
  /** SIGHUP (128 + 1): the terminal was closed (an ssh connection dropped). */
  hangup: 129,
  /** stdout closed by its reader (`--json | head`): what a shell reports for SIGPIPE (128 + 13). */
  brokenPipe: 141,
} as const;

/** Codes of the errors the command line itself raises, beside the library's `TransferErrorCode`s. */
export type CliErrorCode = 'usage' | 'exists' | 'io';

/** An error of the command line itself (not of the transfer), with its exit code. */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: CliErrorCode;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.exitCode = code === 'io' ? ExitCode.failure : ExitCode.usage;
  }
}

/** The exit code for whatever ended a command. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  // The disk under the download failed (no space, `to` a directory): not the arguments' fault.
  if (!isTransferError(error) || isLocalFileError(error)) return ExitCode.failure;
  return exitCodeForErrorCode(error.code);
}

/** The exit code for an error's stable `code` (a transfer's, or a stored task's), per CONTRACT §5. */
export function exitCodeForErrorCode(code: string): number {
  switch (code) {
    case 'http':
      return ExitCode.http;
    case 'network':
      return ExitCode.network;
    case 'timeout':
      return ExitCode.timeout;
    case 'integrity':
      return ExitCode.integrity;
    case 'cancelled':
      return ExitCode.interrupted;
    case 'invalid':
      return ExitCode.usage;
    default:
      return ExitCode.failure;
  }
}

/** The stable code printed in `--json` error objects. */
export function errorCode(error: unknown): string {
  if (error instanceof CliError || isTransferError(error)) return error.code;
  return 'failure';
}

/** One line, no control characters, no credentials (the library's messages already carry none). */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return printable(message);
}

/** Extra fields for a `--json` error object: status, timeout phase, integrity reason. */
export function errorDetails(error: unknown): Record<string, unknown> {
  if (isHttpStatusError(error)) return { status: error.status };
  if (isTimeoutError(error)) return { phase: error.phase, ms: error.ms };
  if (isIntegrityError(error)) return { reason: error.reason };
  return {};
}
