import { asyncScheduler } from 'rxjs';
import { scheduleAfter } from '../core/schedule-after.js';
import { SynchronizationContext } from './synchronization-context.js';
import { TaskQueue, requestMacrotask } from './task-queue.js';

/** Something like `window.requestAnimationFrame`. */
export type RequestAnimationFrame = (callback: (time: number) => void) => unknown;

/** Options of {@link animationFrameContext}. */
export interface AnimationFrameContextOptions {
  /**
   * The frame source. Default: `globalThis.requestAnimationFrame`, looked up each time a frame
   * is needed (never at import time); where there is none (Node, a worker without it), or it
   * throws, the macrotask queue stands in.
   */
  readonly requestAnimationFrame?: RequestAnimationFrame;
  /**
   * The longest a batch waits for its frame, in ms. Default 1000. A browser runs no animation
   * frames in a hidden tab (nor in a hidden iframe): the batch then runs from a timer, so that a
   * transfer's end is still delivered (G2). A batch posted while the page is hidden
   * (`document.visibilityState`) runs from the macrotask queue at once, and one waiting for its
   * frame when the page becomes hidden runs then (`visibilitychange`), whatever this limit.
   */
  readonly maxFrameWaitMs?: number;
}

const DEFAULT_MAX_FRAME_WAIT_MS = 1000;

/**
 * A context that runs posted callbacks just before the next paint, all those posted before
 * the frame in one batch, in FIFO order (C1). Progress posted 200 times a second costs one
 * render per frame.
 *
 * @example
 * ```ts
 * import { animationFrameContext } from 'rxtransfer';
 * const frames = animationFrameContext();
 * frames.post(() => console.log('draw the progress bar'));
 * ```
 */
export class AnimationFrameContext extends SynchronizationContext {
  private readonly queue: TaskQueue;

  constructor(options: AnimationFrameContextOptions = {}) {
    super();
    const maxWait = options.maxFrameWaitMs ?? DEFAULT_MAX_FRAME_WAIT_MS;
    this.queue = new TaskQueue((flush) => {
      const raf = options.requestAnimationFrame ?? detectRequestAnimationFrame();
      if (!raf || isHidden()) return requestMacrotask(flush);
      // Whichever comes first, the frame, the timer or the page being hidden (its frames stop
      // until it is shown again), runs the batch; the others find it done.
      let ran = false;
      const once = () => {
        if (ran) return;
        ran = true;
        timer.unsubscribe();
        stopWatching();
        flush();
      };
      const stopWatching = onHidden(once);
      // Through scheduleAfter: a wait past 2^31 - 1 ms (or Infinity) is not cut to 1 ms by the platform.
      const timer = scheduleAfter(asyncScheduler, once, maxWait);
      try {
        raf(once);
      } catch {
        // A frame source that throws (a detached document's, a broken polyfill) gives no frame:
        // the macrotask queue stands in, as where there is none, rather than the post failing.
        requestMacrotask(once);
      }
    });
  }

  protected override dispatch(task: () => void): void {
    this.queue.push(task);
  }
}

/** Whether the page says it is hidden (no animation frames will come). */
function isHidden(): boolean {
  return (globalThis as { document?: { visibilityState?: string } }).document?.visibilityState === 'hidden';
}

type VisibilityTarget = {
  visibilityState?: string;
  addEventListener?(type: string, listener: () => void): void;
  removeEventListener?(type: string, listener: () => void): void;
};

/** Calls `hidden` when the page becomes hidden (`visibilitychange`); returns the way to stop listening. */
function onHidden(hidden: () => void): () => void {
  const doc = (globalThis as { document?: VisibilityTarget }).document;
  if (typeof doc?.addEventListener !== 'function') return () => undefined;
  const listener = () => {
    if (doc.visibilityState === 'hidden') hidden();
  };
  doc.addEventListener('visibilitychange', listener);
  return () => doc.removeEventListener?.('visibilitychange', listener);
}

function detectRequestAnimationFrame(): RequestAnimationFrame | undefined {
  const g = globalThis as { requestAnimationFrame?: RequestAnimationFrame };
  return typeof g.requestAnimationFrame === 'function' ? g.requestAnimationFrame.bind(globalThis) : undefined;
}

/**
 * A new {@link AnimationFrameContext}.
 *
 * @example
 * ```ts
 * import { animationFrameContext } from 'rxtransfer';
 * animationFrameContext().post(() => console.log('before the next paint'));
 * ```
 */
export function animationFrameContext(options?: AnimationFrameContextOptions): AnimationFrameContext {
  return new AnimationFrameContext(options);
}
