/*
 * mulberry32, seededDraw and randomSeed. mulberry32 is checked against an
 * independent BigInt transcription of the reference algorithm (Tommy
 * Ettinger's mulberry32, uint32 arithmetic), so a change of the generator
 * (which would silently change every seeded delay) fails P01.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mulberry32, randomSeed, seededDraw } from '../src/index.js';

const M32 = 1n << 32n;
const u32 = (x: bigint): bigint => ((x % M32) + M32) % M32;
const mul32 = (a: bigint, b: bigint): bigint => u32(a * b);

/** The reference mulberry32 in unsigned 32-bit BigInt arithmetic. */
function referenceMulberry32(seed: number): () => number {
  let state = u32(BigInt(Math.trunc(seed)));
  return () => {
    state = u32(state + 0x6d2b79f5n);
    let t = state;
    t = mul32(t ^ (t >> 15n), t | 1n);
    t = u32(t + mul32(t ^ (t >> 7n), t | 61n)) ^ t;
    return Number(t ^ (t >> 14n)) / 2 ** 32;
  };
}

/** Chi-square statistic of `draws` over `buckets` equal buckets of [0, 1). */
function chiSquare(draws: readonly number[], buckets: number): number {
  const counts = new Array<number>(buckets).fill(0);
  for (const d of draws) counts[Math.floor(d * buckets)]! += 1;
  const expected = draws.length / buckets;
  return counts.reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
}

/**
 * Upper critical value of chi-square with 99 degrees of freedom at
 * p = 0.001: a uniform source exceeds it once in a thousand seeds.
 */
const CHI2_99_P001 = 148.23;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('mulberry32', () => {
  it('P01 matches the reference algorithm, draw by draw', () => {
    for (const seed of [0, 1, 42, 0x7fffffff, 0x80000000, 0xffffffff, 123_456_789]) {
      const random = mulberry32(seed);
      const reference = referenceMulberry32(seed);
      for (let i = 0; i < 1_000; i += 1)
        expect(random(), `seed ${seed} draw ${i}`).toBe(reference());
    }
  });

  it('P02 returns floats in [0, 1) with 32 bits of resolution', () => {
    for (const seed of [0, 7, 0xdeadbeef]) {
      const random = mulberry32(seed);
      for (let i = 0; i < 100_000; i += 1) {
        const x = random();
        if (!(x >= 0 && x < 1 && Number.isInteger(x * 2 ** 32))) {
          expect.fail(`seed ${seed} draw ${i}: ${x}`);
        }
      }
    }
  });

  it('P03 is deterministic per seed and independent between generators', () => {
    const a = mulberry32(99);
    const first = Array.from({ length: 20 }, () => a());
    // A second generator of the same seed, interleaved with a third one.
    const b = mulberry32(99);
    const other = mulberry32(100);
    const second: number[] = [];
    const third: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      second.push(b());
      third.push(other());
    }
    expect(second).toEqual(first);
    expect(third).not.toEqual(first);
    // Successive draws of one generator differ.
    expect(new Set(first).size).toBe(20);
  });

  it('P04 takes the seed as a uint32 (seed >>> 0)', () => {
    const draws = (seed: number): number[] => {
      const random = mulberry32(seed);
      return [random(), random(), random()];
    };
    expect(draws(-1)).toEqual(draws(0xffffffff));
    expect(draws(2 ** 32 + 5)).toEqual(draws(5));
    expect(draws(5.9)).toEqual(draws(5));
    expect(draws(1)).not.toEqual(draws(0));
  });

  it('P05 is roughly uniform: chi-square over 100 buckets of 100,000 draws', () => {
    for (const seed of [0, 1, 42, 0xdeadbeef]) {
      const random = mulberry32(seed);
      const draws = Array.from({ length: 100_000 }, () => random());
      expect(chiSquare(draws, 100), `seed ${seed}`).toBeLessThan(CHI2_99_P001);
      const mean = draws.reduce((sum, d) => sum + d, 0) / draws.length;
      // Standard error of the mean: sqrt(1/12 / 100000) ~ 0.0009.
      expect(Math.abs(mean - 0.5), `seed ${seed}`).toBeLessThan(0.005);
    }
  });

  it('P06 the chi-square check can fail: a skewed source is rejected', () => {
    const random = mulberry32(3);
    const skewed = Array.from({ length: 100_000 }, () => random() ** 1.05);
    expect(chiSquare(skewed, 100)).toBeGreaterThan(CHI2_99_P001);
  });
});

