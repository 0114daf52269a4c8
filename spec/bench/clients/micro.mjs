// In-process microbenchmarks, each variant run as its own process by the runner (A B A B):
//
//   node micro.bundle.mjs pipeline <n>       n progress updates through the core's throttle
//                                            (ProgressReporter, progressInterval 0: every update
//                                            is an event), the grammar guard (enforceGrammar) and
//                                            a context scheduler (observeOn(contextScheduler(
//                                            microtaskContext()))), to a subscriber that counts
//   node micro.bundle.mjs pipeline-bare <n>  the same n events through a bare Subject to the same
//                                            subscriber
//   node micro.bundle.mjs eap <n>            n downloads (1 KiB, FakeTransport) through
//                                            fromEap(toEap({ get }), 'get'), one after another
//   node micro.bundle.mjs eap-bare <n>       the same n downloads as bare transfers
//
// Prints the common result line plus {"ops": n, "opsPerSecond": …}. Bundled with lib/ like the
// rxtransfer client (the pipeline variant reads the core's ProgressReporter, which is internal).
import { Subject, asyncScheduler, observeOn } from 'rxjs';
import { download, enforceGrammar, contextScheduler, microtaskContext, toEap, fromEap, resultOf } from 'rxtransfer';
import { FakeTransport } from 'rxtransfer/testing';
import { ProgressReporter } from 'rxtransfer/internal/progress';
import { performance } from 'node:perf_hooks';

const [variant, countText] = process.argv.slice(2);
const count = Number(countText);
const started = performance.now();

function report(ops, ms) {
  process.stdout.write(JSON.stringify({ bytes: ops, ops, ms: Math.round(ms * 10) / 10, opsPerSecond: Math.round((ops * 1000) / ms), maxRssKiB: process.resourceUsage().maxRSS, events: -1 }) + '\n');
  process.exit(0);
}

/** The consumer's work in both pipeline variants: count events and bytes, keep the last percent. */
function consumer(onEnd) {
  const seen = { events: 0, bytes: 0, loaded: 0, percent: 0 };
  return {
    next(event) {
      if (event.type === 'progress') {
        seen.events++;
        seen.bytes += event.delta;
        seen.loaded = event.loaded;
        seen.percent = event.percent ?? seen.percent;
      }
    },
    error: (e) => {
      throw e;
    },
    complete: () => onEnd(seen),
  };
}

const CHUNK = 65536;
const total = count * CHUNK;

async function pipeline(bare) {
  const source = new Subject();
  const events = bare ? source : source.pipe(enforceGrammar(), observeOn(contextScheduler(microtaskContext())));
  const t0 = performance.now();
  events.subscribe(
    consumer((seen) => {
      if (seen.loaded !== total || seen.events !== count) throw new Error(`saw ${seen.events} events and ${seen.loaded} bytes, not ${count} and ${total}`);
      report(count, performance.now() - t0);
    }),
  );
  // One update per turn of the microtask queue, as chunks arrive (a synchronous burst would
  // measure observeOn's queue of pending actions instead, which a throttled transfer never has).
  if (bare) {
    for (let i = 1; i <= count; i++) {
      source.next({ type: 'progress', direction: 'download', loaded: i * CHUNK, delta: CHUNK, total, percent: Math.floor((i * 100) / count), attempt: 1 });
      await undefined;
    }
  } else {
    const reporter = new ProgressReporter((event) => source.next(event), asyncScheduler, 0);
    for (let i = 1; i <= count; i++) {
      reporter.observe('download', i * CHUNK, total);
      await undefined;
    }
    reporter.flush();
    reporter.dispose();
  }
  source.next({ type: 'done', result: undefined });
  source.complete();
}

async function eap(bare) {
  const body = new Uint8Array(1024);
  const fake = new FakeTransport({
    onRequest: (request) => {
      request.connect().flush(body, { status: 200, headers: { 'content-length': String(body.byteLength) } });
      fake.requests.length = 0;
    },
  });
  const get = (url) => download(url, { transport: fake, responseType: 'arraybuffer' });
  const transfer = bare ? get : fromEap(toEap({ get }), 'get');
  const t0 = performance.now();
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += (await resultOf(transfer(`http://bench.invalid/${i}`))).data.byteLength;
  if (bytes !== count * body.byteLength) throw new Error(`got ${bytes} bytes`);
  report(count, performance.now() - t0);
}

const variants = { pipeline: () => pipeline(false), 'pipeline-bare': () => pipeline(true), eap: () => eap(false), 'eap-bare': () => eap(true) };
if (!variants[variant] || !(count > 0)) {
  process.stderr.write(`usage: micro <${Object.keys(variants).join('|')}> <n> (${performance.now() - started} ms)\n`);
  process.exit(2);
}
Promise.resolve(variants[variant]()).catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : String(error)}\n`);
  process.exit(1);
});
