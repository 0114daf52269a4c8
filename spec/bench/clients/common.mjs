// What every benchmark client shares: its command line and the one JSON line it prints.
//
//   node <client> download <url> <file>          GET url, stream the body to file
//   node <client> upload <url> <file>            PUT file to url (a /sink answering {"received": n})
//   node <client> small <url> <count>x<inflight> GET url `count` times, `inflight` at a time, bodies in memory
//   ... [--progress off]                         rxtransfer only: no subscriber work for progress
//
// The line: {"bytes": n, "ms": transfer time in this process, "maxRssKiB": peak RSS of this
// process, "events": progress events seen (-1 when the client has no progress)}. For `small`,
// `bytes` is the sum of all bodies.
import { performance } from 'node:perf_hooks';

/** Reads `mode url file` from argv; exits with a usage line when they are wrong. */
export function clientArgs() {
  const [mode, url, file, ...rest] = process.argv.slice(2);
  if (!['download', 'upload', 'small'].includes(mode) || !url || !file) {
    process.stderr.write('usage: node <client> download|upload|small <url> <file | count x inflight> [--progress off]\n');
    process.exit(2);
  }
  const args = { mode, url, file, progress: !(rest[0] === '--progress' && rest[1] === 'off'), started: performance.now() };
  if (mode === 'small') {
    const [count, inflight] = file.split('x').map(Number);
    Object.assign(args, { count, inflight });
  }
  return args;
}

/**
 * Runs `one()` `count` times with at most `inflight` running; resolves with the sum of what
 * they resolve with (body sizes). Used by every client's `small` mode.
 */
export async function manySmall({ count, inflight }, one) {
  let started = 0;
  let bytes = 0;
  const lane = async () => {
    while (started < count) {
      started++;
      const size = await one(); // not `bytes += await one()`: that reads `bytes` before the await
      bytes += size;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, lane));
  return bytes;
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
