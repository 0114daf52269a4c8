import type { XhrEventTargetLike, XhrLike, XhrProgressEventLike } from '../../lib/index.js';

type Listener = (event: XhrProgressEventLike) => void;

/** A minimal EventTarget, as XMLHttpRequest and XMLHttpRequestUpload are. */
export class FakeEventTarget implements XhrEventTargetLike {
  private readonly listeners = new Map<string, Set<Listener>>();
  addEventListener(type: string, listener: Listener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)?.add(listener);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }
  listenerCount(): number {
    return [...this.listeners.values()].reduce((n, set) => n + set.size, 0);
  }
  dispatch(type: string, loaded = 0, total = 0, lengthComputable = total > 0): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener({ loaded, total, lengthComputable });
  }
}

/** A hand-driven XMLHttpRequest: the test plays the network by dispatching events. */
export class FakeXhr extends FakeEventTarget implements XhrLike {
  readyState = 1;
  status = 0;
  response: unknown = null;
  responseType = '';
  responseURL = '';
  timeout = 0;
  readonly upload = new FakeEventTarget();
  sent: unknown[] = [];
  aborted = 0;
  headers = '';
  send(body?: unknown): void {
    this.sent.push(body);
  }
  abort(): void {
    this.aborted += 1;
    this.readyState = 4;
  }
  getAllResponseHeaders(): string {
    return this.headers;
  }
  /** Finishes with a status and body, as a browser would: load then loadend. */
  respond(status: number, body: string, headers = 'content-type: text/plain\r\n'): void {
    this.readyState = 4;
    this.status = status;
    this.response = body;
    this.headers = headers;
    this.dispatch('load', body.length, body.length);
    this.dispatch('loadend', body.length, body.length);
  }
}
