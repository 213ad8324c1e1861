// 3. Startup: 16 runners (one thread each) to ready, spawned together, vs
// 16 raw `new Worker` to 'online'; extra: 16 raw piscina pools to a first result.
import { Worker } from 'node:worker_threads';
import { createTroupe } from '@troupe/runtime';
import { Piscina } from 'piscina';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { rotate, sleep } from '../timing.js';

const WORKER = new URL('../workers/identity.js', import.meta.url);
const IDLE_THREAD = new URL('../workers/idleThread.js', import.meta.url);
const COUNT = 16;

type Side = 'troupe' | 'worker' | 'piscina';

async function troupeStartup(): Promise<number> {
  const troupe = createTroupe();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: COUNT }, () => troupe.spawnRunner({ worker: WORKER, threads: 1 })),
  );
  const ms = performance.now() - start;
  await troupe.shutdown({ reason: 'bench done' });
  return ms;
}

async function workerStartup(): Promise<number> {
  const start = performance.now();
  const workers = Array.from({ length: COUNT }, () => new Worker(IDLE_THREAD));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
  const ms = performance.now() - start;
  await Promise.all(workers.map((w) => w.terminate()));
  return ms;
}

async function piscinaStartup(): Promise<number> {
  const start = performance.now();
  const pools = Array.from(
    { length: COUNT },
    () =>
      new Piscina({
        filename: WORKER.href,
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Infinity,
        atomics: 'disabled',
      }),
  );
  await Promise.all(pools.map((p) => p.run(0)));
  const ms = performance.now() - start;
  await Promise.all(pools.map((p) => p.destroy()));
  return ms;
}

export const startup: Scenario = {
  name: 'startup',
  title: `${COUNT} runners to ready vs ${COUNT} raw Workers to 'online'`,
  async run(ctx) {
    const runs: Record<Side, () => Promise<number>> = {
      troupe: troupeStartup,
      worker: workerStartup,
      piscina: piscinaStartup,
    };
    const sides: Side[] = ['troupe', 'worker', 'piscina'];
    const samples: Record<Side, number[]> = { troupe: [], worker: [], piscina: [] };
    for (const side of sides) await runs[side]();
    const rounds = Math.max(5, ctx.rounds);
    for (let r = 0; r < rounds; r++) {
      for (const side of rotate(sides, r)) {
        samples[side].push(await runs[side]());
        await sleep(100); // let the exited threads be reaped before the next side
      }
      ctx.log(
        `round ${r + 1}/${rounds}: ` +
          sides.map((s) => `${s} ${(samples[s].at(-1) ?? 0).toFixed(0)} ms`).join(', '),
      );
    }
    const scenario = '3 startup';
    const rows: Row[] = [
      row({
        scenario,
        metric: `${COUNT} runners ready vs ${COUNT} new Worker 'online'`,
        unit: 'ms',
        troupe: median(samples.troupe),
        baseline: median(samples.worker),
        baselineName: 'new Worker',
        target: { on: 'ratio', op: '<=', limit: 1.5 },
        samples: { troupe: samples.troupe, baseline: samples.worker },
      }),
      row({
        scenario,
        metric: `extra: ${COUNT} runners vs ${COUNT} raw piscina pools to a first result`,
        unit: 'ms',
        troupe: median(samples.troupe),
        baseline: median(samples.piscina),
        baselineName: 'piscina',
        samples: { troupe: samples.troupe, baseline: samples.piscina },
      }),
    ];
    return rows;
  },
};
