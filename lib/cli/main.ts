/**
 * The `rxtransfer` executable (package.json `bin` → `bin/rxtransfer` → the build of this file).
 * Runs the command line on the process's arguments and exits with its code.
 */
import { runCli } from './program.js';

void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
  process.exitCode = code;
  // A keep-alive socket or a stray timer must not hold a finished command open.
  setTimeout(() => process.exit(code), 1000).unref();
});
