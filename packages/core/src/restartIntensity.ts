/**
 * Restart intensity as in OTP supervisors: at most `maxRestarts` restarts
 * within any `windowMs`. Restart times are kept as a short list of
 * timestamps, pruned on every use, so no timer is needed.
 */
export interface RestartIntensity {
  readonly maxRestarts: number;
  readonly windowMs: number;
}

/**
 * The restart times that still count at `at`, plus `at` itself.
 *
 * @example
 * ```ts
 * const times = addRestart([0, 5_000], 12_000, 10_000); // [5_000, 12_000]
 * ```
 */
export function addRestart(times: readonly number[], at: number, windowMs: number): number[] {
  const from = at - windowMs;
  const kept = times.filter((t) => t > from);
  kept.push(at);
  return kept;
}

/**
 * True when one more restart at `at` stays within the intensity limit.
 *
 * @example
 * ```ts
 * withinIntensity([1, 2, 3], 4, { maxRestarts: 3, windowMs: 10 }); // false: 4 in the window
 * ```
 */
export function withinIntensity(
  times: readonly number[],
  at: number,
  intensity: RestartIntensity,
): boolean {
  return addRestart(times, at, intensity.windowMs).length <= intensity.maxRestarts;
}
