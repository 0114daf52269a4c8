import fc from 'fast-check';
import type { Observable } from 'rxjs';
import { download, upload, isTransferError, type TransferEvent } from 'rxtransfer';
import { FakeTransport, assertTransferGrammar } from 'rxtransfer/testing';
import { cancelArb, deliveryArb, okPlanArb, responsePlanArb, scenarioArbitrary, type Scenario } from '../helpers/arbitraries.js';
import { drive, makeDelivery, progressOf, record, runScenario, settle, sleepReal } from '../helpers/trace-driver.js';
import { checkScenarioRun } from '../helpers/trace-checks.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';

/**
 * Properties of the whole transfer on the FakeTransport: random scripts (chunkings, failure
 * points, statuses, redirects, retries, cancel points, progress intervals and delivery
 * schedulers), each checked with the shared grammar checker plus the oracle of
 * `spec/helpers/trace-oracle.ts`. See `spec/helpers/trace-checks.ts` for every check made.
 */
const RUNS = { numRuns: 500 };
const BASE = 'https://a.test/one';

async function scenario(sc: Scenario): Promise<void> {
  checkScenarioRun(sc, await runScenario(sc));
}

describe('transfer on the fake transport (properties)', () => {
  it('G1 nothing is requested before subscribe; each subscription is its own request chain (property, 500 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 16 }), deliveryArb, fc.nat({ max: 3 }), async (subscriptions, body, kind, waitTurns) => {
        const timer = new VirtualTimer();
        const fake = new FakeTransport();
        const delivery = makeDelivery(kind, timer);
        const transfer = download('https://a.test/one', { transport: fake, timer, scheduler: delivery, responseType: 'uint8array' });
        for (let i = 0; i < waitTurns; i++) await settle();
        timer.advanceBy(10_000);
        expect(fake.requests).toHaveLength(0);
        const recorders = Array.from({ length: subscriptions }, () => record(transfer, delivery));
        await drive(timer, () => fake.requests.length === subscriptions, 'one request per subscription');
        expect(fake.requests).toHaveLength(subscriptions);
        // Answer in reverse order: each subscription gets its own answer, nothing is shared.
        fake.requests.slice().reverse().forEach((req, i) => req.flush(body.subarray(0, body.byteLength - Math.min(i, body.byteLength))));
        await drive(timer, () => recorders.every((r) => r.ended()), 'every subscription to end');
        recorders.forEach((r, i) => {
          assertTransferGrammar(r.trace);
          expect(r.problems).toEqual([]);
          const done = r.trace[r.trace.length - 2]!;
          const expectedSize = body.byteLength - Math.min(subscriptions - 1 - i, body.byteLength);
          expect(done.kind === 'next' && done.value.type === 'done' && (done.value.result.data as Uint8Array).byteLength).toBe(expectedSize);
        });
        expect(fake.requests).toHaveLength(subscriptions);
      }),
      RUNS,
    );
  });

  it('G2 exactly one end, the one the oracle predicts, on random scripts (property, 500 runs)', async () => {
    await fc.assert(fc.asyncProperty(scenarioArbitrary(), scenario), RUNS);
  });

  it('G3 nothing after the end or after a cancel at a random step, by unsubscribe or signal (property, 500 runs)', async () => {
    await fc.assert(fc.asyncProperty(scenarioArbitrary({ cancel: cancelArb }), scenario), RUNS);
  });

  it('G4 progress never goes back, upload before download, nothing re-counted across retries and redirects (property, 500 runs)', async () => {
    const arb = scenarioArbitrary({
      kind: fc.constant('upload'),
      retry: fc.integer({ min: 1, max: 3 }),
      responses: fc.array(responsePlanArb, { minLength: 2, maxLength: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async (sc) => {
        const run = await runScenario(sc);
        const p = checkScenarioRun(sc, run);
        for (const e of progressOf(run.recorder.trace)) {
          // Bytes are counted once: never more than any single attempt moved.
          if (e.direction === 'upload') expect(e.loaded).toBeLessThanOrEqual(sc.uploadSize);
          else expect(e.loaded).toBeLessThanOrEqual(p.maxDelivered);
        }
      }),
      RUNS,
    );
  });

  it('G5 success means complete: done only with the whole body, byte for byte (property, 500 runs)', async () => {
    const arb = scenarioArbitrary({ kind: fc.constant('download'), responses: fc.array(okPlanArb, { minLength: 1, maxLength: 4 }), retry: fc.nat({ max: 4 }), cancel: fc.constant(undefined) });
    await fc.assert(fc.asyncProperty(arb, scenario), RUNS);
  });

  it('G8 G7 a bad argument never throws: it arrives as error(invalid), after subscribe() and through the scheduler (property, 300 runs)', async () => {
    /** One thing wrong at a time, among the kinds of argument a caller can get wrong. */
    const badArb = fc.constantFrom<[string, unknown, Record<string, unknown>]>(
      ['url', 'not a url', {}],
      ['url', 'ftp://a.test/f', {}],
      ['url', 42, {}],
      ['url', null, {}],
      ['timeout', BASE, { timeout: -1 }],
      ['timeout', BASE, { timeout: { idle: 0 } }],
      ['retry', BASE, { retry: -1 }],
      ['retry', BASE, { retry: { count: 1, jitter: 2 } }],
      ['progressInterval', BASE, { progressInterval: Number.NaN }],
      ['maxRedirects', BASE, { maxRedirects: 1.5 }],
      ['method', BASE, { method: 'GE T' }],
      ['headers', BASE, { headers: { 'X-A': 'a\r\nb' } }],
      ['responseType', BASE, { responseType: 'xml' }],
      ['signal', BASE, { signal: {} }],
    );
    await fc.assert(
      fc.asyncProperty(badArb, fc.boolean(), deliveryArb, async ([, url, bad], isUpload, kind) => {
        const timer = new VirtualTimer();
        const fake = new FakeTransport();
        const delivery = makeDelivery(kind, timer);
        const options = { transport: fake, timer, scheduler: delivery, ...bad };
        let transfer: Observable<TransferEvent<unknown>> | undefined;
        expect(() => (transfer = isUpload ? upload(url as string, new Uint8Array(3), options as never) : download(url as string, options as never))).not.toThrow();
        const recorder = record(transfer!, delivery); // a delivery inside subscribe() is a problem it records
        await drive(timer, () => recorder.ended(), 'the invalid error', 400);
        if (kind === 'async') await sleepReal(1);
        expect(recorder.problems).toEqual([]);
        expect(recorder.trace).toHaveLength(1);
        const end = recorder.trace[0]!;
        expect(end.kind === 'error' && isTransferError(end.error) && end.error.code).toBe('invalid');
        expect(fake.requests).toHaveLength(0);
      }),
      { numRuns: 300 },
    );
  });

  it('G7 with a scheduler every notification is delivered through it, none inside subscribe() (property, 500 runs)', async () => {
    const arb = scenarioArbitrary({ delivery: fc.constantFrom('asap', 'async', 'queue', 'virtual') });
    await fc.assert(
      fc.asyncProperty(arb, async (sc) => {
        const run = await runScenario(sc);
        checkScenarioRun(sc, run);
        if (run.recorder.trace.length > 0) expect(run.delivery!.scheduled).toBeGreaterThanOrEqual(run.recorder.trace.length);
      }),
      RUNS,
    );
  });
});
