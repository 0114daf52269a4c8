/**
 * `rxtransfer demo` (what `npm start` runs): a tour of the library against an embedded loopback
 * server: a checked download, an upload, a cancelled transfer, a background session interrupted
 * and resumed, and an EAP component, each with live progress; then a summary. Exits 0 when every
 * step did what it shows, 1 otherwise, 130 on Ctrl-C. A safety timer bounds the whole tour.
 * `--web` serves the browser demo instead (`demo-web.ts`).
 */
import { InvalidArgumentError } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatSummary, wantsBars, type StepOutcome } from './demo-display.js';
import { eapStep } from './demo-eap.js';
import { resumeStep } from './demo-resume.js';
import { startDemoServer, type DemoServer } from './demo-server.js';
import { cancelStep, downloadStep, uploadStep, type DemoContext } from './demo-steps.js';
import { runDemoWeb, type DemoWebFlags } from './demo-web.js';
import { CliError, ExitCode } from './exit-codes.js';
import { listenForInterrupt } from './interrupt.js';
import { printError, type CliStreams } from './output.js';

/** The options of `demo`, as commander parses them. */
export interface DemoFlags extends DemoWebFlags {
  web?: boolean;
}

/** The whole tour gives up after this long (it takes a few seconds). */
export const DEMO_SAFETY_MS = 50_000;

const STEPS: ReadonlyArray<{ name: string; title: string; run: (ctx: DemoContext) => Promise<StepOutcome> }> = [
  { name: 'download', title: 'download 8 MiB to a file, checked against its sha256 before it is renamed into place', run: downloadStep },
  { name: 'upload', title: 'upload 4 MiB streamed from a file (PUT); the server counts and hashes the bytes', run: uploadStep },
  { name: 'cancel', title: 'cancel a slow download through an AbortSignal once 1 MiB has arrived', run: cancelStep },
  { name: 'session', title: 'a TransferSession interrupted at 40% (the app quits), reopened, resumed from its partial file', run: resumeStep },
  { name: 'eap', title: 'an EAP component: toEap({ download }), its ProgressChanged and Completed events', run: eapStep },
];

/** `--port`: a whole number 0..65535 (0: a free port). */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError(`not a port number: ${value}`);
  return port;
}

/** Runs `demo`; resolves with the exit code. Never throws. */
export async function runDemo(flags: DemoFlags, streams: CliStreams): Promise<number> {
  if (flags.web) return runDemoWeb(flags, streams);
  if (flags.port !== undefined || flags.open === false) {
    printError(streams, new CliError('usage', '--port and --no-open go with --web (see rxtransfer demo --help)'));
    return ExitCode.usage;
  }
  return runTour(streams);
}

async function runTour(streams: CliStreams): Promise<number> {
  const out = streams.stdout;
  const started = Date.now();
  const interrupt = listenForInterrupt(streams.stdout);
  const safety = new AbortController();
  const safetyTimer = setTimeout(() => safety.abort(), DEMO_SAFETY_MS);
  const signal = AbortSignal.any([interrupt.signal, safety.signal]);
  const outcomes: StepOutcome[] = [];
  let server: DemoServer | undefined;
  let dir: string | undefined;
  try {
    server = await startDemoServer();
    dir = await mkdtemp(join(tmpdir(), 'rxtransfer-demo-'));
    const ctx: DemoContext = { origin: server.origin, stats: server.stats, dir, out, bars: wantsBars(out), signal };
    out.write(`rxtransfer demo: a loopback server at ${server.origin}, files in ${dir}\n`);
    for (const [i, s] of STEPS.entries()) {
      if (signal.aborted) break;
      out.write(`\n(${i + 1}/${STEPS.length}) ${s.title}\n`);
      outcomes.push(await bounded(s.run(ctx), s.name, signal));
    }
    if (interrupt.received) {
      printError(streams, new Error('demo interrupted'));
      return interrupt.exitCode;
    }
    if (safety.signal.aborted) {
      printError(streams, new Error(`demo: still running after ${DEMO_SAFETY_MS / 1000} s, gave up`));
      // The summary counts every step: one that never ran is not ok.
      for (const s of STEPS.slice(outcomes.length)) outcomes.push({ step: s.name, ok: false, detail: 'not run: the demo gave up' });
    }
    const seconds = (Date.now() - started) / 1000;
    out.write(`\n${formatSummary(outcomes, seconds)}`);
    // `npx`: in a clone (where `npm start` runs this) the command is not on PATH; npx finds it.
    out.write('\nNext: `npx rxtransfer demo --web` (the browser demo), `npx rxtransfer get --help`, docs/cli.md, docs/transfers.md.\n');
    const allOk = outcomes.length === STEPS.length && outcomes.every((o) => o.ok);
    return allOk ? ExitCode.ok : ExitCode.failure;
  } catch (error) {
    printError(streams, error);
    return ExitCode.failure;
  } finally {
    clearTimeout(safetyTimer);
    interrupt.dispose();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** A step's outcome, or a failure when it has not ended 3 s after `signal` aborted. */
function bounded(outcome: Promise<StepOutcome>, name: string, signal: AbortSignal): Promise<StepOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<StepOutcome>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve({ step: name, ok: false, detail: 'did not end after the demo was stopped' }), 3_000);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([outcome, late]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  });
}
