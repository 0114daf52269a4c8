import type { SchedulerLike, Subscriber, Subscription } from 'rxjs';
import type { DownloadResult, ResponseHeaders, TransferEvent, UploadResult } from './events.js';
import { TransferError, isTransferError } from './errors/transfer-error.js';
import { TimeoutError } from './errors/timeout-error.js';
import { CancelledError } from './errors/cancelled-error.js';
import { HttpStatusError } from './errors/http-status-error.js';
import { IntegrityError } from './errors/integrity-error.js';
import { NetworkError } from './errors/network-error.js';
import { localFileError } from './errors/local-file-error.js';
import { CONTINUE_WAIT_MS, EXPECT_CONTINUE_ABOVE, type NormalizedOptions } from './options.js';
import type { NormalizedBody } from './body.js';
import type { Platform, FileSink } from './platform.js';
import type { OpenedBody, Transport, TransportResponse } from './transport.js';
import { memorySink, type BodySink } from './sink.js';
import { ProgressReporter } from './progress.js';
import { Watchdog } from './watchdog.js';
import { scheduleAfter } from './schedule-after.js';
import { RunAbort, AttemptAbort, withAttemptAbort } from './abort.js';
import { toTransferError } from './grammar.js';
import { backoffDelay, isRetryable, parseRetryAfter } from './retry.js';
import { nextHop, refusedFollowed, REDIRECT_STATUSES, type Hop } from './redirect.js';
import { originOf, redactUrl } from './redact.js';
import { hasHeader } from './headers.js';
import { toBase64, type Hasher } from './integrity.js';
import { BodyExcerpt, readExcerpt, parseContentRange, strongValidator, declaredLength } from './response-head.js';

/** How one exchange ended: a result, a redirect to follow, or a resumed range to drop and ask again. */
type Outcome<R> =
  | { readonly type: 'done'; readonly result: R }
  | { readonly type: 'redirect'; readonly status: number; readonly headers: ResponseHeaders; readonly location: string }
  | { readonly type: 'restart' };

/** What the download-progress hook of an attempt reads: filled in once the head is read. */
interface DownloadState {
  started: boolean;
  /** Where this response's bytes begin (0 when the server ignored the range and the held bytes were dropped). */
  start: number;
  total: number | undefined;
  /** The most the transport said it received, for messages when it hands over less. */
  loaded: number;
}

/** A request that continues nothing. */
const FROM_START: { readonly offset: number; readonly ifRange: string | undefined } = { offset: 0, ifRange: undefined };

/** How long a cancelled or timed-out run may take to unwind before its error is delivered anyway. */
const ABORT_GRACE_MS = 2_000;

/** How long an error response's body is read for its excerpt before the error goes without it. */
const EXCERPT_WAIT_MS = 2_000;

/**
 * A redirect's body declared at most this long is read to its end before the next hop, so that
 * its connection, kept alive, can carry that hop; a longer one is let go with its connection.
 */
const REDIRECT_DRAIN_LIMIT = 4096;

/** How long such a body is waited for before its connection is let go instead. */
const REDIRECT_DRAIN_WAIT_MS = 500;

/** Marks an abort caused by unsubscribing: nothing is delivered for it. */
const UNSUBSCRIBED = Symbol('unsubscribed');

/**
 * One subscription's work: attempts, redirects, retries, timeouts, the sink and progress
 * (created by `createTransfer` in transfer.ts).
 */
export class TransferRun<R> {
  /** Aborted once: by the caller's signal, the total timeout, or unsubscribing (its reason says which). */
  private readonly abort = new RunAbort();
  private readonly reporter: ProgressReporter;
  private readonly cleanups: Array<() => void> = [];
  private deadline = Number.POSITIVE_INFINITY;
  private bodyOpened = false;
  /**
   * A one-shot body opened for an attempt that the server answered (a redirect, an error) before
   * any of it was read: sent by the next attempt instead of opening it again, closed if none comes.
   */
  private unread: OpenedBody | undefined;
  /**
   * The last attempt's connection was up (the transport said so, a request byte moved, or its
   * head came; body bytes come after the head): its failure is then no proof that the server
   * never saw the request, whatever its errno.
   */
  private attemptConnected = false;
  /** Set by {@link finish}: the run has settled, or it is aborted. */
  private finished = false;
  /**
   * The sink is published (the file renamed into place, the body complete): the transfer has
   * succeeded, and a cancel or timeout that comes now, too late to stop it, does not turn it
   * into an error (the file at `to` would then be there after an error).
   */
  private published = false;
  private responseContentType: string | undefined;
  /** The request body's bytes that went out on the last hop that sent it, when the transport counts them and a redirect ended it. */
  private redirectedSent: number | undefined;
  /** Validator of the bytes the sink holds (strong ETag or Last-Modified), for `If-Range`. */
  private validator: string | undefined;
  /** The digest in progress and how many of the sink's bytes it has seen (kept across resumed attempts). */
  private hashing: { hasher: Hasher; bytes: number } | undefined;

  constructor(
    private readonly platform: Platform,
    private readonly n: NormalizedOptions,
    private readonly body: NormalizedBody | undefined,
    private readonly subscriber: Subscriber<TransferEvent<R>>,
  ) {
    this.reporter = new ProgressReporter((event) => subscriber.next(event), n.timer, n.progressInterval);
  }

