import { getContextStore } from './context-store.js';
import { reportUnhandledError } from './report-error.js';
import { TaskQueue, requestMacrotask } from './task-queue.js';

/**
 * Where callbacks run: the JavaScript counterpart of .NET's `SynchronizationContext`. EAP
 * components capture {@link SynchronizationContext.current} when an operation starts and raise
 * every event of that operation through it (E11).
 *
 * This base class is also the free-threaded default: `post` queues the callback on the
 * macrotask queue, in FIFO order (C1). Subclasses change where callbacks go by overriding
 * {@link SynchronizationContext.dispatch}; every posted callback then runs with the context as
 * `current`, and a callback that throws is reported without stopping later ones (C6).
 *
 * @example
 * ```ts
 * import { SynchronizationContext, microtaskContext } from 'rxtransfer';
 * const ui = microtaskContext();
 * SynchronizationContext.run(ui, () => {
 *   SynchronizationContext.current === ui; // true
 *   ui.post(() => console.log('later, in order, on', SynchronizationContext.current === ui));
 * });
 * ```
 * @see docs/contexts.md
 */
export class SynchronizationContext {
  private outstanding = 0;
  private macrotasks: TaskQueue | undefined;

  /** The free-threaded default, used when no context is in force. */
  static readonly freeThreaded: SynchronizationContext = new SynchronizationContext();

  /**
   * The context in force where code runs (C2): the one given to {@link SynchronizationContext.run},
   * the one running a posted callback, or {@link SynchronizationContext.freeThreaded}.
   */
  static get current(): SynchronizationContext {
    return getContextStore().get() ?? SynchronizationContext.freeThreaded;
  }

  /** Runs `fn` with `context` as {@link SynchronizationContext.current}; returns its result. */
  static run<T>(context: SynchronizationContext, fn: () => T): T {
    return getContextStore().run(context, fn);
  }

  /**
   * Queues `callback` to run later on this context, after every callback posted before it. On
   * Node it runs in the asynchronous context of the code that posted it (its `AsyncLocalStorage`
   * values), with this context as `current`.
   */
  post(callback: () => void): void {
    const task = (): void => this.invoke(callback);
    const bound = getContextStore().bind?.(task);
    try {
      this.dispatch(bound ?? task);
    } catch (error) {
      // Refused: the task will never run, so what its binding holds is let go now.
      bound?.release?.();
      throw error;
    }
  }

  /**
   * Runs `callback` now, on this context, and returns its result. Unlike `post`, an exception
   * reaches the caller, as .NET's `Send` does.
   */
  send<T>(callback: () => T): T {
    return SynchronizationContext.run(this, callback);
  }

  /** Called by {@link AsyncOperationManager.createOperation} when an EAP operation starts (C5). */
  operationStarted(): void {
    this.outstanding += 1;
  }

  /** Called once when an EAP operation ends, whatever its end (C5). */
  operationCompleted(): void {
    this.outstanding -= 1;
  }

  /** Operations started and not yet completed on this context. */
  get outstandingOperations(): number {
    return this.outstanding;
  }

  /**
   * Runs high-rate work (socket events, timers) where it costs least. The default runs it in
   * place; a zone context runs it outside the zone, so only deliveries enter the zone.
   */
  runOutside<T>(work: () => T): T {
    return work();
  }

  /**
   * Schedules `task` (already wrapped to set `current` and report errors). Override to change
   * where callbacks run; keep FIFO order. The default uses the macrotask queue.
   */
  protected dispatch(task: () => void): void {
    this.macrotasks ??= new TaskQueue(requestMacrotask);
    this.macrotasks.push(task);
  }

  /** Runs `callback` as this context's delivery: `current` is this context; errors are reported. */
  protected invoke(callback: () => void): void {
    try {
      SynchronizationContext.run(this, callback);
    } catch (error) {
      reportUnhandledError(error);
    }
  }
}
