/** Exponential backoff parameters: the ceiling doubles per attempt from `baseMs` up to `capMs`. */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * The upper bound of the delay before retry number `attempt` (0-based):
 * `min(capMs, baseMs * 2^attempt)`.
 *
 * @example
 * ```ts
 * backoffCeiling(3, { baseMs: 100, capMs: 10_000 }); // 800
 * ```
 */
export function backoffCeiling(attempt: number, options: BackoffOptions): number {
  const exponent = Math.max(0, Math.floor(attempt));
  // 2^1024 is Infinity; min() keeps it at the cap.
  return Math.min(options.capMs, options.baseMs * 2 ** exponent);
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): a delay drawn uniformly from
 * `[0, min(capMs, baseMs * 2^attempt)]`. `random` must return a value in
 * `[0, 1)`; pass a seeded one in tests.
 *
 * @example
 * ```ts
 * const delay = fullJitterDelay(attempt, { baseMs: 100, capMs: 10_000 });
 * await sleep(delay);
 * ```
 */
export function fullJitterDelay(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  // Whole milliseconds in [0, floor(ceiling)]: never above the ceiling, even
  // when base or cap are fractional.
  return Math.floor(random() * (Math.floor(backoffCeiling(attempt, options)) + 1));
}