  start(): void {
    const { n } = this;
    const context = { url: n.url, method: n.method };
    let setupFailure: TransferError | undefined;
    try {
      this.listen(context);
    } catch (error) {
      // A signal (or timer) that passed validation but throws when used: delivered like any
      // invalid option, after subscribe() (G7, G8).
      setupFailure = new TransferError('invalid', `signal or timer could not be used: ${error instanceof Error ? error.message : String(error)}`, { ...context, cause: error });
    }
    // Start on a microtask: nothing is delivered inside subscribe() (G7).
    void Promise.resolve()
      .then(() => {
        if (setupFailure) throw setupFailure;
        return this.run();
      })
      .then(
        (result) => {
          if (this.abort.aborted && this.abort.reason !== UNSUBSCRIBED && !this.published) throw this.abort.reason;
          this.reporter.flush();
          this.finish();
          this.subscriber.next({ type: 'done', result });
          this.subscriber.complete();
        },
      )
      .catch((error: unknown) => {
        this.finish();
        if (this.abort.reason === UNSUBSCRIBED) return;
        const reason = this.abort.aborted ? this.abort.reason : error;
        this.subscriber.error(toTransferError(reason, context));
      });
  }

  /** The caller's signal, the total timeout and the grace period after an abort. */
  private listen(context: { url: string; method: string }): void {
    const { n } = this;
    if (n.signal) {
      if (n.signal.aborted) this.abort.abort(new CancelledError(context));
      else {
        const onAbort = () => this.abort.abort(new CancelledError(context));
        n.signal.addEventListener('abort', onAbort, { once: true });
        this.cleanups.push(() => n.signal!.removeEventListener('abort', onAbort));
      }
    }
    if (Number.isFinite(n.timeouts.total)) {
      this.deadline = n.timer.now() + n.timeouts.total;
      const timer = scheduleAfter(n.timer, () => this.abort.abort(new TimeoutError('total', n.timeouts.total, context)), n.timeouts.total);
      this.cleanups.push(() => timer.unsubscribe());
    }
    // G2 even when a layer below ignores the abort (a custom transport's body that never ends):
    // once cancelled or timed out, the run gets a grace period to clean up, then the error is
    // delivered regardless. `finish()` cancels the grace timer when the run ends in time.
    const onRunAbort = () => {
      const reason: unknown = this.abort.reason;
      if (reason === UNSUBSCRIBED) return;
      const grace = scheduleAfter(n.timer, () => {
        if (this.published) return; // the run delivers its done
        this.finish();
        this.subscriber.error(toTransferError(reason, context));
      }, ABORT_GRACE_MS);
      this.cleanups.push(() => grace.unsubscribe());
    };
    this.cleanups.push(this.abort.onAbort(onRunAbort));
  }

  unsubscribe(): void {
    // Once finished, the run has settled or was aborted already: nothing is left to stop, and
    // aborting would only dispatch an event no one listens to (the usual teardown after `done`).
    try {
      if (!this.finished && !this.abort.aborted) this.abort.abort(UNSUBSCRIBED);
    } finally {
      this.finish();
    }
  }

