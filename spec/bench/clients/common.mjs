// What every benchmark client shares: its command line and the one JSON line it prints.
//
//   node <client> download <url> <file>   GET url, stream the body to file
//   node <client> upload <url> <file>     PUT file to url (a /sink answering {"received": n})
//
// The line: {"bytes": n, "ms": transfer time in this process, "maxRssKiB": peak RSS of this
// process, "events": progress events seen (-1 when the client has no progress)}.
import { performance } from 'node:perf_hooks';

/** Reads `mode url file` from argv; exits with a usage line when they are wrong. */
export function clientArgs() {
  const [mode, url, file] = process.argv.slice(2);
  if ((mode !== 'download' && mode !== 'upload') || !url || !file) {
    process.stderr.write('usage: node <client> download|upload <url> <file>\n');
    process.exit(2);
  }
  return { mode, url, file, started: performance.now() };
}

/** Prints the result line and exits 0. */
export function finish(args, bytes, events = -1) {
  const ms = performance.now() - args.started;
  const maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify({ bytes, ms: Math.round(ms * 10) / 10, maxRssKiB, events }) + '\n');
  process.exit(0);
}

/** Prints the error and exits 1. */
export function fail(error) {
  process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
}
