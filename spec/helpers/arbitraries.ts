import fc from 'fast-check';

/**
 * fast-check arbitraries for transfer scripts on the FakeTransport: bodies, chunkings,
 * failure points, statuses, redirects, retries, cancel points, progress intervals and
 * delivery schedulers. The oracle that predicts a script's end is in `trace-oracle.ts`.
 */

/** How a body that has started ends. */
export type Ending = 'end' | 'fail' | 'truncate' | 'stall' | 'extra';

/** Where a redirect points: same origin, another origin, or refused targets. */
export type LocationKind = 'relative' | 'cross' | 'file' | 'downgrade';

/** What the fake server does with one request. */
export type ResponsePlan =
  | { readonly kind: 'network'; readonly connectFirst: boolean }
  | { readonly kind: 'stall' }
  | { readonly kind: 'redirect'; readonly status: 301 | 302 | 303 | 307 | 308; readonly location: LocationKind }
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter: string | undefined; readonly excerpt: string }
  | {
      readonly kind: 'ok';
      readonly status: 200 | 201 | 203;
      readonly withLength: boolean;
      readonly decoded: boolean;
      /** Cut points into the body (sorted, may repeat: empty chunks). */
      readonly cuts: readonly number[];
      readonly ending: Ending;
      /** For fail/truncate/stall: how many chunks go out before. */
      readonly at: number;
      /** Report buffered download progress before the bytes (as XHR does). */
      readonly buffered: boolean;
    };

/** Who delivers notifications (G7). */
export type DeliveryKind = 'none' | 'asap' | 'async' | 'queue' | 'virtual';

export interface Cancel {
  /** `step`: cancel before driver step `at` (0-based); `wait`: while waiting for request number `at` (0: at once). */
  readonly phase: 'step' | 'wait';
  readonly at: number;
  readonly how: 'unsubscribe' | 'signal';
}

/** A whole generated scenario. */
export interface Scenario {
  readonly kind: 'download' | 'upload';
  readonly method: string;
  readonly uploadSize: number;
  /** `stream`: a one-shot async iterable (size unknown): never retried or redirected with its body once sent. */
  readonly uploadBody: 'bytes' | 'stream';
  /** Fractions (0..1, sorted) of the upload body reported as handed to the socket, per request with a body. */
  readonly uploadSteps: readonly number[];
  /** The resource the server answers with (the same on every attempt, as a real server). */
  readonly body: Uint8Array;
  readonly responses: readonly ResponsePlan[];
  readonly retry: number;
  readonly unsafeMethods: boolean;
  readonly maxRedirects: number;
  readonly progressInterval: number;
  readonly delivery: DeliveryKind;
  readonly cancel: Cancel | undefined;
  /** Virtual ms between driver steps (cycled); always below the idle timeout. */
  readonly gaps: readonly number[];
  readonly credentials: boolean;
  /** Also set a (far) total timeout: its timer must go away with the run. */
  readonly totalTimeout: boolean;
}

/** Statuses the server may answer with: final ones and retryable ones. */
export const ERROR_STATUSES = [400, 401, 403, 404, 408, 410, 429, 500, 501, 502, 503, 504] as const;
/** The default retry statuses of the policy. */
export const RETRY_STATUSES: readonly number[] = [408, 429, 500, 502, 503, 504];

/** Idle timeout used by the scripts; gaps stay below it. */
export const IDLE_MS = 1000;

export const bodyArb = (maxLength = 48): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });

/** Cut points for a body of `size` bytes: 0..5 positions, sorted, repeats allowed. */
export const cutsArb = (maxCuts = 5): fc.Arbitrary<number[]> => fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: maxCuts }).map((xs) => xs.sort((a, b) => a - b));

/** Splits `body` at fractional cut points into chunks (empty chunks possible). */
export function chunksOf(body: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const positions = cuts.map((c) => Math.floor(c * body.byteLength));
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of positions) {
    out.push(body.subarray(from, Math.max(from, p)));
    from = Math.max(from, p);
  }
  out.push(body.subarray(from));
  return out;
}

const retryAfterArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: fc.constantFrom('0', '1', '2'), weight: 2 },
  { arbitrary: fc.constant('120'), weight: 1 }, // over maxRetryAfter: not retried
  { arbitrary: fc.constant(new Date(Date.UTC(2001, 0, 1)).toUTCString()), weight: 1 }, // a date in the past: now
  { arbitrary: fc.constant('soon'), weight: 1 }, // unreadable: ignored
);

