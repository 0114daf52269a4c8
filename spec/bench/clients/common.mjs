// What every benchmark client shares: its command line and the one JSON line it prints.
//
//   node <client> download <url> <file>          GET url, stream the body to file
//   node <client> upload <url> <file>            PUT file to url (a /sink answering {"received": n})
//   node <client> small <url> <count>x<inflight> GET url `count` times, `inflight` at a time, bodies in memory
//   node <client> files <url> <dir> <count>x<inflight>
//                                                GET url `count` times, `inflight` at a time, body i to <dir>/<i>.bin
//   ... [--progress off]                         rxtransfer only: no subscriber work for progress
//   ... [--session]                              rxtransfer `files` only: as the tasks of a TransferSession
//   ... [--durable off]                          rxtransfer `download` only: `durable: false` (no fsync before the rename)
//   ... [--load-peers]                           node:http: loads rxjs and axios first, uses neither (a control:
//                                                the same heap and start-up as rxtransfer, none of its code);
//                                                axios: loads rxjs first, never uses it (a control: axios with
//                                                rxtransfer's other dependency, and nothing else)
//
// The line: {"bytes": n, "ms": transfer time in this process, "maxRssKiB": peak RSS of this
// process, "events": progress events seen (-1 when the client has no progress)}, plus what a
// client adds (`--session`: "journal"). For `small` and `files`, `bytes` is the sum of all bodies.
import { performance } from 'node:perf_hooks';

/** Reads `mode url file` from argv; exits with a usage line when they are wrong. */
export function clientArgs() {
  const [mode, url, file, ...rest] = process.argv.slice(2);
  const lanes = mode === 'small' ? file : mode === 'files' ? rest.shift() : undefined;
  if (!['download', 'upload', 'small', 'files'].includes(mode) || !url || !file || ((mode === 'small' || mode === 'files') && !/^\d+x\d+$/.test(lanes ?? ''))) {
    process.stderr.write('usage: node <client> download|upload|small|files <url> <file | count x inflight | dir count x inflight> [--progress off] [--durable off] [--session] [--load-peers]\n');
    process.exit(2);
  }
  const off = (name) => rest.some((flag, i) => flag === name && rest[i + 1] === 'off');
  const args = { mode, url, file, progress: !off('--progress'), durable: !off('--durable'), session: rest.includes('--session'), loadPeers: rest.includes('--load-peers'), started: performance.now() };
  if (lanes !== undefined) {
    const [count, inflight] = lanes.split('x').map(Number);
    Object.assign(args, { count, inflight });
  }
  return args;
}

/**
 * Runs `one(i)` for i = 0 … count - 1 with at most `inflight` running; resolves with the sum of
 * what they resolve with (body sizes). Used by every client's `small` mode and rxtransfer's `files`.
 */
export async function manySmall({ count, inflight }, one) {
  let started = 0;
  let bytes = 0;
  const lane = async () => {
    while (started < count) {
      const size = await one(started++); // not `bytes += await one()`: that reads `bytes` before the await
      bytes += size;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, lane));
  return bytes;
}

/** Prints the result line (with the client's own figures, `extra`) and exits 0. */
export function finish(args, bytes, events = -1, extra = {}) {
  const ms = performance.now() - args.started;
  const maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify({ bytes, ms: Math.round(ms * 10) / 10, maxRssKiB, events, ...extra }) + '\n');
  process.exit(0);
}

/** Prints the error and exits 1. */
export function fail(error) {
  process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
}
