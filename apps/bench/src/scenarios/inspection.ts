// 7. What watching costs: the same tiny tasks and the same resource graph
// with a troupe.inspect() observer subscribed (a no-op, so the cost is
// Troupe's and XState's, not the observer's) against none, in the same run.
import { createTroupe } from '@troupe/runtime';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { pump, rotate } from '../timing.js';

const WORKER = new URL('../workers/identity.js', import.meta.url);
const THREADS = 2;
const IN_FLIGHT = 64;
const TASKS = 20_000;
const RESOURCES = 2_000;

type Side = 'off' | 'on';

/** Events the watched resource rounds delivered (a burst past the hub's queue bound is replayed as the state instead). */
let resourceEvents = 0;

async function resourceRound(watched: boolean): Promise<number> {
  const troupe = createTroupe();
  let events = 0;
  if (watched) troupe.inspect(() => (events += 1));
  const started = performance.now();
  for (let i = 0; i < RESOURCES; i++) {
    troupe.resources.register({
      id: `r${i}`,
      close: () => {},
      ...(i === 0 ? {} : { dependsOn: [`r${Math.floor((i - 1) / 4)}`] }),
    });
  }
  await troupe.shutdown({ reason: 'bench round' });
  const ms = performance.now() - started;
  // Its events arrive on the next turn.
  await new Promise((resolve) => setImmediate(resolve));
  resourceEvents += events;
  return ms;
}

export const inspection: Scenario = {
  name: 'inspection',
  title: 'troupe.inspect() subscribed (no-op observer) vs no observer',
  async run(ctx) {
    // One troupe and one runner: the rounds differ only by the subscription.
    const troupe = createTroupe();
    let seen = 0;
    const runner = await troupe.spawnRunner({ worker: WORKER, threads: THREADS });
    const sides: Side[] = ['off', 'on'];
    const tasks: Record<Side, number[]> = { off: [], on: [] };
    const resources: Record<Side, number[]> = { off: [], on: [] };
    try {
      await pump((i) => runner.run(i), 5_000, IN_FLIGHT);
      const rounds = Math.max(5, ctx.rounds);
      for (let r = 0; r < rounds; r++) {
        for (const side of rotate(sides, r)) {
          const stop = side === 'on' ? troupe.inspect(() => (seen += 1)) : null;
          const ms = await pump((i) => runner.run(i), TASKS, IN_FLIGHT);
          stop?.();
          tasks[side].push((TASKS / ms) * 1000);
          resources[side].push(await resourceRound(side === 'on'));
        }
        ctx.log(
          `round ${r + 1}/${rounds}: tasks/s off ${Math.round(tasks.off.at(-1) ?? 0)}, on ${Math.round(tasks.on.at(-1) ?? 0)}; ` +
            `${RESOURCES} resources off ${Math.round(resources.off.at(-1) ?? 0)} ms, on ${Math.round(resources.on.at(-1) ?? 0)} ms`,
        );
      }
    } finally {
      await troupe.shutdown({ reason: 'bench done' });
    }
    const scenario = '7 inspection';
    const rows: Row[] = [
      row({
        scenario,
        metric: 'tasks/s with troupe.inspect() subscribed vs none',
        unit: 'tasks/s',
        troupe: median(tasks.on),
        baseline: median(tasks.off),
        baselineName: 'no observer',
        target: { on: 'ratio', op: '>=', limit: 0.9 },
        note: `the observer received ${seen} events over the task rounds`,
        samples: { troupe: tasks.on, baseline: tasks.off },
      }),
      row({
        scenario,
        metric: `${RESOURCES} resources register + shutdown, watched vs not`,
        unit: 'ms',
        troupe: median(resources.on),
        baseline: median(resources.off),
        baselineName: 'no observer',
        note: `the observer received ${resourceEvents} events over the resource rounds`,
        samples: { troupe: resources.on, baseline: resources.off },
      }),
    ];
    return rows;
  },
};
