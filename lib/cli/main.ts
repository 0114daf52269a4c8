/**
 * The `rxtransfer` executable (package.json `bin` → `bin/rxtransfer` → the build of this file).
 * Runs the command line on the process's arguments and exits with its code.
 */
import { ExitCode } from './exit-codes.js';
import { runCli } from './program.js';
import { tolerateClosedOutput } from './interrupt.js';

const stdout = tolerateClosedOutput(process.stdout);
tolerateClosedOutput(process.stderr);

let finished = false;
// If the event loop empties while a command is still pending, something below lost its end:
// say so and fail, rather than exit 0 as if the transfer had succeeded.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('rxtransfer: internal error: the transfer stopped without an end (please report this)\n');
  process.exit(ExitCode.failure);
});

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((ran) => {
  finished = true;
  process.exitCode = ran;
  // A write to stdout that failed (a full disk under `> file`) is told a tick after it: a command
  // that succeeded but whose output is lost (put's answer, the done line) must not exit 0.
  setImmediate(() => {
    const lost = stdout.failed;
    const code = ran === ExitCode.ok && lost ? ExitCode.failure : ran;
    if (code !== ran) process.stderr.write(`rxtransfer: cannot write to standard output: ${lost?.code ?? lost?.message}\n`);
    process.exitCode = code;
    // A keep-alive socket or a stray timer must not hold a finished command open.
    setTimeout(() => process.exit(code), 1000).unref();
  });
});
