/**
 * When a body held back for `Expect: 100-continue` may go: at the server's 100, or once the
 * wait has run out with no answer. A final answer that comes first shuts it for good: the body
 * is then never sent on that request (bytes sent after it would be read as the next request on
 * a connection the server kept).
 */
export class ContinueGate {
  /** Resolves when the body may go; never, once shut. */
  readonly opened: Promise<void>;
  private release!: () => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private settled = false;

  /** `waitMs`: how long the body waits for the 100 (`TransportRequest.expectContinue`). */
  constructor(private readonly waitMs: number) {
    this.opened = new Promise<void>((resolve) => (this.release = resolve));
  }

  /** Starts the wait over (the request went out, or its connection is up now). */
  readonly arm = (): void => {
    if (this.settled) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.open, this.waitMs);
    this.timer.unref?.();
  };

  /**
   * The request reached the socket layer, which starts the wait over once its connection is up:
   * no wait runs out before (a request queued for a socket, a slow connect or TLS handshake),
   * which would send the body with the head. A request that never connects closes, and shuts it.
   */
  readonly hold = (): void => {
    if (this.settled) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  };

  /** The server said 100, or the wait ran out: the body goes. */
  readonly open = (): void => {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.release();
  };

  /** A final answer came first (or the exchange ended): the body never goes. */
  readonly shut = (): void => {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
  };
}
