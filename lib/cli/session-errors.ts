/** Errors of the `rxtransfer session` commands, and how they are printed. */
import { CliError, ExitCode, errorCode, errorDetails, errorMessage } from './exit-codes.js';
import { printable } from './format.js';
import { writeJsonLine, type CliStreams } from './output.js';
import { SESSION_LOCKED_EXIT } from './session-access.js';

/** Options every `session` command takes. */
export interface SessionCommonFlags {
  dir?: string;
  json?: boolean;
}

/** Another process owns the session: exit {@link SESSION_LOCKED_EXIT}, `--json` code `locked`. */
export class SessionLockedCliError extends Error {
  override name = 'SessionLockedCliError';
  readonly code = 'locked';
  readonly exitCode = SESSION_LOCKED_EXIT;

  constructor(
    message: string,
    readonly hint: string,
    readonly ownerPid: number | undefined,
  ) {
    super(message);
  }
}

/** The error for a session whose lock another process holds, with what to do for `action`. */
export function lockedError(id: string, ownerPid: number | undefined, action: 'run' | 'add' | 'cancel', detail?: string): SessionLockedCliError {
  const who = (ownerPid === undefined ? 'another process' : `process ${ownerPid}`) + (detail === undefined ? '' : ` (${detail})`);
  const hint =
    action === 'run'
      ? `it is already running there; follow it with \`rxtransfer session ${id} watch\``
      : `${action === 'add' ? 'add tasks' : 'cancel tasks'} before \`run\` or once it ends (stop it with Ctrl-C: its tasks stay queued)`;
  return new SessionLockedCliError(`session "${id}" is open in ${who}, which holds its lock`, hint, ownerPid);
}

/** The exit code of an error a session command ended with. */
export function sessionExitCode(error: unknown): number {
  if (error instanceof SessionLockedCliError || error instanceof CliError) return error.exitCode;
  return ExitCode.failure;
}

/** Prints an error: one line on stderr, and the error object on stdout with `--json`. */
export function reportSessionError(streams: CliStreams, error: unknown, json: boolean): void {
  if (error instanceof SessionLockedCliError) {
    if (json) writeJsonLine(streams, { type: 'error', code: error.code, message: printable(error.message), ...(error.ownerPid !== undefined ? { ownerPid: error.ownerPid } : {}) });
    streams.stderr.write(`rxtransfer: ${printable(error.message)}; ${printable(error.hint)}\n`);
    return;
  }
  if (json) writeJsonLine(streams, { type: 'error', code: errorCode(error), message: errorMessage(error), ...errorDetails(error) });
  streams.stderr.write(`rxtransfer: ${errorMessage(error)}\n`);
}
