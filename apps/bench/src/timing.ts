// Helpers shared by the scenarios: sleeping, timing, and a load generator.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` and returns how long it took in ms (performance.now()). */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Runs `total` calls of `run` keeping `inFlight` of them pending at any
 * time (each of `inFlight` loops awaits one call, then starts the next).
 * Resolves with the elapsed ms. A rejection fails the whole load.
 */
export async function pump(
  run: (i: number) => Promise<unknown>,
  total: number,
  inFlight: number,
): Promise<number> {
  let issued = 0;
  const loop = async (): Promise<void> => {
    while (issued < total) {
      const i = issued++;
      await run(i);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, loop));
  return performance.now() - start;
}

/** Rotates `items` by `round`, so no side always goes first. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
