import { describe, expect, it } from 'vitest';
import {
  max,
  mean,
  median,
  min,
  quantile,
  ratio,
  relativeSpread,
  stddev,
  summarize,
} from '../src/stats.js';

describe('stats', () => {
  it('median of odd and even counts, unsorted input untouched', () => {
    const odd = [5, 1, 3];
    expect(median(odd)).toBe(3);
    expect(odd).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('quantiles interpolate between closest ranks', () => {
    const v = [10, 20, 30, 40, 50];
    expect(quantile(v, 0)).toBe(10);
    expect(quantile(v, 1)).toBe(50);
    expect(quantile(v, 0.5)).toBe(30);
    expect(quantile(v, 0.9)).toBeCloseTo(46);
    expect(quantile([1, 2], 0.25)).toBeCloseTo(1.25);
  });

  it('mean, min, max, stddev, spread', () => {
    const v = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(v)).toBe(5);
    expect(min(v)).toBe(2);
    expect(max(v)).toBe(9);
    expect(stddev(v)).toBeCloseTo(2.138, 3);
    expect(stddev([3])).toBe(0);
    expect(relativeSpread([90, 100, 110])).toBeCloseTo(0.2);
    expect(relativeSpread([0, 0])).toBe(0);
  });

  it('ratio is null when the denominator is zero', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 0)).toBeNull();
  });

  it('summarize gives every figure', () => {
    expect(summarize([3, 1, 2])).toEqual({ n: 3, median: 2, min: 1, max: 3, mean: 2, p90: 2.8 });
  });

  it('rejects empty samples, non-finite values and bad quantiles', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => mean([1, Number.NaN])).toThrow(RangeError);
    expect(() => max([1, Infinity])).toThrow(RangeError);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
  });
});
