/**
 * What a foreign component raises while `subscribe()` runs (inside `fooAsync` or `start`): held,
 * then told in order once `subscribe()` has returned, before anything raised later (G7).
 */
export class HeldNotifications {
  private held: (() => void)[] | undefined = [];

  /** Tells `notify` now, or after {@link release} while `subscribe()` still runs. */
  tell(notify: () => void): void {
    if (this.held) this.held.push(notify);
    else notify();
  }

  /**
   * Called as `subscribe()` returns: what was held is told on a microtask (through `within`, to
   * run it in a context), and what comes after is told at once.
   */
  release(within: (flush: () => void) => void = (flush) => flush()): void {
    if (this.held?.length === 0) {
      this.held = undefined;
      return;
    }
    queueMicrotask(() =>
      within(() => {
        // Bounded: each turn tells one notification; what is raised meanwhile queues behind.
        for (let notify = this.held?.shift(); notify; notify = this.held?.shift()) notify();
        this.held = undefined;
      }),
    );
  }
}
