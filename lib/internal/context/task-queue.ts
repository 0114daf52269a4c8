import { reportUnhandledError } from './report-error.js';

/** Asks the platform to call `flush` once, later (a microtask, a macrotask, a frame…). */
export type FlushRequest = (flush: () => void) => void;

/**
 * A FIFO of callbacks drained in batches: the first `push` after a drain requests one flush;
 * the flush runs, in order, the callbacks queued when it started. Callbacks queued while it
 * runs wait for the next flush, so order is kept and nothing starves (C1). A callback that
 * throws is reported and does not stop the batch (C6).
 * @internal
 */
export class TaskQueue {
  private queue: (() => void)[] = [];
  private requested = false;

  constructor(private readonly request: FlushRequest) {}

  /** Number of callbacks waiting. */
  get size(): number {
    return this.queue.length;
  }

  push(task: () => void): void {
    this.queue.push(task);
    if (this.requested) return;
    this.requested = true;
    try {
      this.request(this.flush);
    } catch (error) {
      this.requested = false;
      this.queue.pop();
      throw error;
    }
  }

  private readonly flush = (): void => {
    this.requested = false;
    const batch = this.queue;
    this.queue = [];
    for (const task of batch) {
      try {
        task();
      } catch (error) {
        reportUnhandledError(error);
      }
    }
  };
}

/**
 * Requests a macrotask: `setImmediate` where it exists (Node), else `setTimeout(0)`. Both keep
 * FIFO order among equal requests. Looked up at call time, never at import time.
 * @internal
 */
export const requestMacrotask: FlushRequest = (flush) => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') g.setImmediate(flush);
  else setTimeout(flush, 0);
};

/** Requests a microtask. @internal */
export const requestMicrotask: FlushRequest = (flush) => queueMicrotask(flush);
