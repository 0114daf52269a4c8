import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { download, isIntegrityError, isTransferError } from 'rxtransfer';
import { FakeTransport, assertTransferGrammar } from 'rxtransfer/testing';
import { advance, drive, progressOf, record, settle } from '../helpers/trace-driver.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';

/**
 * Resume within a run: a retry after a broken body asks for the rest (Range + If-Range) when the
 * first answer carried a strong validator. The fake server may honour the range, ignore it (200),
 * answer a wrong 206 (past or before the bytes held), change the resource in between, send weak
 * or no validators, or ignore If-Range (a 206, or a 416, of whatever version it has now). Whatever it
 * does, `done` carries exactly one version of the body, whole (G5), progress never goes back and
 * ends at 100% of what was delivered (G4, G10), and the requests are the ones the rules imply.
 */
type Mode = 'honour' | 'honour-star' | 'ignore' | 'bad-206' | 'weak-etag' | 'no-etag' | 'ignore-if-range' | 'early-206';
interface Answer {
  readonly version: number;
  readonly mode: Mode;
  /** Body bytes sent before the connection breaks; undefined: all of them. */
  readonly failAfter: number | undefined;
}

const answerArb: fc.Arbitrary<Answer> = fc.record({
  version: fc.nat({ max: 1 }),
  // honour-star: a sound 206 whose Content-Range does not give the whole size (`bytes 5-9/*`).
  mode: fc.constantFrom<Mode>('honour', 'honour-star', 'ignore', 'bad-206', 'weak-etag', 'no-etag', 'ignore-if-range', 'ignore-if-range', 'early-206'),
  failAfter: fc.option(fc.nat({ max: 40 }), { freq: 2, nil: undefined }),
});

const sha256 = (b: Uint8Array) => `sha256-${createHash('sha256').update(b).digest('base64')}`;

