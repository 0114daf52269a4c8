import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

interface Entry {
  readonly due: number;
  readonly seq: number;
  readonly run: () => void;
}

/**
 * A virtual clock for `options.timer` (and, if wanted, as a delivery scheduler): time moves only
 * when the test says so (`advanceBy`, `runNext`), so timeouts, backoff and throttling cost no
 * wall time. Actions due at the same instant run in the order they were scheduled.
 */
export class VirtualTimer implements SchedulerLike {
  private time: number;
  private seq = 0;
  private queue: Entry[] = [];
  /** Actions run so far. */
  executed = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay = 0, state?: T): Subscription {
    const action = new VirtualAction<T>(this, work);
    action.schedule(state, delay);
    return action;
  }

  /** Number of actions waiting. */
  get pending(): number {
    return this.queue.length;
  }

  /** When the next action is due, or undefined when none waits. */
  nextDue(): number | undefined {
    return this.queue.length === 0 ? undefined : this.queue[0]!.due;
  }

  /** Moves time forward by `ms`, running every action due on the way (at most `limit`). */
  advanceBy(ms: number, limit = 10_000): void {
    const target = this.time + Math.max(0, ms);
    for (let i = 0; i < limit; i++) {
      const head = this.queue[0];
      if (!head || head.due > target) break;
      this.queue.shift();
      this.time = Math.max(this.time, head.due);
      this.executed++;
      head.run();
    }
    this.time = Math.max(this.time, target);
  }

  /** Jumps to the next due action and runs it (and only it). False when nothing waits. */
  runNext(): boolean {
    const head = this.queue.shift();
    if (!head) return false;
    this.time = Math.max(this.time, head.due);
    this.executed++;
    head.run();
    return true;
  }

  /** @internal */
  enqueue(delay: number, run: () => void): Entry {
    const entry: Entry = { due: this.time + Math.max(0, Number.isFinite(delay) ? delay : 0), seq: this.seq++, run };
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1]!.due > entry.due)) i--;
    this.queue.splice(i, 0, entry);
    return entry;
  }

  /** @internal */
  dequeue(entry: Entry): void {
    const i = this.queue.indexOf(entry);
    if (i >= 0) this.queue.splice(i, 1);
  }
}

class VirtualAction<T> extends Subscription implements SchedulerAction<T> {
  private entry: Entry | undefined;

  constructor(
    private readonly timer: VirtualTimer,
    private readonly work: (this: SchedulerAction<T>, state: T) => void,
  ) {
    super();
    this.add(() => this.cancel());
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.cancel();
    const entry = this.timer.enqueue(delay, () => {
      if (this.entry !== entry || this.closed) return;
      this.entry = undefined;
      this.work.call(this, state as T);
    });
    this.entry = entry;
    return this;
  }

  private cancel(): void {
    if (this.entry) this.timer.dequeue(this.entry);
    this.entry = undefined;
  }
}

/**
 * Wraps a scheduler and records that deliveries happen inside one of its actions (G7):
 * `active` is above zero while a scheduled action runs.
 */
export class RecordingScheduler implements SchedulerLike {
  active = 0;
  scheduled = 0;

  constructor(readonly inner: SchedulerLike, readonly synchronous = false) {}

  now(): number {
    return this.inner.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state: T) => void, delay?: number, state?: T): Subscription {
    this.scheduled++;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const recorder = this;
    return this.inner.schedule<T>(function (this: SchedulerAction<T>, s?: T) {
      recorder.active++;
      try {
        work.call(this, s as T);
      } finally {
        recorder.active--;
      }
    }, delay, state);
  }
}
