import { ExitCode } from './exit-codes.js';

/** Ctrl-C (SIGINT), SIGTERM, SIGHUP, or a stdout that can no longer be written, turned into an AbortSignal for the transfer. */
export interface Interrupt {
  /** Aborted on the first SIGINT, SIGTERM or SIGHUP, or when writing to stdout fails. */
  readonly signal: AbortSignal;
  /**
   * Which signal arrived, if one did (`SIGPIPE`: stdout's reader went away; `output`: another
   * write error on stdout, such as a full disk under `--json > file`).
   */
  readonly received: Signal | 'SIGPIPE' | 'output' | undefined;
  /** With `received` `output`: the error writing to stdout. */
  readonly outputError: NodeJS.ErrnoException | undefined;
  /** The exit code for the signal that arrived (130, 143, 129 or 141; 1 for `output`). */
  readonly exitCode: number;
  /** Removes the handlers: the default behaviour (terminate) comes back. */
  dispose(): void;
}

/** The signals that end a command cleanly, and their exit codes (128 + the signal's number). */
type Signal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const SIGNAL_EXIT: Record<Signal, number> = { SIGINT: ExitCode.interrupted, SIGTERM: ExitCode.terminated, SIGHUP: ExitCode.hangup };

/**
 * Listens for SIGINT, SIGTERM and SIGHUP (the terminal closed: an ssh connection that dropped).
 * The first one aborts the signal, so the transfer ends cleanly (the request is aborted, the
 * partial file is flushed and kept, a session's tasks stay queued); a second one exits at once,
 * for a user who does not want to wait.
 */
export function listenForInterrupt(stdout?: NodeJS.EventEmitter): Interrupt {
  const controller = new AbortController();
  let received: Signal | 'SIGPIPE' | 'output' | undefined;
  let outputError: NodeJS.ErrnoException | undefined;
  /** A signal came already: the next one exits at once (also after stdout closed). */
  let signalled = false;
  const handler = (name: Signal) => {
    if (signalled) process.exit(SIGNAL_EXIT[name]);
    signalled = true;
    // A Ctrl-C after stdout closed is what ends the run: its exit code, not the pipe's.
    received = name;
    controller.abort();
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  const onHup = () => handler('SIGHUP');
  // `--json | head`: the reader has what it wanted. Node ignores SIGPIPE, so the write fails
  // instead; the run then ends as on Ctrl-C (partial file kept), quietly, with the shell's 141.
  // Any other write error (a full disk under `> file`) ends it the same way, with 1: its output is lost.
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (received || error?.code === 'ERR_STREAM_DESTROYED') return;
    received = error?.code === 'EPIPE' ? 'SIGPIPE' : 'output';
    if (received === 'output') outputError = error;
    controller.abort();
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);
  stdout?.on('error', onStdoutError);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get outputError() {
      return outputError;
    },
    get exitCode() {
      if (received === 'output') return ExitCode.failure;
      return received === 'SIGPIPE' ? ExitCode.brokenPipe : SIGNAL_EXIT[received ?? 'SIGINT'];
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
      stdout?.off('error', onStdoutError);
    },
  };
}

/**
 * What to say when the command was stopped because stdout could no longer be written (not EPIPE:
 * its reader went away on purpose), else undefined.
 */
export function outputFailure(interrupt: Pick<Interrupt, 'received' | 'outputError'> | undefined): string | undefined {
  if (interrupt?.received !== 'output') return undefined;
  const cause = interrupt.outputError;
  return `cannot write to standard output: ${cause?.code ?? cause?.message ?? 'write failed'}`;
}

/**
 * Keeps a failed write to stdout or stderr (EPIPE: its reader went away; ENOSPC: a full disk
 * under `> file`) from crashing the process with an unhandled 'error' event and a stack trace;
 * later writes are dropped. A failed stdout ends the command in progress (it hears of it through
 * {@link listenForInterrupt}); a failed stderr does not: the transfer ends as it would, its
 * messages unread. Returns the first error other than EPIPE, once there is one: output that
 * was lost, which a command that succeeded must not hide (`main.ts` exits 1 then).
 */
export function tolerateClosedOutput(output: NodeJS.EventEmitter): { readonly failed: NodeJS.ErrnoException | undefined } {
  let failed: NodeJS.ErrnoException | undefined;
  output.on('error', (error: NodeJS.ErrnoException) => {
    if (error?.code === 'EPIPE' || error?.code === 'ERR_STREAM_DESTROYED') return;
    failed ??= error;
  });
  return {
    get failed() {
      return failed;
    },
  };
}
