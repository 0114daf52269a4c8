import { assertTransferGrammar, type Notification } from 'rxtransfer/testing';
import { isTimeoutError, isIntegrityError, isHttpStatusError, isTransferError } from 'rxtransfer';
import type { Scenario } from './arbitraries.js';
import { progressOf, type ScenarioRun } from './trace-driver.js';
import { predict, type Prediction } from './trace-oracle.js';

function fail(sc: Scenario, p: Prediction, run: ScenarioRun, why: string): never {
  const brief = run.recorder.trace.map((n) => (n.kind === 'next' ? (n.value.type === 'progress' ? `${n.value.direction[0]}${n.value.loaded}/${n.value.total ?? '?'}#${n.value.attempt}` : 'done') : n.kind === 'error' ? `error(${(n.error as Error).message})` : 'complete'));
  throw new Error(`${why}\n  expected: ${JSON.stringify(p.outcome, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes(${v.byteLength})` : v))}\n  trace: ${brief.join(' ')}\n  requests: ${run.fake.requests.map((r) => `${r.method} ${r.url}${r.request.body ? ' +body' : ''}`).join(', ')}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/**
 * Every check of the fake-transport properties on one run: the shared grammar checker
 * (G2–G5), G1 (no request before subscribe), G7 (the recorder's delivery problems), the
 * expected end from the oracle, the requests made (G11: methods, bodies, credentials), G10
 * (first progress kept, trailing 100%), G6 for unsubscribe, and no timer left behind.
 */