  private finish(): void {
    this.finished = true;
    this.reporter.dispose();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  private async run(): Promise<R> {
    const { n } = this;
    this.throwIfAborted();
    const transport = n.transport ?? this.platform.transport(n.axios);
    if (this.body?.streaming && !transport.streamsBodies) {
      throw new TransferError('invalid', `this transport (${transport.name}) cannot send a stream body`, { url: n.url, method: n.method });
    }
    // Made before any request: a platform that cannot digest (a browser page outside a secure
    // context has no WebCrypto) says so at once, not after the body.
    if (n.integrity) {
      try {
        this.hashing = { hasher: this.platform.createHasher(n.integrity.algorithm), bytes: 0 };
      } catch (error) {
        // Said with the URL, as every error of a transfer is.
        const message = (error as { message?: unknown } | undefined)?.message;
        throw new TransferError('invalid', typeof message === 'string' ? message : String(error), { url: n.url, method: n.method, cause: error });
      }
    }
    const sink = await this.openSink();
    this.validator = n.to !== undefined ? (sink as FileSink).validator : undefined;
    // A file is let go of even when the run does not unwind after an abort (a layer below that
    // ignores it): the sink is aborted once the grace period has passed.
    let grace: Subscription | undefined;
    const stopWatching = n.to === undefined ? undefined : this.abort.onAbort(() => {
      grace = scheduleAfter(n.timer, () => void sink.abort(this.abort.reason).catch(() => undefined), ABORT_GRACE_MS);
    });
    try {
      this.throwIfAborted();
      return await this.loop(transport, sink);
    } catch (error) {
      // Waited for, so that the error finds the partial file dealt with; but not past the grace
      // period: a disk that takes no more writes may never let the file be closed (G2).
      await this.settledWithin(sink.abort(this.abort.aborted ? this.abort.reason : error), ABORT_GRACE_MS);
      throw error;
    } finally {
      stopWatching?.();
      grace?.unsubscribe();
      if (this.unread) releaseSource(this.unread);
      this.unread = undefined;
    }
  }

  private async openSink(): Promise<BodySink<unknown>> {
    const { n } = this;
    if (n.to === undefined) return memorySink(n.responseType, () => this.responseContentType);
    if (!this.platform.openFileSink) {
      throw new TransferError('invalid', `\`to\` needs a file system; on ${this.platform.name} use responseType for an in-memory result`, { url: n.url, method: n.method });
    }
    try {
      return await this.platform.openFileSink(n.to, { resume: n.resume, keepPartial: n.keepPartial, overwrite: n.overwrite, durable: n.durable, closing: () => this.abort.aborted, source: n.url, ...(n.owner !== undefined ? { owner: n.owner } : {}) });
    } catch (error) {
      if (isTransferError(error) && error.url !== undefined) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new TransferError(isTransferError(error) ? error.code : 'invalid', message, { url: n.url, method: n.method, cause: error });
    }
  }

  private async loop(transport: Transport, sink: BodySink<unknown>): Promise<R> {
    const { n } = this;
    // Only a redirect needs it: computed then, not per transfer.
    let firstOrigin: string | undefined;
    let hop: Hop = { url: n.url, method: n.method, headers: n.headers, withBody: this.body !== undefined };
    let redirects = 0;
    let restarts = 0;
    for (let attempt = 1; ; ) {
      this.reporter.attempt = attempt;
      let outcome: Outcome<R>;
      try {
        outcome = await this.exchange(transport, hop, sink);
      } catch (raw) {
        this.throwIfAborted();
        const error = toTransferError(raw, { url: hop.url, method: hop.method });
        const delay = this.retryDelay(error, attempt, hop);
        if (delay === undefined) throw error;
        await this.sleep(delay);
        attempt++;
        continue;
      }
      if (outcome.type === 'done') return outcome.result;
      if (outcome.type === 'restart') {
        if (++restarts > 2) throw new NetworkError('the server kept answering the resumed range wrongly', undefined, { url: hop.url, method: hop.method });
        continue;
      }
      const context = { url: hop.url, method: hop.method };
      if (++redirects > n.maxRedirects) {
        throw new HttpStatusError(outcome.status, outcome.headers, '', context, `too many redirects (more than ${n.maxRedirects})`);
      }
      const next = nextHop(hop, (firstOrigin ??= originOf(n.url)), outcome.status, outcome.location, n.sensitiveHeaders);
      if (typeof next === 'string') throw new HttpStatusError(outcome.status, outcome.headers, '', context, next);
      if (next.withBody && this.body && !this.body.replayable && this.unread === undefined) {
        throw new HttpStatusError(outcome.status, outcome.headers, '', context, `cannot follow a ${outcome.status} redirect with a one-shot stream body`);
      }
      // A body given back that no hop will send now (the GET a 303 leads to): closed at once,
      // not held open (a file, the caller's source) for as long as that download lasts.
      if (!next.withBody && this.unread) {
        releaseSource(this.unread);
        this.unread = undefined;
      }
      hop = next;
    }
  }

  /** The delay before another attempt, or undefined when the error is final (G11). */
  private retryDelay(error: TransferError, attempt: number, hop: Hop): number | undefined {
    const { n } = this;
    const policy = n.retry;
    if (attempt > policy.count) return undefined;
    if (!isRetryable(error, hop.method, policy, this.attemptConnected)) return undefined;
    // Only a hop that sends the body again needs it again (not the GET a 303 leads to).
    if (hop.withBody && this.bodyOpened && this.body && !this.body.replayable && this.unread === undefined) return undefined;
    if (policy.shouldRetry) {
      let verdict: boolean;
      try {
        verdict = policy.shouldRetry(error, attempt);
      } catch (thrown) {
        throw new TransferError('invalid', `retry.shouldRetry threw: ${thrown instanceof Error ? thrown.message : String(thrown)}`, { url: hop.url, method: hop.method, cause: thrown });
      }
      // An async policy's promise is truthy whatever it would resolve to: it would retry every time.
      if (typeof (verdict as unknown as PromiseLike<unknown> | null)?.then === 'function') {
        // Its rejection, if any, is this error's too: not left unhandled (which ends a Node process).
        Promise.resolve(verdict).catch(() => undefined);
        throw new TransferError('invalid', 'retry.shouldRetry returned a promise: it must answer true or false at once (it cannot be async)', { url: hop.url, method: hop.method });
      }
      if (!verdict) return undefined;
    }
    let delay = backoffDelay(attempt, policy, Math.random);
    if (error instanceof HttpStatusError) {
      const after = parseRetryAfter(error.headers['retry-after'], Date.now());
      if (after !== undefined) {
        if (after > policy.maxRetryAfter) return undefined;
        delay = Math.max(delay, after);
      }
    }
    if (n.timer.now() + delay >= this.deadline) return undefined;
    return delay;
  }

  /**
   * Resolves once `work` has settled (however: true) or `ms` have passed on the transfer's timer
   * (false), whichever is first.
   */
  private settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = scheduleAfter(this.n.timer, () => resolve(false), ms);
      const done = (): void => {
        timer.unsubscribe();
        resolve(true);
      };
      work.then(done, done);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.abort.aborted) return reject(this.abort.reason);
      let timer: Subscription | undefined = undefined;
      const stopListening = this.abort.onAbort(() => {
        timer?.unsubscribe();
        reject(this.abort.reason);
      });
      timer = scheduleAfter(this.n.timer, () => {
        stopListening();
        resolve();
      }, ms);
    });
  }

  private throwIfAborted(): void {
    if (this.abort.aborted) throw this.abort.reason;
  }

  /**
   * One HTTP exchange: send, read the head, then the body into the sink. The rarer paths (a
   * resumed range, an error status) and the body loop are methods of their own.
   */
  private async exchange(transport: Transport, hop: Hop, sink: BodySink<unknown>): Promise<Outcome<R>> {
    const { n, reporter } = this;
    const context = { url: hop.url, method: hop.method };
    // The digest of the bytes a resume continues, worked out before the request: read once the
    // head had come, a large partial file left the socket unread past the idle limit (G9).
    if (n.integrity && n.to !== undefined && sink.offset > 0 && this.validator !== undefined) await this.hasherFrom(sink.offset, sink as unknown as FileSink);
    const attempt = new AttemptAbort();
    this.attemptConnected = false;
    const stopFollowingRun = this.abort.onAbort(() => attempt.abort(this.abort.reason));
    const watchdog = new Watchdog(n.timer, n.timeouts, (phase, ms) => attempt.abort(new TimeoutError(phase, ms, context)));
    // An aborted attempt needs no watchdog; a layer that ignores the abort (and so never lets the
    // `finally` below run) must not keep its timer, and with it a Node process, alive.
    attempt.onAbort(() => watchdog.stop());
    try {
      // Aborted since the last hop ended (a cancel right after a redirect's head, or a restart):
      // the listener above came too late to hear it, so no request may go out.
      this.throwIfAborted();
      const fileSink = n.to !== undefined ? (sink as unknown as FileSink) : undefined;
      const headers: Record<string, string> = { ...hop.headers };
      const { offset, ifRange } = sink.offset > 0 || (n.resume && fileSink) ? await this.resumeFrom(headers, sink, fileSink !== undefined) : FROM_START;
      const opened = hop.withBody && this.body ? this.openUpload(headers, context) : undefined;
      const uploadTotal = opened ? this.body!.size : undefined;
      // Filled in when the head is read; the download-progress hook reads it.
      const download: DownloadState = { started: false, start: 0, total: undefined, loaded: 0 };
      let response: TransportResponse;
      try {
        // Raced against the abort: a transport (or an axios interceptor) that ignores the signal cannot hold a timeout or a cancel up (G2, G9).
        response = await untilAborted(transport.send(this.request(hop, headers, opened, uploadTotal, attempt, watchdog, download, context)), attempt);
      } catch (error) {
        throw attempt.aborted ? attempt.reason : error;
      }
      this.attemptConnected = true;
      watchdog.connected();
      watchdog.touch();
      const { status } = response;
      // A one-shot body the server did not wait for (it answered the 100-continue head with a
      // redirect or an error) and that was never read can still go on the next hop or attempt.
      if (opened && !this.body!.replayable && (status >= 400 || REDIRECT_STATUSES.has(status)) && reclaimed(response)) this.unread = opened;

      if (REDIRECT_STATUSES.has(status) && response.headers['location'] !== undefined && !transport.followsRedirects) {
        // A small body (most redirects have one) is read to its end, bounded in size and time:
        // its connection goes back to the pool for the next hop instead of being closed.
        const length = declaredLength(response, hop.method);
        if (length !== undefined && length <= REDIRECT_DRAIN_LIMIT) {
          watchdog.stop();
          await orAfter(drain(response.body, attempt, REDIRECT_DRAIN_LIMIT), n.timer, REDIRECT_DRAIN_WAIT_MS, () => undefined);
        }
        attempt.abort();
        // What of the body went out on this hop: `done`'s `sent` when the hop that ends the
        // transfer sends none (the GET a 303 leads to).
        if (opened) this.redirectedSent = sentOf(response);
        return { type: 'redirect', status, headers: response.headers, location: response.headers['location'] };
      }
      // A transport that follows redirects itself (the browser's XHR) cannot be stopped at a hop;
      // what it ended at can still be refused: no redirect at all with `maxRedirects: 0`, never
      // from https to http (G11).
      const followed = transport.followsRedirects && response.url && response.url !== hop.url ? refusedFollowed(hop.url, response.url, n.maxRedirects) : undefined;
      if (followed) {
        attempt.abort();
        throw new HttpStatusError(status, response.headers, '', context, followed);
      }
      if (status >= 400) return await this.refused(hop, response, sink, fileSink, offset, ifRange, attempt, watchdog);
      if (status === 304 && fileSink) return { type: 'done', result: await this.notModified(hop, response, fileSink, attempt) };

      let start = 0;
      // The size of the whole representation when this body is a range of it from byte 0.
      let rangeSize: number | undefined;
      // Whether this body begins the representation: only then can its bytes be continued.
      let prefix = true;
      if (offset > 0) {
        const continued = await this.continuedAt(hop, response, sink, offset, ifRange!, attempt);
        if (continued === undefined) return { type: 'restart' };
        start = continued;
        if (start > 0) rangeSize = parseContentRange(response.headers['content-range'])?.size;
      } else if (status === 206) {
        // A range that continued nothing: the caller's own `Range`, or one no one asked for.
        const range = parseContentRange(response.headers['content-range']);
        prefix = range?.start === 0;
        if (!hasHeader(headers, 'range')) {
          // Asked for the whole body: a part of it is never `done` (G5). From byte 0 it is a body
          // cut short of its Content-Range size (a retry continues it); any other part is not one.
          if (!prefix || range?.size === undefined) {
            attempt.abort();
            throw new NetworkError(`the server answered a request for the whole body with a part of it (206, Content-Range: ${response.headers['content-range'] ?? 'none'})`, undefined, context);
          }
          rangeSize = range.size;
        }
      }
      const length = declaredLength(response, hop.method);
      const downloadTotal = rangeSize ?? (length === undefined ? undefined : start + length);
      download.total = downloadTotal;
      download.start = start;
      if (downloadTotal !== undefined && downloadTotal > n.maxBytes) {
        attempt.abort();
        throw new IntegrityError('too-large', `body of ${downloadTotal} bytes is over maxBytes (${n.maxBytes})`, context);
      }
      this.responseContentType = response.headers['content-type'];
      // A 206 that repeats no validator continues the version sent in If-Range: that one stays.
      // Bytes that do not begin the representation (the caller's `Range: bytes=500-`) get none:
      // a later resume would append the rest of the file to them.
      this.validator = response.decoded || !prefix ? undefined : strongValidator(response.headers) ?? (start > 0 ? ifRange : undefined);
      if (fileSink) await fileSink.remember(this.validator);
      // The head means the body went out, unless the transport counts what did (a server may
      // answer before it has taken all of it): no byte is claimed that was not sent.
      if (opened && uploadTotal !== undefined) reporter.observe('upload', sentOf(response) ?? uploadTotal, uploadTotal);
      download.started = true;
      reporter.observe('download', start, downloadTotal);

      const hasher = n.integrity ? await this.hasherFrom(start, fileSink) : undefined;
      const loaded = await this.readBody(response, sink, download, hasher, attempt, watchdog, context);
      const integrity = hasher ? await this.check(hasher, context) : undefined;
      watchdog.stop();
      return { type: 'done', result: await this.complete(hop, response, sink, loaded, integrity) };
    } catch (error) {
      // However the exchange failed — in the transport after the head (an axios response
      // interceptor that throws), or here before the body was read (the sink, the digest) — its
      // connection is closed now, not left open with an unread body (G6).
      if (!attempt.aborted) {
        try {
          attempt.abort(error);
        } catch {
          // a listener's failure does not replace the exchange's error
        }
      }
      throw error;
    } finally {
      watchdog.stop();
      stopFollowingRun();
    }
  }

  /**
   * Bytes already held (from disk, or from an earlier attempt) are continued with a range request
   * when a validator proves which version they belong to; otherwise they are dropped. Sets the
   * request's range headers; returns where the request continues and the validator sent.
   */
  private async resumeFrom(headers: Record<string, string>, sink: BodySink<unknown>, toFile: boolean): Promise<{ offset: number; ifRange: string | undefined }> {
    const userRange = hasHeader(headers, 'range');
    if (sink.offset > 0 && (this.validator === undefined || userRange)) await sink.reset();
    const offset = sink.offset;
    const ifRange = offset > 0 ? this.validator : undefined;
    if (offset > 0) {
      headers['Range'] = `bytes=${offset}-`;
      headers['If-Range'] = ifRange!;
    }
    // A resumable file holds the identity representation: its validator must be that one's.
    if (offset > 0 || (this.n.resume && toFile)) {
      for (const h of Object.keys(headers)) if (h.toLowerCase() === 'accept-encoding') delete headers[h];
      headers['Accept-Encoding'] = 'identity';
    }
    return { offset, ifRange };
  }

  /** Opens the request body for this attempt, with its type when the caller's headers give none. */
  private openUpload(headers: Record<string, string>, context: { url: string; method: string }): ReturnType<NormalizedBody['open']> {
    const body = this.body!;
    let opened: ReturnType<NormalizedBody['open']>;
    try {
      // A stream that failed before this attempt opened it (before the first, or while a
      // reclaimed one waited for the next): the body's failure, not the network's.
      const early = body.failure?.();
      if (early !== undefined) throw localFileError('cannot send the request body', early, context);
      opened = this.unread ?? body.open();
      this.unread = undefined;
    } catch (error) {
      // The body's own failure (a source whose open() threw, a one-shot stream a second
      // subscription finds sent already): 'invalid' as docs/transfers.md says, not a network
      // error that is retried into the same failure.
      throw isTransferError(error) ? error : new TransferError('invalid', `the upload body could not be opened: ${error instanceof Error ? error.message : String(error)}`, { ...context, cause: error });
    }
    this.bodyOpened = true;
    this.reporter.observe('upload', 0, body.size);
    if (body.contentType && !hasHeader(headers, 'content-type')) headers['Content-Type'] = body.contentType;
    return opened;
  }

  /** The request handed to the transport, its progress hooks feeding the watchdog and the reporter. */
  private request(hop: Hop, headers: Record<string, string>, opened: ReturnType<NormalizedBody['open']> | undefined, uploadTotal: number | undefined, attempt: AttemptAbort, watchdog: Watchdog, download: DownloadState, context: { url: string; method: string }) {
    const { n, reporter } = this;
    // Not from an attempt that has ended (a layer that ignores its abort): the new one's own.
    const reached = () => {
      if (!attempt.aborted) this.attemptConnected = true;
    };
    return withAttemptAbort({
      url: hop.url,
      method: hop.method,
      headers,
      body: opened,
      bodySize: uploadTotal,
      // With an Expect header of the caller's own, the transport holds the body if it says 100-continue.
      expectContinue: opened !== undefined && (hasHeader(headers, 'expect') || (n.expectContinue ?? (uploadTotal === undefined || uploadTotal > EXPECT_CONTINUE_ABOVE))) ? Math.min(CONTINUE_WAIT_MS, n.timeouts.idle / 2) : undefined,
      crossOrigin: hop.crossOrigin === true,
      sensitiveHeaders: n.sensitiveHeaders,
      onUploadProgress: (loaded: number) => {
        watchdog.touch();
        if (loaded > 0) {
          reached();
          watchdog.connected();
        }
        reporter.observe('upload', loaded, uploadTotal);
      },
      onConnect: () => {
        reached();
        watchdog.touch();
        watchdog.connected();
      },
      onActivity: () => watchdog.touch(),
      onDownloadProgress: (loaded: number) => {
        watchdog.touch();
        if (!download.started) return;
        download.loaded = download.start + loaded;
        // A transport that hands the body over only whole (XHR) reports it here first: the
        // limit stops it as soon as it is passed, not once the whole body is in memory.
        if (download.loaded > n.maxBytes) attempt.abort(new IntegrityError('too-large', `body is over maxBytes (${n.maxBytes})`, context));
        else reporter.observe('download', download.loaded, download.total);
      },
    }, attempt);
  }

  /**
   * An error status: a 416 to a resumed range that proves the whole body is held already ends the
   * transfer (done) or restarts it; any other is an HttpStatusError with an excerpt of its body.
   */
  private async refused(hop: Hop, response: TransportResponse, sink: BodySink<unknown>, fileSink: FileSink | undefined, offset: number, ifRange: string | undefined, attempt: AttemptAbort, watchdog: Watchdog): Promise<Outcome<R>> {
    const context = { url: hop.url, method: hop.method };
    const { status } = response;
    if (offset > 0 && status === 416) {
      const range = parseContentRange(response.headers['content-range']);
      attempt.abort();
      // A validator on the 416 that is not the one sent is another version of that size
      // (a server that ignores If-Range): the bytes held are not its body.
      if (range && range.start === undefined && range.size === offset && !otherVersion(response.headers, ifRange!)) {
        // The whole body is on disk already; integrity and maxBytes are still checked over it.
        if (offset > this.n.maxBytes) throw new IntegrityError('too-large', `body of ${offset} bytes is over maxBytes (${this.n.maxBytes})`, context);
        return { type: 'done', result: await this.complete(hop, response, sink, offset, await this.verify(offset, fileSink, context)) };
      }
      await sink.reset();
      return { type: 'restart' };
    }
    // Bounded in time as in size: a transport that hands the body over only whole (XHR), or a
    // body that trickles, must not hold the error (or its retry) up.
    // What arrived is kept when the rest does not come in time, or the body breaks.
    const held = new BodyExcerpt(response.headers['content-type']);
    const excerpt = await orAfter(readExcerpt(response.body, attempt, held, () => watchdog.touch()).catch(() => held.text()), this.n.timer, EXCERPT_WAIT_MS, () => held.text());
    attempt.abort();
    throw new HttpStatusError(status, response.headers, excerpt, context);
  }

  /**
   * A 304 to a download to a file (the caller sent `If-None-Match` or `If-Modified-Since`): the
   * copy the caller holds is current, and there is no body. The file at `to` is left as it is —
   * never replaced by an empty one — and nothing is written; `done` says 304, with `size` 0.
   * With `integrity`, that copy is what the caller is left with: it is checked (done then has its
   * `integrity`), and one that does not match, or is not there, is an IntegrityError (G5).
   */
  private async notModified(hop: Hop, response: TransportResponse, fileSink: FileSink, attempt: AttemptAbort): Promise<R> {
    attempt.abort();
    this.throwIfAborted();
    // Gives the side file up as a failure would (a resumable one from an earlier run is kept).
    await fileSink.abort();
    const integrity = this.n.integrity ? await this.verifyKept(fileSink, { url: hop.url, method: hop.method }) : undefined;
    this.reporter.observe('download', 0, 0);
    const result: { -readonly [K in keyof DownloadResult<undefined>]: DownloadResult<undefined>[K] } = { url: this.resultUrl(hop, response), status: response.status, headers: response.headers, size: 0, data: undefined, path: fileSink.path };
    if (integrity !== undefined) result.integrity = integrity;
    return result as R;
  }

  /** The integrity of the file a 304 keeps at `to` (see {@link notModified}). */
  private async verifyKept(fileSink: FileSink, context: { url: string; method: string }): Promise<string> {
    const expected = this.n.integrity!;
    const hasher = this.platform.createHasher(expected.algorithm);
    try {
      if (!fileSink.kept) throw new Error('this platform cannot read it');
      for await (const chunk of fileSink.kept()) {
        this.throwIfAborted();
        hasher.update(chunk);
      }
    } catch (error) {
      this.throwIfAborted();
      const why = (error as { code?: unknown } | undefined)?.code === 'ENOENT' ? 'there is none' : String((error as { message?: unknown } | undefined)?.message ?? error);
      throw new IntegrityError('digest', `not modified (304), but the file kept at ${fileSink.path} cannot be checked against the expected integrity: ${why}`, { ...context, cause: error });
    }
    const digest = toBase64(await hasher.digest());
    if (!expected.digests.includes(digest)) {
      throw new IntegrityError('digest', `not modified (304), but the file kept at ${fileSink.path} does not match the expected integrity (its ${expected.algorithm} digest is ${digest})`, context);
    }
    return `${expected.algorithm}-${digest}`;
  }

  /**
   * The answer to a range request: where its bytes start (`offset` for a sound 206, 0 for a whole
   * body, the held bytes dropped), or undefined when the attempt must be made again from zero.
   */
  private async continuedAt(hop: Hop, response: TransportResponse, sink: BodySink<unknown>, offset: number, ifRange: string, attempt: AttemptAbort): Promise<number | undefined> {
    const { status } = response;
    const range = status === 206 ? parseContentRange(response.headers['content-range']) : undefined;
    const length = declaredLength(response, hop.method);
    const encoding = response.headers['content-encoding']?.trim().toLowerCase();
    // The range must start where the file ends, reach the end of the representation, match
    // the declared length, be of the identity encoding, and carry no validator other than the
    // one sent in `If-Range` (a server that ignores `If-Range` answers a changed resource
    // with a 206 of the new version: S3, never splice two versions): anything else is not appended.
    const sound = range && range.start === offset && range.end !== undefined
      && (range.size === undefined || range.end === range.size - 1)
      && (length === undefined || length === range.end - range.start + 1)
      && !response.decoded && (encoding === undefined || encoding === 'identity')
      && !otherVersion(response.headers, ifRange);
    if (status === 206 && !sound) {
      attempt.abort();
      await sink.reset();
      return undefined;
    }
    if (status === 206) return offset;
    await sink.reset();
    return 0;
  }

  /** Reads the body into the sink (and the digest), checking its length; returns the bytes held. */
  private async readBody(response: TransportResponse, sink: BodySink<unknown>, download: DownloadState, hasher: Hasher | undefined, attempt: AttemptAbort, watchdog: Watchdog, context: { url: string; method: string }): Promise<number> {
    const { n, reporter } = this;
    const total = download.total;
    let loaded = download.start;
    // A write waiting on the disk is given up when the attempt is aborted (the idle timeout, a
    // cancel): a disk that never drains (a stalled network mount) must not hold the run past its
    // timeouts. One listener for the whole body; the write's own outcome is still taken, unused.
    let giveUp: ((reason: unknown) => void) | undefined;
    const stopListening = attempt.onAbort(() => giveUp?.(attempt.reason));
    // The write waiting on the disk, if any: an idle timeout then may be the disk's, not the network's.
    let onDisk: Promise<void> | undefined;
    try {
      for await (const chunk of response.body) {
        loaded += chunk.byteLength;
        if (total !== undefined && loaded > total) {
          throw new IntegrityError('overflow', `body is longer than the ${total} bytes declared`, context);
        }
        if (loaded > n.maxBytes) throw new IntegrityError('too-large', `body is over maxBytes (${n.maxBytes})`, context);
        if (hasher) {
          hasher.update(chunk);
          this.hashing!.bytes += chunk.byteLength;
        }
        const pending = sink.write(chunk);
        if (pending) {
          onDisk = pending;
          await new Promise<void>((resolve, reject) => {
            // Taken first, whatever follows: the sink's abort fails this write, and a rejection
            // no one takes ends a Node process (unhandledRejection).
            pending.then(resolve, reject);
            if (attempt.aborted) return reject(attempt.reason);
            giveUp = reject;
          });
          giveUp = undefined;
          onDisk = undefined;
        }
        watchdog.touch();
        reporter.observe('download', loaded, total);
      }
    } catch (error) {
      if (attempt.aborted) {
        const reason = attempt.reason;
        // The idle period ran out while a write waited on the disk. A disk that is only slow
        // (a hiccup) takes it within the grace period: the idle timeout stands, and may be
        // retried. One that does not has stalled (a hung network mount), not the server: a local
        // error, not retried, since another attempt would start by resetting the file on that
        // disk, and wait on it for ever.
        if (onDisk && reason instanceof TimeoutError && reason.phase === 'idle' && !(await this.settledWithin(onDisk, ABORT_GRACE_MS))) {
          const where = (sink as Partial<FileSink>).path;
          throw localFileError(`cannot write ${where ?? 'the body'}`, new Error(`the disk took no more of it for ${reason.ms + ABORT_GRACE_MS} ms (the idle timeout, then ${ABORT_GRACE_MS / 1000} s more)`), context);
        }
        throw reason;
      }
      if (isTransferError(error) && error.code !== 'network') throw error;
      if (total !== undefined && loaded < total) {
        const received = Math.max(loaded, download.loaded);
        throw new IntegrityError('truncated', `body ended after ${received} of ${total} bytes`, { ...context, cause: error });
      }
      throw error;
    } finally {
      stopListening();
    }
    if (attempt.aborted) throw attempt.reason;
    if (total !== undefined && loaded < total) {
      throw new IntegrityError('truncated', `body ended after ${loaded} of ${total} bytes`, context);
    }
    return loaded;
  }

  /**
   * The digest for a body continuing at `start`: the one in progress when it has seen exactly
   * those bytes (a resumed attempt), else a new one fed with what is on disk.
   */
  private async hasherFrom(start: number, fileSink: FileSink | undefined): Promise<Hasher> {
    if (this.hashing && this.hashing.bytes === start) return this.hashing.hasher;
    const hasher = this.platform.createHasher(this.n.integrity!.algorithm);
    this.hashing = { hasher, bytes: 0 };
    if (start > 0 && fileSink) {
      for await (const chunk of fileSink.existing()) {
        this.throwIfAborted();
        hasher.update(chunk);
        this.hashing.bytes += chunk.byteLength;
      }
    }
    if (this.hashing.bytes !== start) throw new NetworkError(`the partial file holds ${this.hashing.bytes} bytes, not ${start}`, undefined, { url: this.n.url, method: this.n.method });
    return hasher;
  }

  /** The integrity of a body held entirely on disk (a 416 on resume), or undefined without `integrity`. */
  private async verify(size: number, fileSink: FileSink | undefined, context: { url: string; method: string }): Promise<string | undefined> {
    if (!this.n.integrity) return undefined;
    return this.check(await this.hasherFrom(size, fileSink), context);
  }

  /** Compares a finished digest with the expected integrity; returns it in SRI form. */
  private async check(hasher: Hasher, context: { url: string; method: string }): Promise<string> {
    const expected = this.n.integrity!;
    const digest = toBase64(await hasher.digest());
    if (!expected.digests.includes(digest)) {
      throw new IntegrityError('digest', `${expected.algorithm} digest ${digest} does not match the expected integrity`, context);
    }
    return `${expected.algorithm}-${digest}`;
  }

  /** The result's `url`: the final one, after redirects, without credentials. */
  private resultUrl(hop: Hop, response: TransportResponse): string {
    const finalUrl = response.url || hop.url;
    return finalUrl === this.n.url ? this.n.safeUrl : redactUrl(finalUrl);
  }

  /** Publishes the sink and builds the result; the final progress is flushed before `done`. */
  private async complete(hop: Hop, response: TransportResponse, sink: BodySink<unknown>, size: number, integrity: string | undefined): Promise<R> {
    this.throwIfAborted();
    let published: { data: unknown; path?: string };
    try {
      published = await sink.finish();
      this.published = true;
    } catch (error) {
      if (isTransferError(error)) throw error;
      if (error instanceof SyntaxError) {
        throw new IntegrityError('malformed', `body is not valid ${this.n.responseType}: ${error.message}`, { url: hop.url, method: hop.method, cause: error });
      }
      throw error;
    }
    this.reporter.observe('download', size, size);
    const base = { url: this.resultUrl(hop, response), status: response.status, headers: response.headers };
    if (this.n.kind === 'upload') {
      const sent = (hop.withBody ? sentOf(response) : this.redirectedSent) ?? this.body?.size ?? this.reporter.loaded('upload');
      const result: UploadResult<unknown> = { url: base.url, status: base.status, headers: base.headers, sent, data: published.data };
      return result as R;
    }
    // Built by assignment, not with conditional spreads (a slow path in V8, paid per request);
    // the keys and their order are the same.
    const result: { -readonly [K in keyof DownloadResult<unknown>]: DownloadResult<unknown>[K] } = { url: base.url, status: base.status, headers: base.headers, size, data: published.data };
    if (published.path !== undefined) result.path = published.path;
    if (integrity !== undefined) result.integrity = integrity;
    return result as R;
  }
}

