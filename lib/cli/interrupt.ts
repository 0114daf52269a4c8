import { ExitCode } from './exit-codes.js';

/** Ctrl-C (SIGINT) or SIGTERM, turned into an AbortSignal for the transfer. */
export interface Interrupt {
  /** Aborted on the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Which signal arrived, if one did. */
  readonly received: 'SIGINT' | 'SIGTERM' | undefined;
  /** The exit code for the signal that arrived (130 or 143). */
  readonly exitCode: number;
  /** Removes the handlers: the default behaviour (terminate) comes back. */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM. The first one aborts the signal, so the transfer ends
 * cleanly (the request is aborted, the partial file is flushed and kept); a second one exits
 * at once, for a user who does not want to wait.
 */
export function listenForInterrupt(): Interrupt {
  const controller = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | undefined;
  const handler = (name: 'SIGINT' | 'SIGTERM') => {
    if (received) process.exit(name === 'SIGINT' ? ExitCode.interrupted : ExitCode.terminated);
    received = name;
    controller.abort();
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    get exitCode() {
      return received === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