export function checkScenarioRun(sc: Scenario, run: ScenarioRun): Prediction {
  const p = predict(sc);
  const { trace } = run.recorder;
  const ended = p.outcome.type !== 'unsubscribed';
  try {
    assertTransferGrammar(trace, { ended });
  } catch (e) {
    fail(sc, p, run, (e as Error).message);
  }
  if (run.requestsBeforeSubscribe !== 0) fail(sc, p, run, 'G1 a request was made before subscribe');
  if (run.recorder.problems.length > 0) fail(sc, p, run, run.recorder.problems.slice(0, 3).join('; '));
  if (run.pendingAtEnd !== 0) fail(sc, p, run, `${run.pendingAtEnd} timer(s) still scheduled right after the end`);
  if (run.timer.pending !== 0) fail(sc, p, run, `${run.timer.pending} timer(s) left scheduled after the end`);

  // The requests: as many as predicted (fewer when cancelled), each with the predicted method, body and credentials.
  const reqs = run.fake.requests;
  if (run.cancelled ? reqs.length > p.requests.length : reqs.length !== p.requests.length) fail(sc, p, run, `G1/G11 ${reqs.length} requests, expected ${p.requests.length}`);
  reqs.forEach((r, i) => {
    const want = p.requests[i]!;
    if (r.url !== want.url || r.method !== want.method) fail(sc, p, run, `request ${i}: ${r.method} ${r.url}, expected ${want.method} ${want.url}`);
    if ((r.request.body !== undefined) !== want.withBody) fail(sc, p, run, `request ${i}: body ${r.request.body !== undefined}, expected ${want.withBody}`);
    const has = r.header('authorization') !== undefined || r.header('cookie') !== undefined;
    if (has !== want.credentials) fail(sc, p, run, `G11 request ${i}: credentials ${has}, expected ${want.credentials}`);
    if (r.header('x-trace') !== 't') fail(sc, p, run, `request ${i}: lost a plain header`);
    // G6: once the transfer has ended, no request is left open: each was read to its end, failed, or aborted.
    if (!r.released) fail(sc, p, run, `G6 request ${i} was left open (neither read to its end, failed nor aborted)`);
  });

  const last = trace[trace.length - 1];
  const outcome = p.outcome;
  if (outcome.type === 'unsubscribed') {
    if (trace.length !== run.recorder.unsubscribedAt) fail(sc, p, run, 'G3/G6 a notification arrived after unsubscribe');
    const current = reqs[reqs.length - 1];
    if (sc.cancel?.phase === 'step' && current && !current.aborted) fail(sc, p, run, 'G6 unsubscribe did not abort the request in flight');
  } else if (outcome.type === 'error') {
    if (last?.kind !== 'error') fail(sc, p, run, `expected error ${outcome.code}`);
    const error = last.error;
    if (!isTransferError(error) || error.code !== outcome.code) fail(sc, p, run, `error code ${isTransferError(error) ? error.code : String(error)}, expected ${outcome.code}`);
    if (outcome.code === 'timeout' && !(isTimeoutError(error) && error.phase === outcome.detail)) fail(sc, p, run, `G9 timeout phase ${(error as { phase?: string }).phase}, expected ${outcome.detail}`);
    if (outcome.code === 'integrity' && !(isIntegrityError(error) && error.reason === outcome.detail)) fail(sc, p, run, `integrity reason ${(error as { reason?: string }).reason}, expected ${outcome.detail}`);
    if (outcome.code === 'http' && !(isHttpStatusError(error) && String(error.status) === outcome.detail)) fail(sc, p, run, `http status ${(error as { status?: number }).status}, expected ${outcome.detail}`);
    if (/secret|session=1/.test(error.message)) fail(sc, p, run, 'an error message holds credentials');
  } else {
    const doneAt = trace.length - 2;
    const done = trace[doneAt];
    if (!(done?.kind === 'next' && done.value.type === 'done')) fail(sc, p, run, 'expected done');
    const result = done.value.result as { data: Uint8Array; status: number; size?: number; sent?: number };
    if (!sameBytes(result.data, outcome.data)) fail(sc, p, run, `G5 result data has ${result.data.byteLength} bytes, expected ${outcome.data.byteLength}`);
    if (result.status !== outcome.status) fail(sc, p, run, `status ${result.status}, expected ${outcome.status}`);
    if (sc.kind === 'download' && result.size !== outcome.data.byteLength) fail(sc, p, run, `size ${result.size}`);
    // A stream's size is unknown: `sent` is what the transport reported handed to the socket.
    const sent = sc.uploadBody === 'stream' ? Math.max(0, ...sc.uploadSteps.map((f) => Math.floor(f * sc.uploadSize))) : sc.uploadSize;
    if (sc.kind === 'upload' && result.sent !== sent) fail(sc, p, run, `sent ${result.sent}, expected ${sent}`);
    // G10: with a trailing flush, the last download event shows the whole body at 100%.
    const downloads = progressOf(trace).filter((e) => e.direction === 'download');
    const final = downloads[downloads.length - 1];
    if (p.maxDelivered <= outcome.data.byteLength && !(final && final.loaded === outcome.data.byteLength && final.total === outcome.data.byteLength && final.percent === 100)) {
      fail(sc, p, run, `G10 last download progress is ${final?.loaded}/${final?.total} (${final?.percent}%), expected ${outcome.data.byteLength}/${outcome.data.byteLength} (100%)`);
    }
    if (sc.kind === 'upload' && p.lastWithBody && sc.uploadBody === 'bytes') {
      const up = progressOf(trace).filter((e) => e.direction === 'upload');
      const u = up[up.length - 1];
      if (!(u && u.loaded === sc.uploadSize && u.percent === 100)) fail(sc, p, run, `G10 last upload progress is ${u?.loaded}/${u?.total}, expected ${sc.uploadSize} (100%)`);
    }
  }
  // G4/G5: a percent never claims bytes that have not moved: it is the whole percent of
  // loaded/total (rounded down: 100 only once loaded === total), or a higher one shown before
  // (it never decreases, though the total may change on a retry).
  for (const direction of ['upload', 'download'] as const) {
    let top = 0;
    for (const e of progressOf(trace).filter((x) => x.direction === direction)) {
      if (e.total === undefined || e.percent === undefined) continue;
      const exact = e.total === 0 ? 100 : Math.floor((e.loaded * 100) / e.total);
      if (e.percent !== Math.max(exact, top)) fail(sc, p, run, `G4 ${direction} ${e.loaded}/${e.total} shows ${e.percent}%, expected ${Math.max(exact, top)}%`);
      top = Math.max(top, e.percent);
    }
  }
  // The attempt of each progress event (1, then +1 per retry; a redirect keeps it): delivered
  // at once, the attempt of the request in flight (or of the one before it, until the next
  // request is sent); through a scheduler, a later delivery may carry an earlier attempt.
  trace.forEach((n, i) => {
    if (n.kind !== 'next' || n.value.type !== 'progress') return;
    const made = run.recorder.marks[i]!;
    const current = p.requests[Math.max(0, made - 1)]!.attempt;
    const ok = sc.delivery === 'none' ? n.value.attempt === current : n.value.attempt >= 1 && n.value.attempt <= current;
    if (!ok) fail(sc, p, run, `G4 progress ${i} says attempt ${n.value.attempt}, but ${made} request(s) were made: attempt ${current}`);
  });
  // G10: the first progress event is never dropped: it is the first observation, at 0 bytes.
  const first = progressOf(trace)[0];
  if (first && !(first.loaded === 0 && first.delta === 0 && first.direction === (sc.kind === 'upload' ? 'upload' : 'download') && first.attempt >= 1)) {
    fail(sc, p, run, `G10 first progress event is ${first.direction} ${first.loaded} (delta ${first.delta})`);
  }
  return p;
}

/** Short description of a trace, for failure messages. */
export function describeTrace(trace: readonly Notification<unknown>[]): string {
  return trace.map((n) => (n.kind === 'next' ? n.value.type : n.kind)).join(',');
}