/** The request body's bytes the transport handed to the network, when it counts them (see `TransportResponse.sent`). */
function sentOf(response: TransportResponse): number | undefined {
  if (typeof response.sent !== 'function') return undefined;
  const sent = response.sent();
  return typeof sent === 'number' && sent >= 0 && sent <= Number.MAX_SAFE_INTEGER ? sent : undefined;
}

/** Whether the transport gave the request body back unread (see `TransportResponse.reclaim`). */
function reclaimed(response: TransportResponse): boolean {
  try {
    return typeof response.reclaim === 'function' && response.reclaim() === true;
  } catch {
    return false;
  }
}

/** Closes a stream body no attempt will send (a Node stream destroyed, a web stream cancelled, an iterator returned). */
function releaseSource(opened: OpenedBody): void {
  if (opened.kind !== 'stream') return;
  try {
    const data = opened.data as AsyncIterable<Uint8Array> & { destroy?: () => void; cancel?: () => Promise<void> };
    if (typeof data.destroy === 'function') return void data.destroy();
    if (typeof data.cancel === 'function') return void Promise.resolve(data.cancel()).catch(() => undefined);
    void Promise.resolve(data[Symbol.asyncIterator]().return?.()).catch(() => undefined);
  } catch {
    // a source that cannot even be closed: nothing more to do
  }
}

