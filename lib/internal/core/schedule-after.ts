import { Subscription, type SchedulerLike } from 'rxjs';

/**
 * The longest delay `setTimeout`/`setInterval` keep: 2^31 - 1 ms (about 24.8 days). Node and
 * browsers run a longer one after 1 ms, so an RxJS scheduler on them does too.
 */
export const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * `timer.schedule(work, delay)` for any delay: a delay longer than {@link MAX_TIMER_DELAY} is
 * waited in steps the platform keeps, so a 30-day `total` timeout does not fire at once.
 * An infinite delay never fires.
 */
export function scheduleAfter(timer: SchedulerLike, work: () => void, delay: number): Subscription {
  if (!(delay > MAX_TIMER_DELAY)) return timer.schedule(work, Math.max(0, delay));
  const outer = new Subscription();
  const due = timer.now() + delay;
  const wait = (): void => {
    const left = due - timer.now();
    outer.add(left > MAX_TIMER_DELAY ? timer.schedule(wait, MAX_TIMER_DELAY) : timer.schedule(work, Math.max(0, left)));
  };
  wait();
  return outer;
}
