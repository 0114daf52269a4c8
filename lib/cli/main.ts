/**
 * The `rxtransfer` executable (package.json `bin` → `bin/rxtransfer` → the build of this file).
 * Runs the command line on the process's arguments and exits with its code.
 */
import { ExitCode } from './exit-codes.js';
import { runCli } from './program.js';
import { tolerateClosedOutput } from './interrupt.js';

tolerateClosedOutput(process.stdout);
tolerateClosedOutput(process.stderr);

let finished = false;
// If the event loop empties while a command is still pending, something below lost its end:
// say so and fail, rather than exit 0 as if the transfer had succeeded.
process.once('beforeExit', () => {
  if (finished) return;
  process.stderr.write('rxtransfer: internal error: the transfer stopped without an end (please report this)\n');
  process.exit(ExitCode.failure);
});

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
  finished = true;
  process.exitCode = code;
  // A keep-alive socket or a stray timer must not hold a finished command open.
  setTimeout(() => process.exit(code), 1000).unref();
});