/**
 * Whether a response to `If-Range: <sent>` names another version: it carries a validator of the
 * kind sent (an ETag for an ETag, Last-Modified for a date) that is not the one sent. A response
 * that carries none proves nothing either way (RFC 9110 has a 206 repeat the ETag, not
 * Last-Modified) and is taken at its word, as a server that honours `If-Range` means it.
 */
function otherVersion(headers: ResponseHeaders, sent: string): boolean {
  const byTag = sent.startsWith('"') || sent.startsWith('W/');
  const value = headers[byTag ? 'etag' : 'last-modified'];
  return value !== undefined && value.trim() !== sent;
}

/** Reads a body to its end, or until more than `limit` bytes came or `signal` aborted; never rejects. */
async function drain(body: AsyncIterable<Uint8Array>, signal: { readonly aborted: boolean }, limit: number): Promise<void> {
  let read = 0;
  try {
    for await (const chunk of body) {
      read += chunk.byteLength;
      if (signal.aborted || read > limit) break;
    }
  } catch {
    // a body that breaks: its connection is let go with the attempt
  }
}

/** What `work` resolves with, or `fallback()` once `ms` have passed on `timer`, whichever is first. */
function orAfter<T>(work: Promise<T>, timer: SchedulerLike, ms: number, fallback: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    const late = scheduleAfter(timer, () => resolve(fallback()), ms);
    void work.then((value) => {
      late.unsubscribe();
      resolve(value);
    });
  });
}

