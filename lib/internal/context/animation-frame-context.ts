import { SynchronizationContext } from './synchronization-context.js';
import { TaskQueue, requestMacrotask } from './task-queue.js';

/** Something like `window.requestAnimationFrame`. */
export type RequestAnimationFrame = (callback: (time: number) => void) => unknown;

/** Options of {@link animationFrameContext}. */
export interface AnimationFrameContextOptions {
  /**
   * The frame source. Default: `globalThis.requestAnimationFrame`, looked up each time a frame
   * is needed (never at import time); where there is none (Node, a worker without it), the
   * macrotask queue stands in.
   */
  readonly requestAnimationFrame?: RequestAnimationFrame;
}

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
    this.queue = new TaskQueue((flush) => {
      const raf = options.requestAnimationFrame ?? detectRequestAnimationFrame();
      if (raf) raf(() => flush());
      else requestMacrotask(flush);
    });
  }

  protected override dispatch(task: () => void): void {
    this.queue.push(task);
  }
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
