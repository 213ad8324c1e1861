// 6. Memory on the main thread's heap: per runner (its actors, channel,
// resources and piscina pool, minus what a raw 1-thread piscina pool costs on
// the main heap; the threads' own heaps are not counted) and per resource.
// Heap figures are process.memoryUsage().heapUsed deltas after forced GCs.
import { createTroupe, type ResourceSpec, type Runner } from '@troupe/runtime';
import { Piscina } from 'piscina';
import { settleHeap } from '../gc.js';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';

const WORKER = new URL('../workers/identity.js', import.meta.url);
const RUNNERS = Number(process.env.BENCH_MEMORY_RUNNERS ?? 100);
const RESOURCES = 10_000;
const BATCH = 16;

interface PerUnit {
  readonly heap: number;
  readonly rss: number;
}

async function inBatches<T>(count: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += BATCH) {
    const n = Math.min(BATCH, count - i);
    out.push(...(await Promise.all(Array.from({ length: n }, (_, k) => make(i + k)))));
  }
  return out;
}

async function troupeRunners(): Promise<PerUnit> {
  const heap0 = await settleHeap();
  const rss0 = process.memoryUsage().rss;
  const troupe = createTroupe();
  const runners: Runner[] = await inBatches(RUNNERS, () =>
    troupe.spawnRunner({ worker: WORKER, threads: 1 }),
  );
  await Promise.all(runners.map((r) => r.run(1)));
  const heap1 = await settleHeap();
  const rss1 = process.memoryUsage().rss;
  await troupe.shutdown({ reason: 'bench' });
  return { heap: (heap1 - heap0) / RUNNERS, rss: (rss1 - rss0) / RUNNERS };
}

async function rawPools(): Promise<PerUnit> {
  const heap0 = await settleHeap();
  const rss0 = process.memoryUsage().rss;
  const pools: Piscina[] = [];
  for (let i = 0; i < RUNNERS; i++) {
    pools.push(
      new Piscina({
        filename: WORKER.href,
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Infinity,
        atomics: 'disabled',
      }),
    );
  }
  await inBatches(RUNNERS, (i) => (pools[i] as Piscina).run(1));
  const heap1 = await settleHeap();
  const rss1 = process.memoryUsage().rss;
  await Promise.all(pools.map((p) => p.destroy()));
  return { heap: (heap1 - heap0) / RUNNERS, rss: (rss1 - rss0) / RUNNERS };
}

async function resourcesHeap(): Promise<number> {
  const troupe = createTroupe();
  const noop = (): void => {};
  const heap0 = await settleHeap();
  {
    const specs: ResourceSpec[] = [];
    for (let i = 0; i < RESOURCES; i++) {
      specs.push({ id: `res-${i}`, close: noop, ...(i === 0 ? {} : { dependsOn: ['res-0'] }) });
    }
    troupe.resources.register(specs);
  }
  const heap1 = await settleHeap();
  await troupe.shutdown({ reason: 'bench' });
  return (heap1 - heap0) / RESOURCES;
}

const KiB = 1024;

export const memory: Scenario = {
  name: 'memory',
  title: `main-heap cost of ${RUNNERS} runners and ${RESOURCES} resources`,
  async run(ctx) {
    const troupe: PerUnit[] = [];
    const raw: PerUnit[] = [];
    const res: number[] = [];
    const rounds = Math.max(2, Math.min(ctx.rounds, 3));
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        troupe.push(await troupeRunners());
        raw.push(await rawPools());
      } else {
        raw.push(await rawPools());
        troupe.push(await troupeRunners());
      }
      res.push(await resourcesHeap());
      ctx.log(
        `round ${r + 1}/${rounds}: per runner heap ${((troupe.at(-1)?.heap ?? 0) / KiB).toFixed(1)} KiB ` +
          `(raw pool ${((raw.at(-1)?.heap ?? 0) / KiB).toFixed(1)} KiB), per resource ${((res.at(-1) ?? 0) / KiB).toFixed(2)} KiB`,
      );
    }
    const troupeHeap = median(troupe.map((u) => u.heap)) / KiB;
    const rawHeap = median(raw.map((u) => u.heap)) / KiB;
    const scenario = '6 memory';
    const rows: Row[] = [
      row({
        scenario,
        metric: `main heap per runner (1 thread), ${RUNNERS} runners`,
        unit: 'KiB',
        troupe: troupeHeap,
        baseline: rawHeap,
        baselineName: 'piscina pool',
        note: `Troupe's own cost per runner (troupe - raw pool): ${(troupeHeap - rawHeap).toFixed(1)} KiB; RSS per runner incl. its thread: Troupe ${(median(troupe.map((u) => u.rss)) / KiB / KiB).toFixed(1)} MiB, raw pool ${(median(raw.map((u) => u.rss)) / KiB / KiB).toFixed(1)} MiB`,
        samples: { troupe: troupe.map((u) => u.heap), baseline: raw.map((u) => u.heap) },
      }),
      row({
        scenario,
        metric: 'extra: main heap per runner, Troupe minus raw pool',
        unit: 'KiB',
        troupe: troupeHeap - rawHeap,
      }),
      row({
        scenario,
        metric: `main heap per resource, ${RESOURCES} resources`,
        unit: 'KiB',
        troupe: median(res) / KiB,
        samples: { troupe: res },
      }),
    ];
    return rows;
  },
};
