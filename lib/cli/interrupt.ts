import { ExitCode } from './exit-codes.js';

/** Ctrl-C (SIGINT), SIGTERM, or stdout closed by its reader, turned into an AbortSignal for the transfer. */
export interface Interrupt {
  /** Aborted on the first SIGINT or SIGTERM, or when writing to stdout fails with EPIPE. */
  readonly signal: AbortSignal;
  /** Which signal arrived, if one did (`SIGPIPE`: stdout's reader went away). */
  readonly received: 'SIGINT' | 'SIGTERM' | 'SIGPIPE' | undefined;
  /** The exit code for the signal that arrived (130, 143 or 141). */
  readonly exitCode: number;
  /** Removes the handlers: the default behaviour (terminate) comes back. */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM. The first one aborts the signal, so the transfer ends
 * cleanly (the request is aborted, the partial file is flushed and kept); a second one exits
 * at once, for a user who does not want to wait.
 */
export function listenForInterrupt(stdout?: NodeJS.EventEmitter): Interrupt {
  const controller = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | 'SIGPIPE' | undefined;
  /** A signal came already: the next one exits at once (also after stdout closed). */
  let signalled = false;
  const handler = (name: 'SIGINT' | 'SIGTERM') => {
    if (signalled) process.exit(name === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated);
    signalled = true;
    // A Ctrl-C after stdout closed is what ends the run: its exit code, not the pipe's.
    received = name;
    controller.abort();
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  // `--json | head`: the reader has what it wanted. Node ignores SIGPIPE, so the write fails
  // instead; the run then ends as on Ctrl-C (partial file kept), quietly, with the shell's 141.
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error?.code !== 'EPIPE' || received) return;
    received = 'SIGPIPE';
    controller.abort();
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  stdout?.on('error', onStdoutError);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get exitCode() {
      return received === 'SIGTERM' ? ExitCode.terminated : received === 'SIGPIPE' ? ExitCode.brokenPipe : ExitCode.interrupted;
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      stdout?.off('error', onStdoutError);
    },
  };
}

/**
 * Keeps a failed write to stdout or stderr (EPIPE: its reader went away) from crashing the
 * process with an unhandled 'error' event; later writes are dropped. A closed stdout ends the
 * command in progress (it hears of it through {@link listenForInterrupt}); a closed stderr does
 * not: the transfer ends as it would, its messages unread. Other errors are thrown as before.
 */
export function tolerateClosedOutput(output: NodeJS.EventEmitter): void {
  output.on('error', (error: NodeJS.ErrnoException) => {
    if (error?.code === 'EPIPE' || error?.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}
