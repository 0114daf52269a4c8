import { download } from 'rxtransfer';
import { recordTransfer, assertTransferGrammar } from 'rxtransfer/testing';
import { VirtualTimer } from '../helpers/virtual-timer';
import { deafTransport } from '../helpers/deaf-transport';

const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('a layer that ignores the abort', () => {
  it('G2 G9 a total timeout still ends the transfer (after a bounded grace), with TimeoutError', async () => {
    const timer = new VirtualTimer();
    const rec = recordTransfer(download('http://127.0.0.1/x', { transport: deafTransport(), timer, timeout: { total: 1_000, idle: 60_000 } }));
    await flush();
    timer.advanceBy(1_000);
    await flush();
    expect(rec.trace.filter((n) => n.kind !== 'next')).toEqual([]);
    timer.advanceBy(2_000);
    await flush();
    const trace = await rec.ended;
    assertTransferGrammar(trace);
    const last = trace[trace.length - 1]!;
    expect(last.kind === 'error' && (last.error as { code?: string; phase?: string })).toMatchObject({ code: 'timeout', phase: 'total' });
    // The stuck layer's own timers may still fire later: nothing more reaches the subscriber.
    const length = trace.length;
    timer.advanceBy(120_000);
    await flush();
    expect(rec.trace).toHaveLength(length);
  });

  it('G2 G6 an abort through signal still ends it with CancelledError', async () => {
    const timer = new VirtualTimer();
    const controller = new AbortController();
    const rec = recordTransfer(download('http://127.0.0.1/x', { transport: deafTransport(), timer, signal: controller.signal, timeout: { idle: 60_000 } }));
    await flush();
    controller.abort();
    timer.advanceBy(2_000);
    await flush();
    const trace = await rec.ended;
    assertTransferGrammar(trace);
    const last = trace[trace.length - 1]!;
    expect(last.kind === 'error' && (last.error as { code?: string }).code).toBe('cancelled');
  });

  it('G6 once ended, the stuck attempt holds no timer of the core (its watchdog stops when it is aborted)', async () => {
    for (const end of ['unsubscribe', 'total'] as const) {
      const timer = new VirtualTimer();
      const transfer = download('http://127.0.0.1/x', { transport: deafTransport(), timer, timeout: end === 'total' ? { total: 1_000 } : {} });
      const rec = recordTransfer(transfer);
      await flush();
      // Armed while it runs: the watchdog (connect or idle), the total timeout when set.
      expect(timer.pending).toBeGreaterThan(0);
      if (end === 'unsubscribe') rec.unsubscribe();
      else timer.advanceBy(1_000);
      await flush();
      // The body never ends and ignores the abort: the run's grace period ends the transfer.
      timer.advanceBy(2_000);
      await flush();
      // A timer left armed keeps a Node process alive (the default idle limit: 60 s).
      expect({ end, pending: timer.pending }).toEqual({ end, pending: 0 });
    }
  });
});
