import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  addRestart,
  backoffCeiling,
  fullJitterDelay,
  mulberry32,
  withinIntensity,
} from '../src/index.js';

const options = { baseMs: 100, capMs: 10_000 };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('backoffCeiling', () => {
  it('doubles from baseMs per attempt', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(n, options))).toEqual([
      100, 200, 400, 800, 1_600, 3_200, 6_400,
    ]);
  });

  it('stops at capMs, even for huge attempts', () => {
    expect(backoffCeiling(7, options)).toBe(10_000);
    expect(backoffCeiling(8, options)).toBe(10_000);
    expect(backoffCeiling(1_100, options)).toBe(10_000);
    expect(backoffCeiling(Number.MAX_SAFE_INTEGER, options)).toBe(10_000);
    expect(backoffCeiling(3, { baseMs: 100, capMs: 800 })).toBe(800);
    expect(backoffCeiling(4, { baseMs: 100, capMs: 800 })).toBe(800);
  });

  it('treats negative attempts as 0 and rounds fractional ones down', () => {
    expect(backoffCeiling(-3, options)).toBe(100);
    expect(backoffCeiling(2.9, options)).toBe(400);
  });
});

describe('fullJitterDelay', () => {
  it('draws uniformly from [0, ceiling] (10,000 seeded draws)', () => {
    const random = mulberry32(0xc0ffee);
    const attempt = 3;
    const ceiling = backoffCeiling(attempt, options); // 800
    const draws = Array.from({ length: 10_000 }, () => fullJitterDelay(attempt, options, random));
    const outside = draws.filter((d) => !Number.isInteger(d) || d < 0 || d > ceiling);
    expect(outside).toEqual([]);
    const mean = draws.reduce((sum, d) => sum + d, 0) / draws.length;
    expect(Math.abs(mean - ceiling / 2)).toBeLessThan(0.05 * (ceiling / 2));
    expect(Math.min(...draws)).toBeLessThanOrEqual(ceiling * 0.005);
    expect(Math.max(...draws)).toBeGreaterThanOrEqual(ceiling * 0.995);
  });

  it('stays within the cap once the ceiling is capped', () => {
    const random = mulberry32(7);
    const draws = Array.from({ length: 10_000 }, () => fullJitterDelay(40, options, random));
    expect(Math.max(...draws)).toBeLessThanOrEqual(options.capMs);
    expect(Math.max(...draws)).toBeGreaterThanOrEqual(options.capMs * 0.995);
    const mean = draws.reduce((sum, d) => sum + d, 0) / draws.length;
    expect(Math.abs(mean - options.capMs / 2)).toBeLessThan(0.05 * (options.capMs / 2));
  });

  it('gives every integer in [0, ceiling] the same chance, the ceiling included', () => {
    const random = mulberry32(42);
    const small = { baseMs: 3, capMs: 3 };
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) {
      const d = fullJitterDelay(0, small, random);
      counts[d] = (counts[d] ?? 0) + 1;
    }
    expect(counts).toHaveLength(4);
    for (const count of counts) expect(Math.abs(count - 2_500)).toBeLessThan(200);
  });

  it('maps the ends of random() to 0 and to the ceiling', () => {
    expect(fullJitterDelay(3, options, () => 0)).toBe(0);
    expect(fullJitterDelay(3, options, () => 0.999999)).toBe(800);
    expect(fullJitterDelay(30, options, () => 0.999999)).toBe(10_000);
    expect(fullJitterDelay(0, options, () => 0.5)).toBe(50);
  });

  it('never exceeds a fractional ceiling: whole ms in [0, floor(ceiling)]', () => {
    // baseMs 0.5: the ceiling of attempt 0 is 0.5 ms, so 0 is the only whole delay allowed.
    const half = { baseMs: 0.5, capMs: 10_000 };
    expect(backoffCeiling(0, half)).toBe(0.5);
    expect(fullJitterDelay(0, half, () => 0)).toBe(0);
    expect(fullJitterDelay(0, half, () => 0.999999)).toBe(0);
    const random = mulberry32(9);
    const draws = Array.from({ length: 1_000 }, () => fullJitterDelay(0, half, random));
    expect(new Set(draws)).toEqual(new Set([0]));
    // Attempt 1 doubles it to a whole 1 ms: 1 is reachable again.
    expect(fullJitterDelay(1, half, () => 0.999999)).toBe(1);

    // A fractional cap: the ceiling is 250.7 ms, so the longest delay is 250 ms.
    const fractionalCap = { baseMs: 100, capMs: 250.7 };
    expect(backoffCeiling(5, fractionalCap)).toBe(250.7);
    expect(fullJitterDelay(5, fractionalCap, () => 0.999999)).toBe(250);
    expect(fullJitterDelay(5, fractionalCap, () => 0)).toBe(0);

    // baseMs 1.5: ceiling 1.5, so 0 and 1 ms, each with the same chance.
    const oneAndAHalf = mulberry32(11);
    const counts = [0, 0];
    for (let i = 0; i < 10_000; i++) {
      const d = fullJitterDelay(0, { baseMs: 1.5, capMs: 10_000 }, oneAndAHalf);
      counts[d] = (counts[d] ?? 0) + 1;
    }
    expect(counts).toHaveLength(2);
    for (const count of counts) expect(Math.abs(count - 5_000)).toBeLessThan(250);
  });

  it('uses Math.random by default', () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.25);
    expect(fullJitterDelay(2, options)).toBe(100);
    expect(random).toHaveBeenCalledTimes(1);
  });
});

describe('restart intensity', () => {
  it('addRestart drops times at or before at - windowMs and appends at', () => {
    expect(addRestart([0, 5_000], 12_000, 10_000)).toEqual([5_000, 12_000]);
    // Exactly windowMs old: out of the window.
    expect(addRestart([2_000, 5_000], 12_000, 10_000)).toEqual([5_000, 12_000]);
    // 1 ms younger: still in.
    expect(addRestart([2_001, 5_000], 12_000, 10_000)).toEqual([2_001, 5_000, 12_000]);
    expect(addRestart([], 7, 10)).toEqual([7]);
  });

  it('addRestart does not change its input', () => {
    const times = [1, 2, 3];
    const next = addRestart(times, 50, 10);
    expect(times).toEqual([1, 2, 3]);
    expect(next).toEqual([50]);
    expect(next).not.toBe(times);
  });

  it('withinIntensity allows maxRestarts in the window and refuses one more', () => {
    const intensity = { maxRestarts: 3, windowMs: 10 };
    expect(withinIntensity([], 0, intensity)).toBe(true);
    expect(withinIntensity([1, 2], 3, intensity)).toBe(true);
    expect(withinIntensity([1, 2, 3], 4, intensity)).toBe(false);
  });

  it('withinIntensity prunes at the exact window boundary', () => {
    const intensity = { maxRestarts: 3, windowMs: 10 };
    // At 11 the window is (1, 11]: the restart at 1 no longer counts.
    expect(withinIntensity([1, 2, 3], 11, intensity)).toBe(true);
    // At 10 the window is (0, 10]: all three still count.
    expect(withinIntensity([1, 2, 3], 10, intensity)).toBe(false);
  });

  it('withinIntensity with maxRestarts 0 never allows a restart', () => {
    expect(withinIntensity([], 0, { maxRestarts: 0, windowMs: 1_000 })).toBe(false);
  });
});
