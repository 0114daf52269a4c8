import { ProgressReporter, percentOf } from '../../lib/internal/core/progress.js';
import type { TransferProgress } from 'rxtransfer';
import { VirtualTimer } from '../helpers/virtual-timer.js';

function reporter(interval: number) {
  const timer = new VirtualTimer();
  const events: Array<TransferProgress & { at: number }> = [];
  const r = new ProgressReporter((e) => events.push({ ...e, at: timer.now() }), timer, interval);
  return { timer, events, r };
}

describe('percentOf', () => {
  it('is an integer 0..100, floored, and 100 for an empty total', () => {
    expect(percentOf(0, 0)).toBe(100);
    expect(percentOf(0, 10)).toBe(0);
    expect(percentOf(1, 3)).toBe(33);
    expect(percentOf(2, 3)).toBe(66);
    expect(percentOf(999, 1000)).toBe(99);
    expect(percentOf(10, 10)).toBe(100);
    expect(percentOf(11, 10)).toBe(100);
    expect(percentOf(-1, 10)).toBe(0);
  });
});

describe('ProgressReporter', () => {
  it('sends the first observation at once, even at 0 bytes', () => {
    const { r, events } = reporter(1000);
    r.observe('download', 0, 10);
    expect(events).toEqual([{ type: 'progress', direction: 'download', loaded: 0, delta: 0, total: 10, percent: 0, attempt: 1, at: 0 }]);
  });

  it('throttles to one event per interval and sends a trailing one', () => {
    const { r, events, timer } = reporter(100);
    r.observe('download', 0, 100);
    timer.advanceBy(10);
    r.observe('download', 10, 100);
    timer.advanceBy(10);
    r.observe('download', 20, 100);
    expect(events).toHaveLength(1);
    timer.advanceBy(80); // t = 100: the trailing event carries the latest count
    expect(events.map((e) => [e.loaded, e.delta, e.at])).toEqual([[0, 0, 0], [20, 20, 100]]);
    timer.advanceBy(1000);
    expect(events).toHaveLength(2);
    expect(timer.pending).toBe(0);
  });

  it('sends at once when the interval has passed since the last event', () => {
    const { r, events, timer } = reporter(100);
    r.observe('upload', 0, 50);
    timer.advanceBy(150);
    r.observe('upload', 25, 50);
    expect(events.map((e) => [e.loaded, e.percent])).toEqual([[0, 0], [25, 50]]);
  });

  it('with interval 0 sends every change, and nothing for no change', () => {
    const { r, events } = reporter(0);
    for (const n of [0, 1, 1, 5, 5, 9]) r.observe('download', n, 9);
    expect(events.map((e) => e.loaded)).toEqual([0, 1, 5, 9]);
  });

  it('flush sends what is pending now (the trailing flush of G10)', () => {
    const { r, events, timer } = reporter(1e9);
    r.observe('download', 0, 4);
    r.observe('download', 4, 4);
    expect(events).toHaveLength(1);
    r.flush();
    expect(events[1]).toMatchObject({ loaded: 4, total: 4, percent: 100, delta: 4 });
    expect(timer.pending).toBe(0);
    r.flush();
    expect(events).toHaveLength(2);
  });

  it('never lets loaded or percent go back, across attempts', () => {
    const { r, events } = reporter(0);
    r.observe('download', 0, 10);
    r.observe('download', 6, 10);
    r.attempt = 2;
    r.observe('download', 0, 10);
    r.observe('download', 3, 10);
    r.observe('download', 8, 10);
    expect(events.map((e) => [e.loaded, e.percent, e.attempt])).toEqual([[0, 0, 1], [6, 60, 1], [8, 80, 2]]);
  });

  it('forgets a total that the bytes went past, rather than report more than 100%', () => {
    const { r, events } = reporter(0);
    r.observe('download', 0, 5);
    r.observe('download', 7, 5);
    expect(events[1]).toMatchObject({ loaded: 7 });
    expect(events[1]!.total).toBeUndefined();
    expect(events[1]!.percent).toBeUndefined();
  });

  it('sends every upload event before the first download one, and ignores upload after', () => {
    const { r, events } = reporter(1e9);
    r.observe('upload', 0, 10);
    r.observe('upload', 10, 10); // pending
    r.observe('download', 0, 3); // flushes the upload first
    r.observe('upload', 10, 20);
    expect(events.map((e) => `${e.direction}:${e.loaded}`)).toEqual(['upload:0', 'upload:10', 'download:0']);
  });

  it('computes a smoothed rate once time has passed', () => {
    const { r, events, timer } = reporter(0);
    r.observe('download', 0);
    timer.advanceBy(1000);
    r.observe('download', 1000);
    timer.advanceBy(1000);
    r.observe('download', 3000);
    expect(events[0]!.bytesPerSecond).toBeUndefined();
    expect(events[1]!.bytesPerSecond).toBe(1000);
    expect(events[2]!.bytesPerSecond).toBeGreaterThan(1000);
    expect(events[2]!.bytesPerSecond).toBeLessThan(2000);
  });

  it('has no percent without a total', () => {
    const { r, events } = reporter(0);
    r.observe('download', 3);
    expect(events[0]).not.toHaveProperty('percent');
    expect(events[0]).not.toHaveProperty('total');
  });

  it('after dispose sends nothing and schedules nothing, whatever is observed (a late transport hook)', () => {
    const { r, events, timer } = reporter(100);
    r.observe('download', 0, 10);
    r.observe('download', 5, 10); // trailing pending
    r.dispose();
    r.observe('download', 9, 10);
    r.observe('upload', 1, 1);
    r.flush();
    timer.advanceBy(1e6);
    expect(events).toHaveLength(1);
    expect(timer.pending).toBe(0);
  });

  it('reports the highest count seen', () => {
    const { r } = reporter(1e9);
    r.observe('upload', 5, 10);
    r.observe('upload', 3, 10);
    expect(r.loaded('upload')).toBe(5);
    expect(r.loaded('download')).toBe(0);
  });
});
