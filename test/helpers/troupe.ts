import { createTroupe, type Troupe, type TroupeOptions } from '@troupe/runtime';
import { afterEach } from 'vitest';

const live = new Set<Troupe>();

/** A troupe that is shut down after the test even if the test fails. */
export function makeTroupe(options: TroupeOptions = {}): Troupe {
  const troupe = createTroupe(options);
  live.add(troupe);
  return troupe;
}

afterEach(async () => {
  const troupes = [...live];
  live.clear();
  await Promise.all(troupes.map((t) => t.shutdown({ reason: 'test cleanup' })));
});

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` until it holds or `timeoutMs` passes. */
export async function until(
  predicate: () => boolean,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