describe('resume within a run (properties)', () => {
  it('G5 a retried download continues only the same version, and done holds one whole version (property, 2000 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 2, maxLength: 2 }),
        fc.array(answerArb, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(0, 1e9),
        fc.option(fc.nat({ max: 1 }), { nil: undefined }),
        fc.boolean(),
        async (versions, answers, progressInterval, integrityOf, buffered) => {
          const versionsMonotone = answers.map((a, i) => ({ ...a, version: Math.max(a.version, ...answers.slice(0, i).map((b) => b.version)) }));
          const timer = new VirtualTimer();
          const fake = new FakeTransport();
          const integrity = integrityOf === undefined ? undefined : sha256(versions[integrityOf]!);
          const recorder = record(download('https://a.test/r', { transport: fake, timer, progressInterval, retry: { count: 10, baseDelay: 1, jitter: 0 }, responseType: 'uint8array', ...(integrity ? { integrity } : {}) }), undefined);

          // The oracle: what the core holds, and what must happen.
          let held = 0;
          let heldTag: string | undefined;
          let restarts = 0;
          let attempt = 1;
          let expected: { done: number } | { error: string } | undefined;
          const delivered: number[] = [];
          for (let i = 0; i < 20 && expected === undefined; i++) {
            const a = versionsMonotone[Math.min(i, versionsMonotone.length - 1)]!;
            const answer = i < versionsMonotone.length ? a : { ...a, failAfter: undefined };
            await drive(timer, () => fake.requests.length > i || recorder.ended(), `request ${i + 1}`);
            const req = fake.requests[i];
            if (!req) throw new Error(`no request ${i + 1}; trace ${JSON.stringify(recorder.trace.map((n) => n.kind))}`);
            if (held > 0 && heldTag === undefined) held = 0;
            expect(req.header('range')).toBe(held > 0 ? `bytes=${held}-` : undefined);
            expect(req.header('if-range')).toBe(held > 0 ? heldTag : undefined);
            const body = versions[answer.version]!;
            const tag = `"v${answer.version}"`;
            const sentTag = answer.mode === 'weak-etag' ? `W/${tag}` : answer.mode === 'no-etag' ? undefined : tag;
            const headers: Record<string, string> = sentTag ? { etag: sentTag } : {};
            let start = 0;
            if (held > 0 && answer.mode === 'ignore-if-range' && req.header('if-range') !== tag) {
              // Range honoured, If-Range not: a range of the version it has now, under that version's ETag.
              if (held < body.byteLength) {
                req.respond({ status: 206, headers: { ...headers, 'content-range': `bytes ${held}-${body.byteLength - 1}/${body.byteLength}`, 'content-length': String(body.byteLength - held) } });
                for (let at = held; at < body.byteLength; at += 7) req.chunk(body.subarray(at, Math.min(body.byteLength, at + 7)));
                req.end();
              } else {
                req.respond({ status: 416, headers: { ...headers, 'content-range': `bytes */${body.byteLength}` } });
                req.end();
              }
              await settle();
              held = 0; // never appended: the core asks again from zero
              if (++restarts > 2) expected = { error: 'network' };
              continue;
            }
            if (held > 1 && answer.mode === 'early-206' && req.header('if-range') === tag) {
              // Starts a byte before the bytes held: appended, it would repeat one.
              req.respond({ status: 206, headers: { ...headers, 'content-range': `bytes ${held - 1}-${body.byteLength - 1}/${body.byteLength}`, 'content-length': String(body.byteLength - held + 1) } });
              await settle();
              held = 0;
              if (++restarts > 2) expected = { error: 'network' };
              continue;
            }
            if (held > 0 && (answer.mode === 'honour' || answer.mode === 'honour-star' || answer.mode === 'bad-206' || answer.mode === 'ignore-if-range' || answer.mode === 'early-206') && req.header('if-range') === tag) {
              if (answer.mode === 'bad-206') {
                req.respond({ status: 206, headers: { ...headers, 'content-range': `bytes ${held + 1}-${body.byteLength}/${body.byteLength + 1}`, 'content-length': String(body.byteLength - held) } });
                await settle();
                held = 0;
                if (++restarts > 2) expected = { error: 'network' };
                continue;
              }
              start = held;
              req.respond({ status: 206, headers: { ...headers, 'content-range': `bytes ${held}-${body.byteLength - 1}/${answer.mode === 'honour-star' ? '*' : body.byteLength}`, 'content-length': String(body.byteLength - held) } });
            } else {
              req.respond({ status: 200, headers: { ...headers, 'content-length': String(body.byteLength) } });
            }
            const rest = body.subarray(start);
            const send = answer.failAfter === undefined ? rest.byteLength : Math.min(answer.failAfter, rest.byteLength);
            for (let at = 0; at < send; at += 7) {
              await advance(timer, 3);
              if (buffered) {
                req.downloadProgress(Math.min(send, at + 7)); // raw bytes of this response, as XHR reports them
                // Counted on the scale of the whole body: the bytes held, then this response's (G4).
                if (progressInterval === 0) expect(progressOf(recorder.trace).pop()?.loaded).toBeGreaterThanOrEqual(start + Math.min(send, at + 7));
              }
              req.chunk(rest.subarray(at, Math.min(send, at + 7)));
            }
            await advance(timer, 1);
            if (send === rest.byteLength) {
              req.end();
              delivered.push(body.byteLength);
              expected = integrity !== undefined && integrity !== sha256(body) ? { error: 'integrity' } : { done: answer.version };
            } else {
              req.fail();
              held = start + send;
              heldTag = sentTag && !sentTag.startsWith('W/') ? sentTag : undefined;
              delivered.push(held);
              if (++attempt > 11) expected = { error: 'integrity' };
            }
            await settle();
          }
          await drive(timer, () => recorder.ended(), 'the end');
          assertTransferGrammar(recorder.trace);
          const last = recorder.trace[recorder.trace.length - 1]!;
          if (expected && 'done' in expected) {
            const done = recorder.trace[recorder.trace.length - 2]!;
            const result = done.kind === 'next' && done.value.type === 'done' ? (done.value.result as { data: Uint8Array; size: number }) : undefined;
            const want = versions[expected.done]!;
            expect(result && Buffer.from(result.data).equals(Buffer.from(want))).toBe(true);
            if (Math.max(...delivered) <= want.byteLength) expect(progressOf(recorder.trace).pop()).toMatchObject({ loaded: want.byteLength, total: want.byteLength, percent: 100 });
          } else {
            expect(last.kind).toBe('error');
            const error = last.kind === 'error' ? last.error : undefined;
            expect(isTransferError(error) && error.code).toBe(expected?.error);
            if (expected?.error === 'integrity') expect(isIntegrityError(error)).toBe(true);
          }
        },
      ),
      // The cases that matter (a version change between a broken body and the retry that a
      // server answers with a 206 anyway) need several draws to line up: 2000 runs, ~2 s.
      { numRuns: 2000 },
    );
  });
});
