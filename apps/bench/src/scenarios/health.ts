// 8. What health monitoring costs: tiny-task throughput of a troupe with
// health monitoring at its defaults (probes every 1000 ms) against one with
// `health: { enabled: false }`, in the same run. Each round builds a fresh
// troupe for each side (the same runner, 2 threads, 64 in flight) and runs
// long enough for several probes; the sides alternate so each pair runs
// close in time.
import { createTroupe } from '@troupe/runtime';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { pump, rotate } from '../timing.js';

const WORKER = new URL('../workers/identity.js', import.meta.url);
const THREADS = 2;
const IN_FLIGHT = 64;
/** A round lasts a few seconds at this machine's rate: several probe intervals. */
const TASKS = 100_000;

type Side = 'off' | 'on';

async function round(side: Side): Promise<{ perSecond: number; probes: number }> {
  const troupe = createTroupe(side === 'on' ? {} : { health: { enabled: false } });
  let probes = 0;
  troupe.on('health', () => (probes += 1));
  try {
    const runner = await troupe.spawnRunner({ worker: WORKER, threads: THREADS });
    await pump((i) => runner.run(i), 5_000, IN_FLIGHT);
    probes = 0;
    const ms = await pump((i) => runner.run(i), TASKS, IN_FLIGHT);
    return { perSecond: (TASKS / ms) * 1000, probes };
  } finally {
    await troupe.shutdown({ reason: 'bench round' });
  }
}

export const health: Scenario = {
  name: 'health',
  title: 'health monitoring at its defaults vs health: { enabled: false }',
  async run(ctx) {
    const sides: Side[] = ['off', 'on'];
    const rates: Record<Side, number[]> = { off: [], on: [] };
    let probes = 0;
    const rounds = Math.max(5, ctx.rounds);
    for (let r = 0; r < rounds; r++) {
      for (const side of rotate(sides, r)) {
        const result = await round(side);
        rates[side].push(result.perSecond);
        if (side === 'on') probes += result.probes;
      }
      ctx.log(
        `round ${r + 1}/${rounds}: tasks/s off ${Math.round(rates.off.at(-1) ?? 0)}, on ${Math.round(rates.on.at(-1) ?? 0)}`,
      );
    }
    const rows: Row[] = [
      row({
        scenario: '8 health',
        metric: 'tasks/s with health monitoring (default 1000 ms probes) vs off',
        unit: 'tasks/s',
        troupe: median(rates.on),
        baseline: median(rates.off),
        baselineName: 'health off',
        target: { on: 'ratio', op: '>=', limit: 0.98 },
        note: `${probes} health reports during the measured rounds with health on`,
        samples: { troupe: rates.on, baseline: rates.off },
      }),
    ];
    return rows;
  },
};
