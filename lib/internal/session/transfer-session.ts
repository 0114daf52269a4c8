import { asyncScheduler, Observable, ReplaySubject, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import type { DownloadResult, TransferDirection, TransferEvent, TransferProgress, UploadResult } from '../core/events.js';
import { isHttpStatusError, type HttpStatusError } from '../core/errors/http-status-error.js';
import { originOf } from '../core/redact.js';
import { randomId } from './random-id.js';
import { parseIntegrity } from '../core/integrity.js';
import { absoluteUrl, checkHeaders, checkMethod, isHeaderNameList, PUBLISH_OWNER } from '../core/options.js';
import type { SessionStoreHandle } from './session-store.js';
import { isFinal, type SessionEvent, type TaskCompletion, type TaskFailure, type TaskRecord, type TaskResult, type TaskState } from './session-task.js';
import { ChallengeGate, type CredentialsSent } from './challenge-gate.js';
import { hostOf, tasksToStart } from './task-queue.js';
import { SessionInvalidatedError } from './session-invalidated-error.js';
import {
  checkTaskId,
  SESSION_DEFAULTS,
  type SessionDownloadOptions,
  type SessionInvalidation,
  type SessionOptions,
  type SessionPlatform,
  type SessionUploadOptions,
} from './session-options.js';

/** The longest wait for a stopped transfer to release its files. */
const SETTLE_MS = 10_000;
/** The most challenges one run of a task answers before it fails (a server that keeps refusing). */
const MAX_CHALLENGES_PER_RUN = 3;
/** The most characters of response text kept in a stored result (longer: cut, and marked `truncated`). */
const MAX_STORED_TEXT = 64 * 1024;

interface Run {
  sub: Subscription | undefined;
  /** Stops the transfer: it then releases its partial file and reports the end (`settled`). */
  readonly controller: AbortController;
  /** Resolves when the transfer has ended and released its files. */
  readonly settled: Promise<void>;
  settle(): void;
  /** The credentials the run's requests carry. */
  readonly credentials: CredentialsSent;
  challenges: number;
  lastCheckpoint: number;
  /**
   * The run's last progress in the task's direction, checkpointed or not: the record of the
   * task's stop (suspend, cancel, end, close) holds it, so what reads the store does not show
   * the count of the last checkpoint, up to `checkpointInterval` ms old.
   */
  progress: Progress | undefined;
}

/** A progress count as a task's record holds it. */
interface Progress {
  readonly bytes: number;
  readonly total: number | undefined;
}

/**
 * A background transfer session: NSURLSession's background session for Node and the browser.
 * Tasks outlive the process: they are persisted before `download()`/`upload()` resolve,
 * reconnected by the session's id, resumed after a crash, and their completions are delivered
 * until acknowledged. Open one with `TransferSession.open()`.
 *
 * @example
 * ```ts
 * import { TransferSession } from 'rxtransfer';
 * const session = await TransferSession.open({ id: 'com.example.sync' });
 * session.completions$.subscribe(async (c) => {
 *   console.log(c.taskId, c.state, c.result?.path);
 *   await c.ack();
 * });
 * await session.download('https://example.com/big.iso', { to: './big.iso', id: 'iso' });
 * ```
 * @see docs/sessions.md
 */
export interface TransferSession {
  readonly id: string;
  /** Every task's events (progress, state changes, done, error), tagged with the task id. */
  readonly events$: Observable<SessionEvent>;
  /** Emits when the last running or queued task ends (NSURLSession's DidFinishEventsForBackgroundSession). */
  readonly finished$: Observable<void>;
  /** Finished tasks not yet acknowledged: the ones pending at subscription, then each new one (S4). */
  readonly completions$: Observable<TaskCompletion>;
  /** Emits once why the session became invalid, then completes (also completes on `close()`). */
  readonly invalidated$: Observable<SessionInvalidation>;
  /** Adds a download; resolves once the task is persisted (S2). An existing `id` returns that task. */
  download(url: string | URL, options?: SessionDownloadOptions): Promise<TaskRecord>;
  /** Adds an upload of a file; resolves once persisted. Interrupted uploads restart from zero. */
  upload(url: string | URL, file: string, options?: SessionUploadOptions): Promise<TaskRecord>;
  /** Every task (acknowledged ones too), oldest first, with live states. */
  tasks(): TaskRecord[];
  task(id: string): TaskRecord | undefined;
  /** Acknowledges a completion: it is never delivered again. Resolves once persisted. */
  ack(taskId: string): Promise<void>;
  /**
   * Removes an acknowledged task from the session (and its store); a failed download's partial
   * file goes with it. False when it is not acknowledged.
   */
  forget(taskId: string): Promise<boolean>;
  /** Stops a task and keeps it (and its partial file) until `resume`. False when nothing changed. */
  suspend(taskId: string): Promise<boolean>;
  /** Queues a suspended task again. False when nothing changed. */
  resume(taskId: string): Promise<boolean>;
  /**
   * Cancels a task: it ends as a `cancelled` completion. False when it had already ended. Rejects
   * with the store's error when the end could not be stored (the session then ends, store-failed).
   */
  cancel(taskId: string): Promise<boolean>;
  /**
   * Ends the session (NSURLSession's invalidate): no new tasks; with `cancelTasks` the
   * unfinished ones are cancelled, else they run to their end first. `invalidated$` reports it.
   */
  invalidate(options?: { cancelTasks?: boolean }): Promise<void>;
  /** Stops running tasks without ending them (they continue on the next open) and releases the store. */
  close(): Promise<void>;
}

/** The session core over a platform and an opened store. */
export class SessionCore implements TransferSession {
  private readonly records = new Map<string, TaskRecord>();
  /**
   * Per task, the record the store last made durable (none: the task is not stored). A write that
   * fails puts this one back, not the record before it: that one may have been in a write that
   * failed too (two writes of one task in flight, a `resume()` then a `suspend()`).
   */
  private readonly durable = new Map<string, TaskRecord>();
  private readonly runs = new Map<string, Run>();
  private readonly creating = new Map<string, Promise<void>>();
  /** Tasks a suspend or a cancel is stopping: not started again before their new state is stored. */
  private readonly holding = new Set<string>();
  /**
   * Tasks whose end was told on completions$ (or was found in the store at open): only those are
   * replayed to a new subscriber. An end still being written is told once written, not twice.
   */
  private readonly announced = new Set<string>();
  /** Ends being written: the queue has not drained (finished$) while one is. */
  private ending = 0;
  /** Per task, by direction, the progress events$ last showed (see progressShown). */
  private readonly shownProgress = new Map<string, Partial<Record<TransferDirection, { loaded: number; total: number | undefined }>>>();
  private readonly events = new Subject<SessionEvent>();
  private readonly finished = new Subject<void>();
  private readonly completed = new Subject<TaskCompletion>();
  private readonly invalidation = new ReplaySubject<SessionInvalidation>(1);
  private readonly gate: ChallengeGate;
  private readonly timer: SchedulerLike;
  private seq = 0;
  private busy = false;
  private accepting = true;
  private draining: ((value: void) => void) | undefined;
  /** The first failure of the store: once set, no change can be made durable. */
  private storeError: { error: unknown } | undefined;
  private ended: Promise<void> | undefined;
  /** The store is being (or was) released: `ack()` is refused as the other task operations are. */
  private released = false;

  readonly events$ = this.events.asObservable();
  readonly finished$ = this.finished.asObservable();
  readonly invalidated$ = this.invalidation.asObservable();
  readonly completions$ = new Observable<TaskCompletion>((subscriber) => {
    const live = this.completed.subscribe(subscriber);
    for (const task of this.sorted()) if (isFinal(task) && !task.acked && this.announced.has(task.id)) subscriber.next(this.completionOf(task));
    return live;
  });

  constructor(
    readonly id: string,
    private readonly platform: SessionPlatform,
    private readonly store: SessionStoreHandle,
    private readonly options: SessionOptions,
  ) {
    this.gate = new ChallengeGate(options.onChallenge);
    this.timer = options.timer ?? asyncScheduler;
    const settling: Promise<void>[] = [];
    for (const task of store.tasks) {
      this.records.set(task.id, task);
      this.durable.set(task.id, task);
      if (isFinal(task)) this.announced.add(task.id);
      this.seq = Math.max(this.seq, task.seq);
      // Completed, and maybe killed before its platform heard of it (published): said again,
      // before any task starts (one to the same `to` would find the side file's lock taken).
      if (isFinal(task) && !task.acked && publishesWithOwner(task)) settling.push(this.settlePublished(task));
    }
    // An upload keeps nothing between runs: the checkpoint of the run that stopped is stored as
    // none, so that what reads the store (`session list`) does not show it as this run's progress.
    for (const task of store.tasks) if (task.kind === 'upload' && !isFinal(task) && task.bytes !== undefined) void this.persist(withoutBytes(task)).catch(() => undefined);
    // A store lost for good (its database deleted under it) ends the session now, not at its next write.
    store.lost?.then((error) => this.storeFailed(error)).catch(() => undefined);
    // Start after the caller of open() had its turn to subscribe.
    this.timer.schedule(() => (settling.length === 0 ? this.pump() : void Promise.all(settling).then(() => this.pump())));
  }

  download(url: string | URL, options: SessionDownloadOptions = {}): Promise<TaskRecord> {
    return this.add({ kind: 'download', url: String(url), to: options.to, id: options.id, priority: options.priority, headers: options.headers, sensitiveHeaders: options.sensitiveHeaders, method: options.method, integrity: options.integrity, overwrite: options.overwrite });
  }

  upload(url: string | URL, file: string, options: SessionUploadOptions = {}): Promise<TaskRecord> {
    return this.add({ kind: 'upload', url: String(url), source: file, id: options.id, priority: options.priority, headers: options.headers, sensitiveHeaders: options.sensitiveHeaders, method: options.method });
  }

  tasks(): TaskRecord[] {
    return this.sorted().map((t) => this.view(t));
  }

  task(id: string): TaskRecord | undefined {
    this.checkId(id);
    const task = this.records.get(id);
    return task && this.view(task);
  }

  async ack(taskId: string): Promise<void> {
    // Not refused while invalidate() waits for the tasks (their completions are acknowledged then),
    // only once the store is released: the store's own "closed" error is not the session's.
    this.checkId(taskId);
    if (this.released) throw new SessionInvalidatedError(this.id, 'is closed');
    const task = this.records.get(taskId);
    if (!task) throw new Error(`session "${this.id}" has no task "${taskId}"`);
    if (!isFinal(task)) throw new Error(`task "${taskId}" has not finished: there is nothing to acknowledge`);
    if (task.acked) return;
    await this.persist({ ...task, acked: true });
  }

  async forget(taskId: string): Promise<boolean> {
    const task = this.usable(taskId);
    if (!isFinal(task) || !task.acked) return false;
    const announced = this.announced.has(taskId);
    this.records.delete(taskId);
    this.announced.delete(taskId);
    try {
      await this.store.write([{ type: 'delete', id: taskId }]);
    } catch (error) {
      // Still stored: still the session's, as stored (a second forget() removes it).
      const stored = this.durable.get(taskId);
      if (!this.records.has(taskId) && stored) {
        this.records.set(taskId, stored);
        if (announced) this.announced.add(taskId);
      }
      throw error;
    }
    this.durable.delete(taskId);
    // A failed download kept its partial file for whoever adds the same `to` again; forgetting
    // the task gives it up.
    if (task.state === 'failed') await this.discard(task);
    return true;
  }

  async suspend(taskId: string): Promise<boolean> {
    const task = this.usable(taskId);
    if (isFinal(task) || task.state === 'suspended') return false;
    this.holding.add(taskId);
    try {
      const progress = await this.stop(taskId);
      // Ended meanwhile (a cancel, or its last byte): that end stands.
      const now = this.records.get(taskId);
      if (!now || isFinal(now) || now.state === 'suspended') return false;
      // The stopped run's last count rides on the state change (an upload's none: it starts again from zero).
      await this.persist({ ...stoppedAt(now, progress), state: 'suspended' });
      if (this.records.get(taskId)?.state === 'suspended') this.emitState(taskId, 'suspended');
    } finally {
      this.holding.delete(taskId);
      // Also after a write that failed: the task is then what the store holds (queued), and
      // starts again rather than sit stopped until something else starts the queue.
      this.pump();
    }
    return true;
  }

  async resume(taskId: string): Promise<boolean> {
    const task = this.usable(taskId);
    if (task.state !== 'suspended') return false;
    // An upload's count (stored by an older version) is no progress of the run to come: stored
    // queued with one, it would be shown running (see `checkpoint`).
    await this.persist({ ...(task.kind === 'upload' ? withoutBytes(task) : task), state: 'queued' });
    this.emitState(taskId, 'queued');
    this.pump();
    return true;
  }

  async cancel(taskId: string): Promise<boolean> {
    this.checkId(taskId);
    if (this.ended) throw new SessionInvalidatedError(this.id, 'is closed');
    return this.cancelTask(taskId);
  }

  /**
   * Cancels a task that has not ended; false if it had, or ends meanwhile (its end stands). Rejects
   * with the store's error when the cancellation could not be written (the session then ends,
   * store-failed).
   */
  private async cancelTask(taskId: string): Promise<boolean> {
    const before = this.records.get(taskId);
    if (!before || isFinal(before)) return false;
    this.holding.add(taskId);
    try {
      const progress = await this.stop(taskId);
      const task = this.records.get(taskId);
      if (!task || isFinal(task)) return false;
      if (!(await this.end(task, 'cancelled', {}, undefined, progress))) throw this.storeError?.error ?? new SessionInvalidatedError(this.id, 'could not store the cancellation');
      return true;
    } finally {
      this.holding.delete(taskId);
    }
  }

  invalidate(options: { cancelTasks?: boolean } = {}): Promise<void> {
    if (this.ended) return this.ended;
    this.accepting = false;
    const cancelTasks = options.cancelTasks ?? false;
    this.ended = (async () => {
      if (cancelTasks) {
        for (const task of this.sorted()) {
          if (this.storeError) break;
          if (!isFinal(task)) await this.cancelTask(task.id).catch(() => undefined);
        }
      } else if (this.hasWork()) {
        await new Promise<void>((resolve) => {
          this.draining = resolve;
          this.pump();
        });
      }
      await this.shutDown(this.storeError ? { reason: 'store-failed', cancelledTasks: false, error: this.storeError.error } : { reason: 'invalidated', cancelledTasks: cancelTasks });
    })();
    return this.ended;
  }

  close(): Promise<void> {
    if (this.ended) {
      // invalidate() is waiting for the tasks to end: close() stops them instead, as it always
      // does (they stay queued for the next open), and the wait ends.
      const drained = this.draining;
      if (drained) {
        this.draining = undefined;
        void Promise.all([...this.runs.keys()].map((id) => this.stopAndRecord(id))).then(() => drained());
      }
      return this.ended;
    }
    this.accepting = false;
    this.ended = (async () => {
      await Promise.all([...this.runs.keys()].map((id) => this.stopAndRecord(id)));
      await this.shutDown(undefined);
    })();
    return this.ended;
  }

  // --- tasks ---

  private async add(spec: {
    kind: 'download' | 'upload';
    url: string;
    to?: string;
    source?: string;
    id?: string;
    priority?: number;
    headers?: Record<string, string>;
    sensitiveHeaders?: readonly string[];
    method?: string;
    integrity?: string;
    overwrite?: boolean;
  }): Promise<TaskRecord> {
    if (!this.accepting) throw new SessionInvalidatedError(this.id, 'takes no new tasks (invalidated or closed)');
    const problem = this.check(spec);
    if (problem) throw new TypeError(problem);
    const id = spec.id ?? randomId();
    const existing = this.records.get(id);
    if (existing) {
      await this.creating.get(id);
      const stored = this.records.get(id);
      if (stored) return this.view(stored);
      // The first add() of this id failed: this one makes the task anew.
    }
    const draft: TaskRecord = {
      id,
      kind: spec.kind,
      // Stored absolute: a page's relative URL is resolved once, against the page that added it.
      url: absoluteUrl(spec.url)!.href,
      ...(spec.to !== undefined ? { to: spec.to } : {}),
      ...(spec.source !== undefined ? { source: spec.source } : {}),
      ...(spec.method !== undefined ? { method: spec.method } : {}),
      ...(spec.headers !== undefined ? { headers: { ...spec.headers } } : {}),
      ...(spec.sensitiveHeaders !== undefined && spec.sensitiveHeaders.length > 0 ? { sensitiveHeaders: [...new Set(spec.sensitiveHeaders.map((name) => name.toLowerCase()))] } : {}),
      ...(spec.integrity !== undefined ? { integrity: spec.integrity } : {}),
      ...(spec.overwrite === false ? { overwrite: false as const } : {}),
      priority: spec.priority ?? 0,
      seq: ++this.seq,
      createdAt: Date.now(),
      state: 'queued',
      acked: false,
    };
    // Checked as given: prepared, an empty path would already be the current directory.
    const problemHere = this.platform.validate?.(draft);
    if (problemHere) throw new TypeError(problemHere);
    const task = this.platform.prepare ? this.platform.prepare(draft) : draft;
    const written = this.persist(task);
    this.creating.set(id, written.catch(() => undefined));
    try {
      await written;
    } catch (error) {
      this.records.delete(id);
      throw error;
    } finally {
      this.creating.delete(id);
      // Stored, it may start; failed, a drain (invalidate) that waited for it hears it is gone.
      this.pump();
    }
    return this.view(this.records.get(id) ?? task);
  }

  private check(spec: { url: string; id?: string; priority?: number; headers?: Record<string, string>; sensitiveHeaders?: readonly string[]; method?: string; overwrite?: boolean; integrity?: string }): string | undefined {
    // As a transfer reads it: relative to the page in a browser (see absoluteUrl).
    const url = absoluteUrl(spec.url);
    if (url === undefined) return `url is not a valid absolute URL`;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `unsupported scheme ${url.protocol} (only http: and https:)`;
    // Checked whenever an id is given, also one a task stored before this check has (it is
    // refused here, never returned): what add() returns has a valid id (the CLI prints it raw).
    if (spec.id !== undefined) {
      const problem = checkTaskId(spec.id);
      if (problem) return problem;
    }
    if (spec.priority !== undefined && !Number.isFinite(spec.priority)) return 'priority must be a finite number';
    if (spec.overwrite !== undefined && typeof spec.overwrite !== 'boolean') return 'overwrite must be a boolean';
    // Refused when added, not stored to fail each time the task runs.
    if (spec.method !== undefined) {
      const problem = checkMethod(spec.method);
      if (problem) return problem;
    }
    if (spec.headers !== undefined) {
      const headers = checkHeaders(spec.headers);
      if (typeof headers === 'string') return headers;
    }
    if (spec.sensitiveHeaders !== undefined && !isHeaderNameList(spec.sensitiveHeaders)) return 'sensitiveHeaders must be an array of header names';
    if (spec.integrity !== undefined) {
      const parsed = parseIntegrity(spec.integrity);
      if (typeof parsed === 'string') return parsed;
    }
    return undefined;
  }

  /** Names a task that publishes with `overwrite: false` (see `FileSinkOptions.owner`). */
  private ownerOf(task: TaskRecord): string {
    return `${this.id}\u0000${task.id}`;
  }

  /** Tells the platform a task's end is recorded (it runs no more); a failure there costs nothing but a stray side file. */
  private async settlePublished(task: TaskRecord): Promise<void> {
    if (!publishesWithOwner(task)) return;
    try {
      await this.platform.published?.(task, this.ownerOf(task));
    } catch {
      // the side file stays; the next open says it again
    }
  }

  /** Starts what the limits allow; reports the queue draining (finished$) and ends a drain. */
  private pump(): void {
    if (this.ended && !this.draining) return;
    const running = [...this.runs.keys()].map((id) => this.records.get(id)!);
    // A task starts once it is stored (S2): one whose add() may still fail never runs.
    const queued = this.sorted().filter((t) => t.state === 'queued' && !this.runs.has(t.id) && !this.creating.has(t.id) && !this.holding.has(t.id));
    const limits = {
      maxConcurrent: this.options.maxConcurrent ?? SESSION_DEFAULTS.maxConcurrent,
      maxPerHost: this.options.maxPerHost ?? SESSION_DEFAULTS.maxPerHost,
    };
    for (const task of tasksToStart(queued, running, limits)) this.start(task);
    if (this.runs.size > 0) {
      this.busy = true;
      return;
    }
    // An end still being written: the drain is told once it is (it pumps again).
    if (this.ending > 0) return;
    if (this.busy) {
      this.busy = false;
      this.finished.next();
    }
    if (this.draining && !this.hasWork()) {
      const done = this.draining;
      this.draining = undefined;
      done();
    }
  }

  private hasWork(): boolean {
    return this.runs.size > 0 || this.ending > 0 || [...this.records.values()].some((t) => t.state === 'queued');
  }

  private start(task: TaskRecord): void {
    this.begin(task, newRun(this.gate.sent(task.url), 0, this.timer.now()));
  }

  private begin(task: TaskRecord, run: Run): void {
    const current = this.records.get(task.id);
    // Sent from zero: the last checkpoint is an earlier run's (a suspended one's), not this one's progress.
    if (task.kind === 'upload' && current?.bytes !== undefined) void this.persist(withoutBytes(current)).catch(() => undefined);
    this.runs.set(task.id, run);
    this.emitState(task.id, 'running');
    const headers = this.gate.withCredentials(task.url, task.headers ?? {});
    const common = {
      headers,
      // The task's own credentials (stored with it) and the challenge answers' (in memory only).
      sensitiveHeaders: [...(task.sensitiveHeaders ?? []), ...this.gate.credentialNames(task.url)],
      signal: run.controller.signal,
      retry: this.options.retry ?? SESSION_DEFAULTS.retry,
      progressInterval: this.options.progressInterval ?? SESSION_DEFAULTS.progressInterval,
      ...(task.method !== undefined ? { method: task.method } : {}),
      ...(this.options.timeout !== undefined ? { timeout: this.options.timeout } : {}),
      ...(this.options.timer !== undefined ? { timer: this.options.timer } : {}),
    };
    const transfer: Observable<TransferEvent<DownloadResult<unknown> | UploadResult<unknown>>> =
      task.kind === 'download'
        ? this.platform.download(task.url, { ...common, to: task.to, resume: task.to !== undefined, keepPartial: 'resumable', overwrite: task.overwrite !== false, ...(publishesWithOwner(task) ? { [PUBLISH_OWNER]: this.ownerOf(task) } : {}), ...(task.integrity !== undefined ? { integrity: task.integrity } : {}), ...(task.to === undefined ? { responseType: 'text' as const } : {}) })
        : this.platform.upload(task.url, task.source!, { ...common, responseType: 'text' }, task);
    run.sub = transfer.subscribe({
      next: (event) => {
        if (this.runs.get(task.id) !== run) return;
        if (event.type === 'progress') {
          const shown = this.progressShown(task.id, event);
          if (shown) this.events.next({ ...shown, taskId: task.id });
          if (event.direction === (task.kind === 'download' ? 'download' : 'upload')) this.checkpoint(task, run, event.loaded, event.total);
        } else {
          void this.end(task, 'completed', { result: summarize(task, event.result) }, run);
        }
      },
      error: (error: unknown) => {
        run.settle();
        void this.failed(task, run, error);
      },
      complete: () => run.settle(),
    });
  }

  /**
   * A task's progress as events$ shows it: never back (G4), across the runs of one task (a replay
   * after a challenge, a resume that starts over): a run below what was shown is held until it
   * passes it, as the core holds a retry's. `delta` counts from what was shown.
   */
  private progressShown(taskId: string, event: TransferProgress): TransferProgress | undefined {
    const shown = this.shownProgress.get(taskId) ?? {};
    const before = shown[event.direction];
    // Held only against the same total: another total is another version of the resource (or a
    // first one known), whose progress is its own; and a last event (loaded === total) always shows.
    if (before !== undefined && event.total === before.total && event.loaded < before.loaded && event.loaded !== event.total) return undefined;
    this.shownProgress.set(taskId, { ...shown, [event.direction]: { loaded: event.loaded, total: event.total } });
    return before === undefined || event.loaded < before.loaded ? event : { ...event, delta: event.loaded - before.loaded };
  }

  /**
   * A progress checkpoint, at most every `checkpointInterval` ms per task (S10). An upload's first
   * progress of a run is checkpointed at once: stored queued with a count, the upload is one its
   * session's owner runs now (a run's start and its stops store it without one), which is how a
   * reader of the store (`rxtransfer session list`, `watch`) tells it is running, as it tells a
   * download by the lock on its partial file.
   */
  private checkpoint(task: TaskRecord, run: Run, bytes: number, total: number | undefined): void {
    const first = run.progress === undefined;
    run.progress = { bytes, total };
    const now = this.timer.now();
    if (!(first && task.kind === 'upload') && now - run.lastCheckpoint < (this.options.checkpointInterval ?? SESSION_DEFAULTS.checkpointInterval)) return;
    run.lastCheckpoint = now;
    const current = this.records.get(task.id);
    if (!current || isFinal(current)) return;
    void this.persist(withProgress(current, run.progress)).catch(() => undefined);
  }

  private async failed(task: TaskRecord, run: Run, error: unknown): Promise<void> {
    if (this.runs.get(task.id) !== run) return;
    const status = isHttpStatusError(error) ? error.status : undefined;
    // A 401 or 407 met on another origin than the task's (after a redirect) is not the task's
    // origin (or its proxy) asking: an answer would be filed under, and replayed to, the task's
    // origin (G11), and a redirect that leaves it drops the answer's headers anyway. It fails.
    if ((status === 401 || status === 407) && this.options.onChallenge && run.challenges < MAX_CHALLENGES_PER_RUN && sameOrigin(task.url, (error as HttpStatusError).url)) {
      let verdict;
      try {
        verdict = await this.gate.challenge(run.credentials, { taskId: task.id, url: task.url, status, headers: isHttpStatusError(error) ? error.headers : {} });
      } catch (thrown) {
        await this.end(task, 'failed', { error: failure(thrown) }, run);
        return;
      }
      if (this.runs.get(task.id) !== run) return;
      if (verdict.type === 'replay') {
        const again = newRun(this.gate.sent(task.url), run.challenges + 1, run.lastCheckpoint, task.kind === 'download' ? run.progress : undefined);
        this.begin(this.records.get(task.id) ?? task, again);
        return;
      }
      if (verdict.type === 'cancel') {
        this.runs.delete(task.id);
        await this.end(task, 'cancelled', {}, undefined, run.progress);
        return;
      }
    }
    await this.end(task, 'failed', { error: failure(error) }, run);
  }

  /**
   * Ends `task` as `state`: persisted first, then reported on events$ and completions$. False
   * when it was not (another run's end, or the write failed). The record holds the last count
   * of the run that stopped (`run`'s, or `progress` for one stopped before).
   */
  private async end(task: TaskRecord, state: 'completed' | 'failed' | 'cancelled', extra: { result?: TaskResult; error?: TaskFailure }, run?: Run, progress?: Progress): Promise<boolean> {
    if (run) {
      if (this.runs.get(task.id) !== run) return false;
      this.runs.delete(task.id);
    }
    const current = this.records.get(task.id) ?? task;
    const { result: _r, error: _e, ...rest } = withProgress(current, run?.progress ?? progress);
    const ended: TaskRecord = { ...rest, state, acked: false, ...extra };
    this.ending++;
    this.shownProgress.delete(task.id);
    try {
      try {
        await this.persist(ended);
      } catch (error) {
        await this.storeFailed(error);
        return false;
      }
      if (state === 'cancelled') await this.discard(ended);
      await this.settlePublished(ended);
      if (state === 'completed' && ended.result) this.events.next({ type: 'done', taskId: task.id, result: ended.result });
      else if (state === 'failed' && ended.error) this.events.next({ type: 'error', taskId: task.id, error: ended.error });
      this.emitState(task.id, state);
      this.announced.add(task.id);
      // Acknowledged already (by id, before it was told), or forgotten: nothing left to deliver.
      const now = this.records.get(task.id);
      if (now && !now.acked) this.completed.next(this.completionOf(ended));
    } finally {
      this.ending--;
    }
    this.pump();
    return true;
  }

  /**
   * Removes what an ended task left (its partial file), unless another unfinished task of the
   * session downloads to the same `to` (queued or suspended, it continues that file; running, the
   * platform also refuses to touch a partial file another transfer holds).
   */
  private async discard(task: TaskRecord): Promise<void> {
    if (!this.platform.discard) return;
    for (const other of this.records.values()) {
      if (other.id !== task.id && !isFinal(other) && other.kind === task.kind && other.to !== undefined && other.to === task.to) return;
    }
    await this.platform.discard(task).catch(() => undefined);
  }

  /**
   * Stops a task's transfer; resolves once it released its files (bounded by SETTLE_MS), with the
   * run's last progress (none when it had none, or was not running).
   */
  private async stop(taskId: string): Promise<Progress | undefined> {
    const run = this.runs.get(taskId);
    if (!run) return undefined;
    this.runs.delete(taskId);
    run.controller.abort();
    let timer: Subscription | undefined;
    await Promise.race([run.settled, new Promise<void>((resolve) => (timer = this.timer.schedule(() => resolve(), SETTLE_MS)))]);
    timer?.unsubscribe();
    run.sub?.unsubscribe();
    return run.progress;
  }

  /**
   * Stops a task that stays queued (the session closes) and records its download's last count
   * since the last checkpoint; an upload is stored without its run's count (sent again from zero
   * on the next open): stored queued with one, a reader of the store would take it as running.
   */
  private async stopAndRecord(taskId: string): Promise<void> {
    const progress = await this.stop(taskId);
    const task = this.records.get(taskId);
    if (!task || isFinal(task) || this.storeError) return;
    const stopped = stoppedAt(task, progress);
    if (stopped.bytes === task.bytes && stopped.total === task.total) return;
    await this.persist(stopped).catch(() => undefined);
  }

  private async storeFailed(error: unknown): Promise<void> {
    this.storeError ??= { error };
    if (this.ended) {
      // invalidate() is under way and now ends as store-failed: no task's end can be recorded
      // any more, so a drain waiting for the running ones stops them and ends the wait.
      const drained = this.draining;
      if (drained) {
        this.draining = undefined;
        await Promise.all([...this.runs.keys()].map((id) => this.stop(id)));
        drained();
      }
      return;
    }
    this.accepting = false;
    this.ended = (async () => {
      await Promise.all([...this.runs.keys()].map((id) => this.stop(id)));
      await this.shutDown({ reason: 'store-failed', cancelledTasks: false, error });
    })();
    await this.ended;
  }

  private async shutDown(invalidation: SessionInvalidation | undefined): Promise<void> {
    this.released = true;
    await this.store.close().catch(() => undefined);
    if (invalidation) this.invalidation.next(invalidation);
    this.invalidation.complete();
    this.events.complete();
    this.finished.complete();
    this.completed.complete();
  }

  // --- helpers ---

  /**
   * Records a task's new state and stores it. A write that fails is undone here too (unless a
   * newer state came meanwhile), back to the task's last durable record: the session shows what
   * the store holds, and calling again (an `ack()`, a `resume()`) writes again instead of finding
   * it done.
   */
  private async persist(task: TaskRecord): Promise<void> {
    this.records.set(task.id, task);
    try {
      await this.store.write([{ type: 'put', task }]);
    } catch (error) {
      if (this.records.get(task.id) === task) {
        const stored = this.durable.get(task.id);
        if (stored) this.records.set(task.id, stored);
        else this.records.delete(task.id);
      }
      throw error;
    }
    this.durable.set(task.id, task);
  }

  /**
   * Refuses (TypeError) an id no task can have, unless a task has it: one stored before task ids
   * were checked (control characters, a newline) still loads, and can still be acknowledged,
   * cancelled, suspended, resumed and forgotten by its exact id.
   */
  private checkId(taskId: unknown): void {
    if (typeof taskId === 'string' && this.records.has(taskId)) return;
    const problem = checkTaskId(taskId);
    if (problem) throw new TypeError(problem);
  }

  private usable(taskId: string): TaskRecord {
    this.checkId(taskId);
    if (this.ended) throw new SessionInvalidatedError(this.id, 'is closed');
    const task = this.records.get(taskId);
    if (!task) throw new Error(`session "${this.id}" has no task "${taskId}"`);
    return task;
  }

  private sorted(): TaskRecord[] {
    return [...this.records.values()].sort((a, b) => a.seq - b.seq);
  }

  private view(task: TaskRecord): TaskRecord {
    if (this.runs.has(task.id)) return { ...task, state: 'running' };
    // An upload keeps nothing between its runs (it is sent again from zero): the checkpoint of a
    // run that stopped (a kill, a close, a suspend) is no progress of the task.
    if (task.kind === 'upload' && !isFinal(task) && task.bytes !== undefined) return withoutBytes(task);
    return { ...task };
  }

  private emitState(taskId: string, state: TaskState): void {
    this.events.next({ type: 'state', taskId, state });
  }

  private completionOf(task: TaskRecord): TaskCompletion {
    return {
      taskId: task.id,
      state: task.state as TaskCompletion['state'],
      task: { ...task },
      ...(task.result ? { result: task.result } : {}),
      ...(task.error ? { error: task.error } : {}),
      ack: () => this.ack(task.id),
    };
  }
}

function newRun(credentials: CredentialsSent, challenges: number, lastCheckpoint: number, progress?: Progress): Run {
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  return { sub: undefined, controller: new AbortController(), settled, settle, credentials, challenges, lastCheckpoint, progress };
}

/** The part of a transfer's result worth keeping. */
/** A download that must not replace a stranger's file: it publishes with an owner record (see `FileSinkOptions.owner`). */
function publishesWithOwner(task: TaskRecord): boolean {
  return task.kind === 'download' && task.overwrite === false;
}

function summarize(task: TaskRecord, result: DownloadResult<unknown> | UploadResult<unknown>): TaskResult {
  const text = typeof result.data === 'string' ? result.data : undefined;
  const data = text?.slice(0, MAX_STORED_TEXT);
  const size = 'size' in result ? result.size : result.sent;
  return {
    status: result.status,
    url: result.url,
    size,
    ...('path' in result && result.path !== undefined ? { path: result.path } : {}),
    ...('integrity' in result && result.integrity !== undefined ? { integrity: result.integrity } : {}),
    ...(data !== undefined && (task.kind === 'upload' || task.to === undefined) ? { data, ...(data.length < text!.length ? { truncated: true as const } : {}) } : {}),
  };
}

function failure(error: unknown): TaskFailure {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; status?: unknown };
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    code: typeof e?.code === 'string' ? e.code : 'network',
    message: typeof e?.message === 'string' ? e.message : String(error),
    ...(typeof e?.status === 'number' ? { status: e.status } : {}),
  };
}

export { hostOf };

/** Whether `url` (a redacted one: the origin is kept) is on the same origin as `taskUrl`. */
function sameOrigin(taskUrl: string, url: string | undefined): boolean {
  try {
    return url !== undefined && originOf(url) === originOf(taskUrl);
  } catch {
    return false;
  }
}

/** The record with a run's count (when it had one). */
function withProgress(task: TaskRecord, progress: Progress | undefined): TaskRecord {
  return progress === undefined ? task : { ...task, bytes: progress.bytes, ...(progress.total !== undefined ? { total: progress.total } : {}) };
}

/** The record of a task whose run stopped: with a download's last count; an upload's without any (it starts again from zero). */
function stoppedAt(task: TaskRecord, progress: Progress | undefined): TaskRecord {
  return task.kind === 'upload' ? withoutBytes(task) : withProgress(task, progress);
}

/** The record without its progress checkpoint. */
function withoutBytes(task: TaskRecord): TaskRecord {
  const { bytes: _bytes, ...rest } = task;
  return rest;
}
