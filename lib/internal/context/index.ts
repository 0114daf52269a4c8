export { SynchronizationContext } from './synchronization-context.js';
export { type ContextStore, type BoundTask, stackContextStore, setContextStore, getContextStore } from './context-store.js';
export { reportUnhandledError } from './report-error.js';
export { ImmediateContext, immediateContext } from './immediate-context.js';
export { MicrotaskContext, microtaskContext } from './microtask-context.js';
export { MacrotaskContext, macrotaskContext } from './macrotask-context.js';
export {
  AnimationFrameContext,
  animationFrameContext,
  type AnimationFrameContextOptions,
  type RequestAnimationFrame,
} from './animation-frame-context.js';
export { ZoneContext, zoneContext, type ZoneLike } from './zone-context.js';
export { ContextScheduler, contextScheduler, isContextScheduler, type ContextSchedulerOptions } from './context-scheduler.js';
export { SchedulerContext, schedulerContext } from './scheduler-context.js';
export { observeOnContext } from './observe-on-context.js';
