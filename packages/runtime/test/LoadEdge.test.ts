// The busy/idle edge a runner's statechart sees: coalesced per turn, and
// the idle edge held back a few ms while the runner runs normally, so
// tasks arriving one per turn do not cost two statechart events each.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IDLE_AFTER_MS, LoadEdge } from '../src/runner/LoadEdge.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function edge(urgent = false) {
  let load = 0;
  const reports: boolean[] = [];
  const e = new LoadEdge(
    () => load > 0,
    (busy) => reports.push(busy),
    { urgent: () => urgent },
  );
  return {
    e,
    reports,
    set(n: number) {
      load = n;
      e.changed();
    },
    setUrgent(u: boolean) {
      urgent = u;
    },
  };
}

describe('LoadEdge', () => {
  it('a burst within one turn costs one busy and one idle report', () => {
    const { reports, set } = edge(true);
    set(1);
    set(2);
    set(0);
    set(1);
    vi.advanceTimersToNextTimer(); // the turn's setImmediate
    expect(reports).toEqual([true]);
    set(0);
    vi.runAllTimers();
    expect(reports).toEqual([true, false]);
  });

  it('while running normally, tasks one per turn with short gaps keep it busy: no idle report between them', () => {
    const { reports, set } = edge(false);
    for (let i = 0; i < 50; i++) {
      set(1);
      vi.advanceTimersByTime(0.2); // its turn: the task runs
      set(0);
      vi.advanceTimersByTime(1); // a gap shorter than IDLE_AFTER_MS
    }
    expect(reports).toEqual([true]);
    // Idle for good: reported once it stayed idle IDLE_AFTER_MS.
    vi.advanceTimersByTime(IDLE_AFTER_MS - 1.5);
    expect(reports).toEqual([true]);
    vi.advanceTimersByTime(1);
    expect(reports).toEqual([true, false]);
  });

  it('draining, closing or restarting (urgent): the idle edge comes on the next turn', () => {
    const { reports, set, setUrgent } = edge(false);
    set(1);
    vi.advanceTimersByTime(0);
    setUrgent(true);
    set(0);
    vi.advanceTimersByTime(0);
    expect(reports).toEqual([true, false]);
  });

  it('turning urgent while an idle edge waits reports it at the next check', () => {
    const { reports, set, setUrgent, e } = edge(false);
    set(1);
    vi.advanceTimersByTime(0);
    set(0);
    vi.advanceTimersByTime(1);
    expect(reports).toEqual([true]);
    // A lifecycle event flushes first: the statechart's guards read the load now.
    setUrgent(true);
    e.flush();
    expect(reports).toEqual([true, false]);
    vi.runAllTimers();
    expect(reports).toEqual([true, false]);
  });

  it('stop() clears the pending idle timer', () => {
    const { reports, set, e } = edge(false);
    set(1);
    vi.advanceTimersByTime(0);
    set(0);
    vi.advanceTimersByTime(0);
    expect(vi.getTimerCount()).toBe(1);
    e.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(reports).toEqual([true]);
  });
});
