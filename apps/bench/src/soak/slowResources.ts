// Resources that close slowly, never, or badly, registered before and during
// the soak. Runners depend on `cache`, which depends on `db`: the close order
// must be runners and sessions, then cache, then db.
import type { Troupe } from '@troupe/runtime';

/** Each session's close deadline; a slow session's close outlives it. */
const SESSION_CLOSE_TIMEOUT_MS = 300;

export interface ResourcePlan {
  /** Sessions registered during the run. */
  sessions: number;
  /** Of those, the ones whose close outlives its deadline (must end `forced`). */
  slowSessions: number;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** db (300 ms close), cache → db (150 ms), stuck (never closes: forced), broken (throws: failed). */
export function registerBaseResources(troupe: Troupe): void {
  troupe.resources.register([
    { id: 'db', close: () => delay(300), closeTimeoutMs: 2_000 },
    { id: 'cache', close: () => delay(150), dependsOn: ['db'], closeTimeoutMs: 2_000 },
    { id: 'stuck', close: () => new Promise<void>(() => {}), closeTimeoutMs: 300 },
    {
      id: 'broken',
      close: () => {
        throw new Error('injected close failure');
      },
    },
  ]);
}

/** A session using `cache`: 80% close within 0-200 ms, 20% take 600-800 ms (forced at 300 ms). */
export function registerSession(troupe: Troupe, plan: ResourcePlan, random: () => number): void {
  const slow = random() < 0.2;
  const ms = slow ? 600 + random() * 200 : random() * 200;
  troupe.resources.register({
    id: `session-${plan.sessions}`,
    dependsOn: ['cache'],
    close: () => delay(ms),
    closeTimeoutMs: SESSION_CLOSE_TIMEOUT_MS,
  });
  plan.sessions += 1;
  if (slow) plan.slowSessions += 1;
}
