export { InvalidOperationError, isInvalidOperationError } from './invalid-operation-error.js';
export { AsyncCompletedEventArgs } from './async-completed-event-args.js';
export { ProgressChangedEventArgs, TransferProgressChangedEventArgs } from './progress-changed-event-args.js';
export { AsyncOperation, AsyncOperationManager } from './async-operation.js';
export { EapEventSource, type EapHandler } from './eap-event-source.js';
export type {
  TransferFactory,
  TransferFactories,
  TransferResultOf,
  EapMode,
  PositionalParameters,
  EapAsyncArguments,
  EapEventMap,
  EapMethods,
  EapComponentBase,
  EapComponent,
} from './to-eap-types.js';
export { toEap, type ToEapOptions } from './to-eap.js';
export { fromEap, type FromEapOptions, type EapComponentLike } from './from-eap.js';
export type { EventSourceLike } from './event-target-like.js';
export type { ProgressReading } from './foreign-progress.js';
export {
  fromXhr,
  type FromXhrOptions,
  type XhrLike,
  type XhrEventTargetLike,
  type XhrProgressEventLike,
  type XhrResult,
} from './from-xhr.js';
export { fromEmitter, type FromEmitterOptions } from './from-emitter.js';
