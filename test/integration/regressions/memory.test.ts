// Issue 9, bug 5: every runner ever spawned was kept by its troupe (and
// iterated by each health probe): the heap grew with every spawn/stop
// cycle. A stopped runner must be garbage once its user lets go of it.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { makeTroupe } from '../../helpers/troupe.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('regressions: memory', () => {
  it('bug 5: a stopped runner is not kept by its troupe (spawn/stop cycles do not grow the heap)', async () => {
    const troupe = makeTroupe({ health: { intervalMs: 20 } });
    const refs: WeakRef<object>[] = [];
    // In a function of its own: an async function's frame would keep its
    // last `runner` alive across the loop's awaits.
    const cycle = async (i: number): Promise<void> => {
      const runner = await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
      expect(await runner.run(i)).toBe(i);
      await runner.stop();
      refs.push(new WeakRef(runner));
    };
    for (let i = 0; i < 40; i++) await cycle(i);
    // Probes and reports walk whatever the troupe still holds.
    await troupe.probeHealth();
    expect(troupe.health().runners).toEqual([]);
    // A WeakRef's target stays alive for the rest of the job that deref'd
    // it: collect in a later job than the one that looks.
    const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    let alive = refs.length;
    for (let round = 0; round < 20 && alive > 0; round++) {
      gc();
      await tick();
      alive = refs.filter((ref) => ref.deref() !== undefined).length;
      await tick();
    }
    expect(refs.flatMap((ref, i) => (ref.deref() === undefined ? [] : [i]))).toEqual([]);
    const report = await troupe.shutdown();
    expect(report.tasks.completed).toBe(40);
    expect(report.threads).toEqual({ started: 40, exited: 40, leaked: 0 });
  });
});
