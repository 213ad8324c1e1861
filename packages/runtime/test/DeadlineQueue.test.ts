// DeadlineQueue: many deadlines on one timer. A fake clock (timing is the
// subject, not the speed): each deadline fires once, at its time, in time
// order across durations; cancelled ones never fire; no timer is left once
// nothing is pending. One real-timer case checks it against the real clock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../src/resources/DeadlineQueue.js';

describe('DeadlineQueue (fake clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires each deadline once at its time, in time order across durations, on a single timer', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const at = (name: string) => () => fired.push(`${name}@${performance.now()}`);
    q.add(300, at('a300'));
    q.add(100, at('b100'));
    vi.advanceTimersByTime(50);
    q.add(100, at('c100')); // due at 150
    q.add(300, at('d300')); // due at 350
    q.add(20, at('e20')); // due at 70: earlier than every other, re-arms
    expect(q.size).toBe(5);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(['e20@70', 'b100@100', 'c100@150', 'a300@300', 'd300@350']);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a cancelled deadline never fires; cancelling the last one clears the timer', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    const a = q.add(100, () => fired.push('a'));
    const b = q.add(100, () => fired.push('b'));
    const c = q.add(200, () => fired.push('c'));
    q.cancel(a);
    q.cancel(a); // twice is a no-op
    expect(q.size).toBe(2);
    // The timer was armed for a: it wakes, skips it, fires b, re-arms for c.
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['b']);
    expect(b.live).toBe(false);
    q.cancel(b); // after firing: a no-op
    expect(q.size).toBe(1);
    q.cancel(c);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual(['b']);
  });

  it('ten thousand deadlines cancelled but one: one timer throughout, the survivor fires on time', () => {
    const q = new DeadlineQueue();
    const fired: number[] = [];
    const deadlines = Array.from({ length: 10_000 }, (_, i) =>
      q.add(5_000 + (i % 3) * 1_000, () => fired.push(i)),
    );
    expect(vi.getTimerCount()).toBe(1);
    deadlines.forEach((d, i) => {
      if (i !== 7_777) q.cancel(d);
    });
    expect(q.size).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    // 7777 % 3 = 1: due at 6000. The timer first wakes at 5000 for nothing.
    vi.advanceTimersByTime(5_999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([7_777]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a deadline added from inside a firing one is armed; clear() drops everything unfired', () => {
    const q = new DeadlineQueue();
    const fired: string[] = [];
    q.add(10, () => {
      fired.push('first');
      q.add(10, () => fired.push('second'));
    });
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['first']);
    expect(q.size).toBe(1);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual(['first', 'second']);
    const d = q.add(50, () => fired.push('dropped'));
    q.clear();
    expect(d.live).toBe(false);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(['first', 'second']);
  });
});

describe('DeadlineQueue (real clock)', () => {
  it('its timer does not keep the process alive', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const q = new DeadlineQueue();
    const d = q.add(60_000, () => {});
    const timer = spy.mock.results.at(-1)?.value as NodeJS.Timeout;
    spy.mockRestore();
    expect(timer.hasRef()).toBe(false);
    q.cancel(d);
    expect(q.size).toBe(0);
  });

  it('fires no earlier than asked', async () => {
    const q = new DeadlineQueue();
    const started = performance.now();
    const elapsed = await new Promise<number>((resolve) => {
      q.add(40, () => {
        resolve(performance.now() - started);
      });
    });
    expect(elapsed).toBeGreaterThanOrEqual(40);
    expect(q.size).toBe(0);
  });
});