/**
 * Settles as `send` does, or rejects with the abort's reason as soon as it aborts. A response that
 * comes after the abort (a transport that did not hear it) has its body let go: no one reads it,
 * and its connection or file would stay open (G6).
 */
function untilAborted(sent: Promise<TransportResponse>, abort: RunAbort): Promise<TransportResponse> {
  const work = Promise.resolve(sent);
  if (abort.aborted) {
    work.then(releaseBody, () => undefined);
    return Promise.reject(abort.reason);
  }
  return new Promise<TransportResponse>((resolve, reject) => {
    const stop = abort.onAbort(() => reject(abort.reason));
    work.then(
      (value) => {
        stop();
        if (abort.aborted) releaseBody(value);
        else resolve(value);
      },
      (error: unknown) => {
        stop();
        reject(error);
      },
    );
  });
}

/**
 * Lets go of the body of a response no one will read: a Node stream is destroyed, a web stream
 * cancelled, any other body left as a `for await` that breaks at once leaves it (an async
 * generator runs its `finally` only once started, hence the `next()` first).
 */
function releaseBody(response: TransportResponse | undefined): void {
  const noop = () => undefined;
  try {
    const body = response?.body as (AsyncIterable<Uint8Array> & { destroy?: () => void; cancel?: () => Promise<void> }) | undefined;
    if (body === undefined || body === null) return;
    if (typeof body.destroy === 'function') return void body.destroy();
    if (typeof body.cancel === 'function') return void Promise.resolve(body.cancel()).catch(noop);
    const iterator = body[Symbol.asyncIterator]();
    void Promise.resolve(iterator.next()).catch(noop);
    void Promise.resolve(iterator.return?.()).catch(noop);
  } catch {
    // a body that cannot even be let go: nothing more to do
  }
}
