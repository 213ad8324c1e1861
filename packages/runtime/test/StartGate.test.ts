// StartGate: at most `limit` runners load their pools at once; a released
// slot goes to the oldest waiter; a request still waiting can be withdrawn;
// releasing twice gives back one slot only.
import { describe, expect, it, vi } from 'vitest';
import { StartGate } from '../src/startup/StartGate.js';

describe('StartGate', () => {
  it('grants up to the limit at once and queues the rest', () => {
    const gate = new StartGate(2);
    const granted = [vi.fn(), vi.fn(), vi.fn()];
    for (const fn of granted) gate.acquire(fn);
    expect(granted.map((fn) => fn.mock.calls.length)).toEqual([1, 1, 0]);
    expect(gate.held).toBe(2);
    expect(gate.waiting).toBe(1);
  });

  it('a release hands the slot on to the oldest waiter, synchronously', () => {
    const gate = new StartGate(1);
    const order: string[] = [];
    const releaseA = gate.acquire(() => order.push('a'));
    gate.acquire(() => order.push('b'));
    gate.acquire(() => order.push('c'));
    expect(order).toEqual(['a']);
    releaseA();
    expect(order).toEqual(['a', 'b']);
    expect(gate.held).toBe(1);
    expect(gate.waiting).toBe(1);
  });

  it('withdrawing a waiting request removes it: it is never granted, and no slot is freed', () => {
    const gate = new StartGate(1);
    const a = vi.fn();
    const b = vi.fn();
    const c = vi.fn();
    const releaseA = gate.acquire(a);
    const withdrawB = gate.acquire(b);
    gate.acquire(c);
    withdrawB();
    expect(gate.waiting).toBe(1);
    expect(gate.held).toBe(1);
    releaseA();
    expect(b).not.toHaveBeenCalled();
    expect(c).toHaveBeenCalledTimes(1);
    // withdrawing again, or after the slot moved on, does nothing
    withdrawB();
    expect(gate.held).toBe(1);
    expect(gate.waiting).toBe(0);
  });

  it('release is idempotent: a second call frees no second slot', () => {
    const gate = new StartGate(1);
    const releaseA = gate.acquire(() => {});
    const b = vi.fn();
    const c = vi.fn();
    gate.acquire(b);
    gate.acquire(c);
    releaseA();
    releaseA();
    expect(b).toHaveBeenCalledTimes(1);
    expect(c).not.toHaveBeenCalled();
    expect(gate.held).toBe(1);
    expect(gate.waiting).toBe(1);
  });

  it('a request granted from the queue is released by its own returned function', () => {
    const gate = new StartGate(1);
    const releaseA = gate.acquire(() => {});
    const releaseB = gate.acquire(() => {});
    releaseA();
    expect(gate.held).toBe(1);
    releaseB();
    expect(gate.held).toBe(0);
    expect(gate.waiting).toBe(0);
    // the whole limit is free again
    const d = vi.fn();
    gate.acquire(d);
    expect(d).toHaveBeenCalledTimes(1);
  });

  it('a limit below 1 (or fractional) still lets one start at a time', () => {
    for (const limit of [0, -3, 0.5]) {
      const gate = new StartGate(limit);
      const a = vi.fn();
      const b = vi.fn();
      gate.acquire(a);
      gate.acquire(b);
      expect([limit, a.mock.calls.length, b.mock.calls.length]).toEqual([limit, 1, 0]);
    }
    const gate = new StartGate(2.9);
    const fns = [vi.fn(), vi.fn(), vi.fn()];
    for (const fn of fns) gate.acquire(fn);
    expect(gate.held).toBe(2);
  });
});
