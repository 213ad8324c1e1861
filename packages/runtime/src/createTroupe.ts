import type { TroupeOptions } from './options/TroupeOptions.js';
import { Troupe } from './Troupe.js';

/**
 * Creates a troupe: the root that spawns supervised runners, manages
 * resources and shuts everything down in three phases. Throws
 * `ERR_INVALID_CONFIG` naming the field and the value for a bad option.
 *
 * @example
 * ```ts
 * import { createTroupe } from '@troupe/runtime';
 *
 * const troupe = createTroupe({
 *   shutdown: { signalingMs: 1_000, drainingMs: 10_000, closingMs: 5_000 },
 *   signals: ['SIGINT', 'SIGTERM'],
 * });
 * const runner = await troupe.spawnRunner({ worker: new URL('./worker.js', import.meta.url), threads: 2 });
 * console.log(await runner.run(21));
 * const report = await troupe.shutdown({ reason: 'done' });
 * ```
 */
export function createTroupe(options: TroupeOptions = {}): Troupe {
  return new Troupe(options);
}
