/** What the specs import: the public entry, plus RxJS types they need. */
export * from '../../lib/index.js';
export type { SchedulerLike } from 'rxjs';
