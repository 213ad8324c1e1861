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
