import { asyncScheduler } from 'rxjs';
import { download } from 'rxtransfer';
import { FakeTransport, recordTransfer } from 'rxtransfer/testing';
import { MAX_TIMER_DELAY, scheduleAfter } from '../../lib/internal/core/schedule-after.js';
import { VirtualTimer } from '../helpers/virtual-timer.js';

describe('scheduleAfter (delays past the 32-bit timer limit)', () => {
  it('runs a short delay as the scheduler would', () => {
    const timer = new VirtualTimer();
    const at: number[] = [];
    scheduleAfter(timer, () => at.push(timer.now()), 250);
    scheduleAfter(timer, () => at.push(timer.now()), -5);
    timer.advanceBy(1000);
    expect(at).toEqual([0, 250]);
  });

  it('waits a delay longer than 2^31 - 1 ms in steps, and fires exactly at the end', () => {
    const timer = new VirtualTimer();
    const thirtyDays = 30 * 24 * 3600 * 1000;
    const at: number[] = [];
    scheduleAfter(timer, () => at.push(timer.now()), thirtyDays);
    timer.advanceBy(MAX_TIMER_DELAY);
    expect(at).toEqual([]);
    timer.advanceBy(thirtyDays);
    expect(at).toEqual([thirtyDays]);
    expect(timer.pending).toBe(0);
  });

  it('never fires an infinite delay, and unsubscribing cancels every step', () => {
    const timer = new VirtualTimer();
    let fired = false;
    const s = scheduleAfter(timer, () => (fired = true), Number.POSITIVE_INFINITY);
    timer.advanceBy(MAX_TIMER_DELAY * 3);
    expect(fired).toBe(false);
    s.unsubscribe();
    expect(timer.pending).toBe(0);
  });

  it('G9 a 30-day total timeout on the real clock does not fire at once', async () => {
    const fake = new FakeTransport();
    const rec = recordTransfer(download('https://a.test/', { transport: fake, timeout: { total: 30 * 24 * 3600 * 1000, idle: 40 * 24 * 3600 * 1000 }, progressInterval: 3e9 }));
    await new Promise((r) => setTimeout(r, 30));
    expect(rec.trace).toEqual([]);
    expect(fake.requests[0]?.aborted).toBe(false);
    fake.requests[0]!.flush('ok');
    await rec.ended;
    expect(rec.trace.map((n) => n.kind)).toEqual(['next', 'next', 'next', 'complete']);
  });

  it('on asyncScheduler, cancels the pending step', async () => {
    let fired = false;
    const s = scheduleAfter(asyncScheduler, () => (fired = true), MAX_TIMER_DELAY + 10);
    await new Promise((r) => setTimeout(r, 10));
    s.unsubscribe();
    expect(fired).toBe(false);
  });
});