describe('seededDraw', () => {
  it('P07 is deterministic per (seed, n) and keeps no state', () => {
    const once = seededDraw(7, 3);
    // Other draws in between change nothing.
    for (let n = 0; n < 100; n += 1) seededDraw(7, n);
    mulberry32(7)();
    expect(seededDraw(7, 3)).toBe(once);
    expect(seededDraw(7, 0)).toBe(seededDraw(7, 0));
    // Order of evaluation does not matter.
    const forward = [0, 1, 2, 3, 4].map((n) => seededDraw(11, n));
    const backward = [4, 3, 2, 1, 0].map((n) => seededDraw(11, n)).reverse();
    expect(backward).toEqual(forward);
  });

  it('P08 differs across n and across seeds, always in [0, 1)', () => {
    for (const seed of [0, 1, 42, 0xffffffff]) {
      const draws = Array.from({ length: 1_000 }, (_, n) => seededDraw(seed, n));
      expect(new Set(draws).size, `seed ${seed}`).toBe(1_000);
      expect(draws.filter((x) => !(x >= 0 && x < 1))).toEqual([]);
    }
    for (const n of [0, 1, 5]) {
      const draws = Array.from({ length: 1_000 }, (_, seed) => seededDraw(seed, n));
      expect(new Set(draws).size, `n ${n}`).toBe(1_000);
    }
  });

  it('P08b neighbouring seeds are not shifted copies of each other', () => {
    // With a derivation like mulberry32(seed + n), seed s + 1 would replay
    // seed s one step ahead: retries of neighbouring seeds would be in lockstep.
    const shifted: string[] = [];
    for (let seed = 0; seed < 1_000; seed += 1) {
      for (let n = 0; n < 10; n += 1) {
        if (seededDraw(seed + 1, n) === seededDraw(seed, n + 1)) shifted.push(`${seed}/${n}`);
        if (seededDraw(seed, n) === seededDraw(seed + 1, n)) shifted.push(`${seed}=${n}`);
      }
    }
    expect(shifted).toEqual([]);
  });

  it('P09 the n-th draw is not the n-th value of one sequence (each n is its own stream)', () => {
    const sequence = mulberry32(42);
    const sequential = Array.from({ length: 5 }, () => sequence());
    const drawn = [0, 1, 2, 3, 4].map((n) => seededDraw(42, n));
    expect(drawn).not.toEqual(sequential);
  });

  it('P10 is roughly uniform over n for one seed and over seeds for one n', () => {
    const overN = Array.from({ length: 100_000 }, (_, n) => seededDraw(7, n));
    expect(chiSquare(overN, 100)).toBeLessThan(CHI2_99_P001);
    const overSeeds = Array.from({ length: 100_000 }, (_, seed) => seededDraw(seed, 3));
    expect(chiSquare(overSeeds, 100)).toBeLessThan(CHI2_99_P001);
  });

  it('P11 draws of neighbouring n (one seed) are uncorrelated across seeds', () => {
    const seeds = Array.from({ length: 20_000 }, (_, seed) => seed);
    const xs = seeds.map((seed) => seededDraw(seed, 1));
    const ys = seeds.map((seed) => seededDraw(seed, 2));
    const mean = (a: readonly number[]): number => a.reduce((s, x) => s + x, 0) / a.length;
    const mx = mean(xs);
    const my = mean(ys);
    let cov = 0;
    let vx = 0;
    let vy = 0;
    for (let i = 0; i < seeds.length; i += 1) {
      const dx = xs[i]! - mx;
      const dy = ys[i]! - my;
      cov += dx * dy;
      vx += dx * dx;
      vy += dy * dy;
    }
    // Standard error of r for independent draws: 1/sqrt(20000) ~ 0.007.
    expect(Math.abs(cov / Math.sqrt(vx * vy))).toBeLessThan(0.03);
  });
  it('P11b pinned values: the derivation of (seed, n) does not change silently', () => {
    // Regression pins (taken from this implementation): a change here changes
    // every seeded retry and restart delay, so seeded test runs stop reproducing.
    expect(seededDraw(0, 0)).toBe(0.3588899802416563);
    expect(seededDraw(0, 1)).toBe(0.4501855552662164);
    expect(seededDraw(7, 3)).toBe(0.5007986437994987);
    expect(seededDraw(42, 5)).toBe(0.44058956345543265);
    expect(seededDraw(0xffffffff, 1)).toBe(0.7000767174176872);
  });
});

describe('randomSeed', () => {
  it('P12 returns a uint32', () => {
    for (let i = 0; i < 10_000; i += 1) {
      const seed = randomSeed();
      if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) {
        expect.fail(`not a uint32: ${seed}`);
      }
    }
  });

  it('P13 maps Math.random over the whole uint32 range, ends included', () => {
    const random = vi.spyOn(Math, 'random');
    random.mockReturnValue(0);
    expect(randomSeed()).toBe(0);
    random.mockReturnValue(0.5);
    expect(randomSeed()).toBe(2 ** 31);
    random.mockReturnValue(1 - 2 ** -53);
    expect(randomSeed()).toBe(0xffffffff);
    expect(random).toHaveBeenCalledTimes(3);
  });

  it('P14 is not constant', () => {
    const seeds = new Set(Array.from({ length: 100 }, () => randomSeed()));
    // 100 uint32 draws collide with probability ~1e-6.
    expect(seeds.size).toBeGreaterThan(95);
  });
});
