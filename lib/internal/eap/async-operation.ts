import { SynchronizationContext } from '../context/synchronization-context.js';
import { InvalidOperationError } from './invalid-operation-error.js';

/**
 * The lifetime of one EAP operation, bound to the {@link SynchronizationContext} in force when
 * it was created (E11). Events are raised with `post`; the last one with
 * `postOperationCompleted`, which marks the operation done before posting and then tells the
 * context (`operationCompleted`, C5). After that, `post` throws {@link InvalidOperationError}.
 * Make one with {@link AsyncOperationManager.createOperation}.
 *
 * @example
 * ```ts
 * import { AsyncOperationManager, immediateContext, SynchronizationContext } from 'rxtransfer';
 * SynchronizationContext.run(immediateContext(), () => {
 *   const op = AsyncOperationManager.createOperation('job-1');
 *   op.post(() => console.log('progress for', op.userSuppliedState));
 *   op.postOperationCompleted(() => console.log('completed'));
 * });
 * ```
 */
export class AsyncOperation {
  private completed = false;

  /** @internal Use {@link AsyncOperationManager.createOperation}. */
  constructor(
    /** The context events are raised through. */
    readonly synchronizationContext: SynchronizationContext,
    /** The userState given when the operation started. */
    readonly userSuppliedState: unknown,
  ) {
    synchronizationContext.operationStarted();
  }

  /** True once `postOperationCompleted` or `operationCompleted` was called. */
  get isCompleted(): boolean {
    return this.completed;
  }

  /** Posts `callback` to the operation's context. Throws once the operation is completed. */
  post(callback: () => void): void {
    this.verifyNotCompleted();
    this.synchronizationContext.post(callback);
  }

  /** Ends the operation and posts its last callback (usually raising `<name>Completed`). */
  postOperationCompleted(callback: () => void): void {
    this.verifyNotCompleted();
    this.completed = true;
    try {
      this.synchronizationContext.post(callback);
    } finally {
      this.synchronizationContext.operationCompleted();
    }
  }

  /** Ends the operation without posting anything. Throws when it is already completed. */
  operationCompleted(): void {
    this.verifyNotCompleted();
    this.completed = true;
    this.synchronizationContext.operationCompleted();
  }

  private verifyNotCompleted(): void {
    if (this.completed) {
      throw new InvalidOperationError('This operation has already completed; nothing can be posted to it any more.');
    }
  }
}

/**
 * Creates {@link AsyncOperation}s, each bound to the context in force where it is created.
 *
 * @example
 * ```ts
 * import { AsyncOperationManager, microtaskContext, SynchronizationContext } from 'rxtransfer';
 * const ui = microtaskContext();
 * const op = SynchronizationContext.run(ui, () => AsyncOperationManager.createOperation('job-1'));
 * op.synchronizationContext === ui; // true
 * op.operationCompleted();
 * ```
 */
export const AsyncOperationManager = {
  /** Captures {@link SynchronizationContext.current}, calls its `operationStarted`, and returns the operation. */
  createOperation(userSuppliedState?: unknown): AsyncOperation {
    return new AsyncOperation(SynchronizationContext.current, userSuppliedState);
  },
  /** The context new operations would capture here. */
  get synchronizationContext(): SynchronizationContext {
    return SynchronizationContext.current;
  },
} as const;