export const okPlanArb: fc.Arbitrary<ResponsePlan> = fc
  .record({
    status: fc.constantFrom(200 as const, 201 as const, 203 as const),
    withLength: fc.boolean(),
    decoded: fc.boolean(),
    cuts: cutsArb(),
    ending: fc.oneof(
      { arbitrary: fc.constant<Ending>('end'), weight: 6 },
      { arbitrary: fc.constantFrom<Ending>('fail', 'truncate', 'stall', 'extra'), weight: 4 },
    ),
    at: fc.nat({ max: 6 }),
    buffered: fc.boolean(),
  })
  .map((r) => ({ kind: 'ok' as const, ...r }));

export const responsePlanArb: fc.Arbitrary<ResponsePlan> = fc.oneof(
  { arbitrary: okPlanArb, weight: 8 },
  { arbitrary: fc.record({ kind: fc.constant('network' as const), connectFirst: fc.boolean() }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'stall' as const }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('redirect' as const),
      status: fc.constantFrom(301 as const, 302 as const, 303 as const, 307 as const, 308 as const),
      location: fc.oneof(
        { arbitrary: fc.constantFrom<LocationKind>('relative', 'cross'), weight: 4 },
        { arbitrary: fc.constantFrom<LocationKind>('file', 'downgrade'), weight: 1 },
      ),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('status' as const),
      status: fc.constantFrom(...ERROR_STATUSES),
      retryAfter: retryAfterArb,
      excerpt: fc.string({ maxLength: 20 }),
    }),
    weight: 3,
  },
);

export const deliveryArb: fc.Arbitrary<DeliveryKind> = fc.constantFrom<DeliveryKind>('none', 'asap', 'async', 'queue', 'virtual');

export const progressIntervalArb: fc.Arbitrary<number> = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 400 }), fc.constant(1e9));

export const cancelArb: fc.Arbitrary<Cancel> = fc.oneof(
  fc.record({ phase: fc.constant<'step'>('step'), at: fc.nat({ max: 30 }), how: fc.constantFrom<'unsubscribe' | 'signal'>('unsubscribe', 'signal') }),
  fc.record({ phase: fc.constant<'wait'>('wait'), at: fc.nat({ max: 3 }), how: fc.constantFrom<'unsubscribe' | 'signal'>('unsubscribe', 'signal') }),
);

/** The parts of a scenario a property may replace. */
export interface ScenarioParts {
  kind: fc.Arbitrary<'download' | 'upload'>;
  responses: fc.Arbitrary<ResponsePlan[]>;
  retry: fc.Arbitrary<number>;
  progressInterval: fc.Arbitrary<number>;
  delivery: fc.Arbitrary<DeliveryKind>;
  cancel: fc.Arbitrary<Cancel | undefined>;
}

/** Scenarios: every part random unless a property fixes it. */
export function scenarioArbitrary(parts: Partial<ScenarioParts> = {}): fc.Arbitrary<Scenario> {
  return fc
    .record({
      kind: parts.kind ?? fc.constantFrom<'download' | 'upload'>('download', 'upload'),
      uploadMethod: fc.constantFrom('POST', 'PUT', 'PATCH'),
      uploadSize: fc.nat({ max: 40 }),
      uploadBody: fc.constantFrom<'bytes' | 'stream'>('bytes', 'bytes', 'stream'),
      uploadSteps: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }).map((xs) => xs.sort((a, b) => a - b)),
      body: bodyArb(),
      responses: parts.responses ?? fc.array(responsePlanArb, { minLength: 1, maxLength: 5 }),
      retry: parts.retry ?? fc.nat({ max: 3 }),
      unsafeMethods: fc.boolean(),
      maxRedirects: fc.nat({ max: 3 }),
      progressInterval: parts.progressInterval ?? progressIntervalArb,
      delivery: parts.delivery ?? deliveryArb,
      cancel: parts.cancel ?? fc.option(cancelArb, { freq: 3, nil: undefined }),
      gaps: fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 6 }),
      credentials: fc.boolean(),
      totalTimeout: fc.boolean(),
    })
    .map(({ uploadMethod, ...r }) => ({ ...r, method: r.kind === 'download' ? 'GET' : uploadMethod }));
}

export const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbitrary();
