/**
 * mulberry32: a tiny, fast, seedable PRNG. Returns a function giving floats
 * in [0, 1). Used for jitter so that delays are reproducible from a seed.
 *
 * @example
 * ```ts
 * const random = mulberry32(42);
 * fullJitterDelay(3, { baseMs: 100, capMs: 10_000 }, random);
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The `n`-th draw of a seeded sequence, without keeping state: the jitter
 * of attempt `n` depends only on `(seed, n)`, so a statechart's delay
 * function stays pure.
 *
 * @example
 * ```ts
 * seededDraw(7, 0) === seededDraw(7, 0); // true
 * ```
 */
export function seededDraw(seed: number, n: number): number {
  return mulberry32((seed ^ Math.imul(n + 1, 0x9e3779b9)) >>> 0)();
}

/** A random 32-bit seed. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 4_294_967_296) >>> 0;
}
