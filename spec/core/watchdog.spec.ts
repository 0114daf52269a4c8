import { TestScheduler } from 'rxjs/testing';
import { Watchdog } from '../../lib/internal/core/watchdog.js';
import type { TimeoutPhase } from 'rxtransfer';
import { VirtualTimer } from '../helpers/virtual-timer.js';

function dog(limits: { connect: number; idle: number }) {
  const timer = new VirtualTimer();
  const fired: Array<[TimeoutPhase, number, number]> = [];
  const w = new Watchdog(timer, limits, (phase, ms) => fired.push([phase, ms, timer.now()]));
  return { timer, fired, w };
}

describe('Watchdog (G9, per attempt)', () => {
  it('fires connect when the connection is not up in time', () => {
    const { timer, fired } = dog({ connect: 100, idle: 1000 });
    timer.advanceBy(99);
    expect(fired).toEqual([]);
    timer.advanceBy(1);
    expect(fired).toEqual([['connect', 100, 100]]);
    timer.advanceBy(10_000);
    expect(fired).toHaveLength(1); // once, and every timer stopped
    expect(timer.pending).toBe(0);
  });

  it('stops the connect timer once connected', () => {
    const { timer, fired, w } = dog({ connect: 100, idle: 1000 });
    timer.advanceBy(50);
    w.connected();
    w.touch();
    timer.advanceBy(500);
    expect(fired).toEqual([]);
    timer.advanceBy(550);
    expect(fired).toEqual([['idle', 1000, 1050]]);
  });

  it('fires idle only after a full quiet period since the last touch', () => {
    const { timer, fired, w } = dog({ connect: Number.POSITIVE_INFINITY, idle: 100 });
    for (let i = 0; i < 10; i++) {
      timer.advanceBy(90);
      w.touch();
    }
    expect(fired).toEqual([]);
    timer.advanceBy(99);
    expect(fired).toEqual([]);
    timer.advanceBy(1);
    expect(fired).toEqual([['idle', 100, 1000]]);
  });

  it('does not re-arm a timer per touch (O(1) per chunk)', () => {
    const { timer, w } = dog({ connect: Number.POSITIVE_INFINITY, idle: 100 });
    for (let i = 0; i < 10_000; i++) w.touch();
    expect(timer.pending).toBe(1);
  });

  it('stop cancels everything and nothing fires afterwards', () => {
    const { timer, fired, w } = dog({ connect: 10, idle: 20 });
    w.stop();
    timer.advanceBy(1000);
    expect(fired).toEqual([]);
    expect(timer.pending).toBe(0);
  });

  it('with no limits schedules nothing (never-ending but harmless)', () => {
    const { timer } = dog({ connect: Number.POSITIVE_INFINITY, idle: Number.POSITIVE_INFINITY });
    expect(timer.pending).toBe(0);
  });

  it('the earlier of connect and idle wins, and only one fires', () => {
    const a = dog({ connect: 50, idle: 30 });
    a.timer.advanceBy(1000);
    expect(a.fired.map(([p]) => p)).toEqual(['idle']);
    const b = dog({ connect: 30, idle: 50 });
    b.timer.advanceBy(1000);
    expect(b.fired.map(([p]) => p)).toEqual(['connect']);
  });

  it('works on the RxJS TestScheduler too', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(() => {
      const fired: Array<[TimeoutPhase, number]> = [];
      const w = new Watchdog(scheduler, { connect: 5, idle: 8 }, (phase) => fired.push([phase, scheduler.now()]));
      scheduler.schedule(() => {
        w.connected();
        w.touch();
      }, 3);
      scheduler.flush();
      expect(fired).toEqual([['idle', 11]]);
    });
  });
});
