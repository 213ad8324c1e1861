/** A worker module or child script of test/fixtures. */
export function fixture(name: string): URL {
  return new URL(`../fixtures/${name}.mjs`, import.meta.url);
}

/**
 * A fresh shared Int32Array of `n` slots: the flags a fixture signals on
 * (`counterReached` from @troupe/testing waits on one).
 */
export function sharedInts(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * n));
}
