import type { Runner, Troupe } from '@troupe/runtime';
import { Control, counterReached, createControl, fixtures, releaseHeld } from '@troupe/testing';
import { expect } from 'vitest';
import { troupeErrorOf } from './wait.js';

/**
 * A `controllable` runner of one thread whose loads follow `plan`, and a way
 * to make it restart its pool: a held task exits its thread, and the
 * replacement (load #1) must be planned to throw.
 */
export async function controllableRunner(
  troupe: Troupe,
  plan: readonly number[],
  extra: { startupTimeoutMs?: number } = {},
): Promise<{ runner: Runner; breakPool: () => Promise<void> }> {
  const control = createControl();
  plan.forEach((mode, i) => {
    Atomics.store(control, Control.plan + i, mode);
  });
  const runner = await troupe.spawnRunner({
    id: 'ctl',
    worker: fixtures.controllable,
    threads: 1,
    workerData: { control },
    restart: { maxRestarts: 10, windowMs: 60_000, backoff: { baseMs: 5, capMs: 20 } },
    ...extra,
  });
  const breakPool = async (): Promise<void> => {
    const held = runner.run(0, { handler: 'hold' });
    held.catch(() => {});
    expect(await counterReached(control, Control.holding, 1, 5_000)).toBe(true);
    Atomics.store(control, Control.exitHeld, 1 + 1); // exit code 1
    releaseHeld(control);
    expect((await troupeErrorOf(held)).code).toBe('ERR_WORKER_CRASHED');
  };
  return { runner, breakPool };
}
