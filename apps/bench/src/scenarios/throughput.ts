// 1. Tiny-task throughput, 2 threads, 64 in flight: a Troupe runner vs raw
// piscina with the options the runner gives piscina (atomics 'disabled'),
// plus raw piscina with its default atomics 'sync' as an extra row.
import { createTroupe } from '@troupe/runtime';
import { Piscina } from 'piscina';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { pump, rotate } from '../timing.js';

const WORKER = new URL('../workers/identity.js', import.meta.url);
const THREADS = 2;
const IN_FLIGHT = 64;
const TASKS = 20_000;
const WARMUP_TASKS = 5_000;

type Side = 'troupe' | 'piscina' | 'piscinaSync';

function rawPool(atomics: 'disabled' | 'sync'): Piscina {
  return new Piscina({
    filename: WORKER.href,
    minThreads: THREADS,
    maxThreads: THREADS,
    idleTimeout: Infinity,
    maxQueue: Infinity,
    concurrentTasksPerWorker: 1,
    atomics,
  });
}

export const throughput: Scenario = {
  name: 'throughput',
  title: `tiny tasks, ${THREADS} threads, ${IN_FLIGHT} in flight`,
  async run(ctx) {
    const troupe = createTroupe();
    const runner = await troupe.spawnRunner({ worker: WORKER, threads: THREADS });
    const pools = { piscina: rawPool('disabled'), piscinaSync: rawPool('sync') };
    const runs: Record<Side, (i: number) => Promise<unknown>> = {
      troupe: (i) => runner.run(i),
      piscina: (i) => pools.piscina.run(i),
      piscinaSync: (i) => pools.piscinaSync.run(i),
    };
    const sides: Side[] = ['troupe', 'piscina', 'piscinaSync'];
    const samples: Record<Side, number[]> = { troupe: [], piscina: [], piscinaSync: [] };
    try {
      for (const side of sides) await pump(runs[side], WARMUP_TASKS, IN_FLIGHT);
      const rounds = Math.max(5, ctx.rounds);
      for (let r = 0; r < rounds; r++) {
        for (const side of rotate(sides, r)) {
          const ms = await pump(runs[side], TASKS, IN_FLIGHT);
          samples[side].push((TASKS / ms) * 1000);
        }
        ctx.log(
          `round ${r + 1}/${rounds}: ` +
            sides.map((s) => `${s} ${Math.round(samples[s].at(-1) ?? 0)}/s`).join(', '),
        );
      }
    } finally {
      await troupe.shutdown({ reason: 'bench done' });
      await Promise.all([pools.piscina.destroy(), pools.piscinaSync.destroy()]);
    }
    const scenario = '1 throughput';
    const rows: Row[] = [
      row({
        scenario,
        metric: 'tasks/s, Troupe vs piscina (same options, atomics disabled)',
        unit: 'tasks/s',
        troupe: median(samples.troupe),
        baseline: median(samples.piscina),
        baselineName: 'piscina',
        target: { on: 'ratio', op: '>=', limit: 0.95 },
        samples: { troupe: samples.troupe, baseline: samples.piscina },
      }),
      row({
        scenario,
        metric: 'extra: Troupe vs piscina default atomics sync',
        unit: 'tasks/s',
        troupe: median(samples.troupe),
        baseline: median(samples.piscinaSync),
        baselineName: 'piscina sync',
        note: "not a like-for-like target: the runner needs atomics 'disabled' for its message plane",
        samples: { troupe: samples.troupe, baseline: samples.piscinaSync },
      }),
    ];
    return rows;
  },
};
