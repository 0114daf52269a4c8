import { download, isCancelledError } from 'rxtransfer';
import { FakeTransport, type FakeRequest } from 'rxtransfer/testing';
import { RunAbort, AttemptAbort, ATTEMPT_ABORT, withAttemptAbort } from '../../lib/internal/core/abort.js';
import type { Transport, TransportRequest } from '../../lib/internal/core/transport.js';

describe('RunAbort (the run\'s abort, without an AbortController)', () => {
  it('aborts once: the first reason stays, listeners run once, in the order added', () => {
    const abort = new RunAbort();
    const calls: string[] = [];
    abort.onAbort(() => calls.push(`a:${String(abort.reason)}`));
    abort.onAbort(() => calls.push('b'));
    expect(abort.aborted).toBe(false);
    expect(abort.reason).toBeUndefined();
    abort.abort('first');
    abort.abort('second');
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe('first');
    expect(calls).toEqual(['a:first', 'b']);
  });

  it('a removed listener is not called; one added after the abort never is', () => {
    const abort = new RunAbort();
    const calls: string[] = [];
    const remove = abort.onAbort(() => calls.push('removed'));
    abort.onAbort(() => calls.push('kept'));
    remove();
    remove();
    abort.abort('x');
    const late = abort.onAbort(() => calls.push('late'));
    late();
    expect(calls).toEqual(['kept']);
  });

  it('a listener removed by an earlier one during the abort is not called (as with EventTarget); one added then never is', () => {
    const abort = new RunAbort();
    const calls: string[] = [];
    let removeThird = (): void => undefined;
    abort.onAbort(() => {
      calls.push('first');
      removeThird();
      abort.onAbort(() => calls.push('added during the abort'));
    });
    abort.onAbort(() => calls.push('second'));
    removeThird = abort.onAbort(() => calls.push('third'));
    abort.onAbort(() => calls.push('fourth'));
    abort.abort('x');
    expect(calls).toEqual(['first', 'second', 'fourth']);
  });

  it('a listener that throws does not keep the later ones from running; its error comes out of abort()', () => {
    const abort = new RunAbort();
    const calls: string[] = [];
    abort.onAbort(() => {
      throw new Error('first listener');
    });
    abort.onAbort(() => calls.push('second'));
    expect(() => abort.abort('x')).toThrow('first listener');
    expect(calls).toEqual(['second']);
    expect(abort.aborted).toBe(true);
  });

  it('without a reason, the reason is an AbortError, as AbortController.abort() gives', () => {
    const abort = new RunAbort();
    abort.abort();
    expect(abort.reason).toBeInstanceOf(DOMException);
    expect((abort.reason as DOMException).name).toBe('AbortError');
  });
});

describe('AttemptAbort (the signal a transport reads)', () => {
  it('makes one AbortSignal, on first read, that follows the attempt', () => {
    const attempt = new AttemptAbort();
    const signal = attempt.signal;
    expect(attempt.signal).toBe(signal);
    expect(signal.aborted).toBe(false);
    const seen: unknown[] = [];
    signal.addEventListener('abort', () => seen.push(signal.reason));
    attempt.abort('why');
    expect(signal.aborted).toBe(true);
    expect(seen).toEqual(['why']);
  });

  it('a signal first read after the abort is already aborted, with the same reason', () => {
    const attempt = new AttemptAbort();
    attempt.abort('earlier');
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.signal.reason).toBe('earlier');
  });
});

describe('withAttemptAbort (the request the core hands its transport)', () => {
  const bare = () => ({ url: 'http://example.test/', method: 'GET', headers: {}, onUploadProgress: () => undefined, onDownloadProgress: () => undefined, onConnect: () => undefined });

  it('`signal` is enumerable and lazy, the shortcut is not enumerable, and every request shares one getter', () => {
    const first = new AttemptAbort();
    const second = new AttemptAbort();
    const a = withAttemptAbort(bare() as never, first);
    const b = withAttemptAbort(bare() as never, second);
    expect(Object.keys(a)).toContain('signal');
    expect(Object.keys(a)).not.toContain(String(ATTEMPT_ABORT));
    expect(Object.getOwnPropertySymbols(a).filter((s) => Object.getOwnPropertyDescriptor(a, s)!.enumerable)).toEqual([]);
    expect(a[ATTEMPT_ABORT]).toBe(first);
    // One accessor for all requests: a getter made per request (an object literal's
    // `get signal()` closing over its attempt) puts every request in V8's dictionary mode.
    expect(Object.getOwnPropertyDescriptor(a, 'signal')!.get).toBe(Object.getOwnPropertyDescriptor(b, 'signal')!.get);
    expect(a.signal).toBe(first.signal);
    expect(b.signal).toBe(second.signal);
    second.abort('why');
    expect([a.signal.aborted, b.signal.aborted, b.signal.reason]).toEqual([false, true, 'why']);
    const copy = { ...b };
    expect(copy.signal).toBe(second.signal);
    expect(copy[ATTEMPT_ABORT]).toBeUndefined();
  });
});

describe('G6 through a transport that copies the request', () => {
  it('a request copied with `{ ...request }` keeps a signal that aborts when the subscriber unsubscribes', async () => {
    let copied: TransportRequest | undefined;
    let resolveSent: () => void = () => undefined;
    const sent = new Promise<void>((resolve) => (resolveSent = resolve));
    // A decorator as users write them: it copies the request and hands it on (here, it just waits).
    const transport: Transport = {
      name: 'copying',
      followsRedirects: false,
      streamsBodies: true,
      send(request) {
        copied = { ...request, headers: { ...request.headers, 'x-added': '1' } };
        resolveSent();
        return new Promise((_, reject) => copied!.signal.addEventListener('abort', () => reject(copied!.signal.reason), { once: true }));
      },
    };
    const subscription = download('http://127.0.0.1:1/never', { transport }).subscribe();
    await sent;
    expect(copied!.signal.aborted).toBe(false);
    subscription.unsubscribe();
    expect(copied!.signal.aborted).toBe(true);
  });
});

describe('G6 between two hops', () => {
  // The caller aborts right after a redirect's head, before the next hop's request exists, at
  // every microtask depth up to 12: the next request is never left running un-aborted.
  it('G6 a cancel just after a 302 head: no request of the next hop outlives it', async () => {
    for (let depth = 0; depth <= 12; depth++) {
      const seen: FakeRequest[] = [];
      const transport = new FakeTransport({ onRequest: (request) => seen.push(request) });
      const controller = new AbortController();
      const ended = new Promise<unknown>((resolve) => {
        download('http://example.test/a', { transport, signal: controller.signal }).subscribe({ error: resolve, complete: () => resolve('complete') });
      });
      await new Promise((resolve) => setTimeout(resolve, 0));
      seen[0]!.respond({ status: 302, headers: { location: '/b' } });
      let turns = Promise.resolve();
      for (let i = 0; i < depth; i++) turns = turns.then(() => undefined);
      await turns;
      controller.abort();
      const outcome = await Promise.race([ended, new Promise((resolve) => setTimeout(() => resolve('still running'), 200))]);
      expect([depth, isCancelledError(outcome)]).toEqual([depth, true]);
      expect([depth, seen.slice(1).every((request) => request.aborted)]).toEqual([depth, true]);
    }
  });
});
