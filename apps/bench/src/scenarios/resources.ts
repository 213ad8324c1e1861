// 5. Resources: register N resources in a dependency graph, shut down, and
// read how long CLOSING took. N = 10k and 20k: doubling N must cost <= 2.2x.
// Shapes: a 4-ary tree (each resource uses its parent, so children close
// first) and, as an extra, a chain (strictly one after another). Extra
// baseline: N bare resourceMachine actors (XState alone, no graph, no
// manager) created, started and closed — the floor under one actor per resource.
import { resourceMachine } from '@troupe/core';
import { createTroupe, type ResourceSpec } from '@troupe/runtime';
import { createActor } from 'xstate';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';

type Shape = 'tree' | 'chain';

const FANOUT = 4;
const SIZES = [10_000, 20_000] as const;

function parentOf(shape: Shape, i: number): number | null {
  if (i === 0) return null;
  return shape === 'tree' ? Math.floor((i - 1) / FANOUT) : i - 1;
}

interface Measure {
  readonly registerMs: number;
  readonly closingMs: number;
  readonly shutdownMs: number;
  /** register + shutdown, as the caller sees it. */
  readonly totalMs: number;
  /** Resources closed before a resource that uses them. */
  readonly outOfOrder: number;
  readonly closed: number;
}

async function measure(shape: Shape, n: number): Promise<Measure> {
  const troupe = createTroupe({ shutdown: { closingMs: 60_000 } });
  const closedAt = new Int32Array(n).fill(-1);
  let seq = 0;
  const specs: ResourceSpec[] = [];
  for (let i = 0; i < n; i++) {
    const parent = parentOf(shape, i);
    specs.push({
      id: `r${i}`,
      close: () => {
        closedAt[i] = seq++;
      },
      ...(parent === null ? {} : { dependsOn: [`r${parent}`] }),
    });
  }
  const t0 = performance.now();
  troupe.resources.register(specs);
  const t1 = performance.now();
  const report = await troupe.shutdown({ reason: 'bench' });
  const t2 = performance.now();
  let outOfOrder = 0;
  for (let i = 1; i < n; i++) {
    const parent = parentOf(shape, i) as number;
    if ((closedAt[i] as number) < 0 || (closedAt[parent] as number) < (closedAt[i] as number)) {
      outOfOrder += 1;
    }
  }
  return {
    registerMs: t1 - t0,
    closingMs: report.phases.closing.durationMs,
    shutdownMs: t2 - t1,
    totalMs: t2 - t0,
    outOfOrder,
    closed: report.resources.closed,
  };
}

/**
 * n bare resourceMachine actors: create, start, close all, await all done.
 * The close reports at once and the deadline actions do nothing: what is
 * left is XState's own cost per actor.
 */
async function bareXState(n: number): Promise<number> {
  const machine = resourceMachine.provide({
    actions: { armCloseDeadline: () => {}, disarmCloseDeadline: () => {} },
  });
  const t0 = performance.now();
  const actors = Array.from({ length: n }, (_, i) =>
    createActor(machine, { input: { id: `r${i}`, closeTimeoutMs: 5_000 } }),
  );
  let remaining = n;
  const done = new Promise<void>((resolve) => {
    for (const actor of actors) {
      actor.subscribe((snapshot) => {
        if (snapshot.status === 'done' && --remaining === 0) resolve();
      });
      actor.start();
    }
  });
  for (const actor of actors) actor.send({ type: 'troupe.resource.close' });
  await done;
  return performance.now() - t0;
}

export const resources: Scenario = {
  name: 'resources',
  title: 'register N resources in a dependency graph, close them in order',
  async run(ctx) {
    const shapes: Shape[] = ['tree', 'chain'];
    const key = (shape: Shape, n: number): string => `${shape}-${n}`;
    const results = new Map<string, Measure[]>();
    const bare: number[] = [];
    await measure('tree', 2_000);
    await bareXState(2_000);
    const rounds = Math.max(3, Math.min(ctx.rounds, 5));
    for (let r = 0; r < rounds; r++) {
      for (const shape of shapes) {
        for (const n of r % 2 === 0 ? SIZES : [...SIZES].reverse()) {
          const m = await measure(shape, n);
          results.set(key(shape, n), [...(results.get(key(shape, n)) ?? []), m]);
          ctx.log(
            `round ${r + 1}/${rounds}: ${shape} N=${n}: register ${m.registerMs.toFixed(0)} ms, ` +
              `shutdown ${m.shutdownMs.toFixed(0)} ms (closing ${m.closingMs.toFixed(0)} ms), ` +
              `closed ${m.closed}, out of order ${m.outOfOrder}`,
          );
        }
      }
      bare.push(await bareXState(10_000));
      ctx.log(
        `round ${r + 1}/${rounds}: bare XState, 10k actors created and closed in ${(bare.at(-1) ?? 0).toFixed(0)} ms`,
      );
    }
    const get = (shape: Shape, n: number): Measure[] => results.get(key(shape, n)) ?? [];
    const med = (ms: readonly Measure[], f: (m: Measure) => number): number => median(ms.map(f));
    const rows: Row[] = [];
    const scenario = '5 resources';
    for (const shape of shapes) {
      const small = get(shape, 10_000);
      const large = get(shape, 20_000);
      const label = shape === 'tree' ? `${FANOUT}-ary tree` : 'extra: chain';
      const gated = shape === 'tree';
      const outOfOrder = [...small, ...large].reduce((s, m) => s + m.outOfOrder, 0);
      rows.push(
        row({
          scenario,
          metric: `${label}, N=10k: register + shutdown()`,
          unit: 'ms',
          troupe: med(small, (m) => m.totalMs),
          target: gated ? { on: 'value', op: '<=', limit: 1_000 } : null,
          note: `register ${med(small, (m) => m.registerMs).toFixed(0)} ms + shutdown ${med(small, (m) => m.shutdownMs).toFixed(0)} ms; closed out of dependency order over all rounds: ${outOfOrder}`,
          samples: { troupe: small.map((m) => m.totalMs) },
        }),
        row({
          scenario,
          metric: `${label}, N=10k: closing phase alone`,
          unit: 'ms',
          troupe: med(small, (m) => m.closingMs),
          target: gated ? { on: 'value', op: '<=', limit: 1_000 } : null,
          samples: { troupe: small.map((m) => m.closingMs) },
        }),
        row({
          scenario,
          metric: `${label}: register + shutdown(), N=20k vs N=10k`,
          unit: 'ms',
          troupe: med(large, (m) => m.totalMs),
          baseline: med(small, (m) => m.totalMs),
          baselineName: 'N=10k',
          target: gated ? { on: 'ratio', op: '<=', limit: 2.2 } : null,
          samples: { troupe: large.map((m) => m.totalMs), baseline: small.map((m) => m.totalMs) },
        }),
        row({
          scenario,
          metric: `${label}: closing phase, N=20k vs N=10k`,
          unit: 'ms',
          troupe: med(large, (m) => m.closingMs),
          baseline: med(small, (m) => m.closingMs),
          baselineName: 'N=10k',
          target: gated ? { on: 'ratio', op: '<=', limit: 2.2 } : null,
          samples: {
            troupe: large.map((m) => m.closingMs),
            baseline: small.map((m) => m.closingMs),
          },
        }),
      );
    }
    const tree = get('tree', 10_000);
    rows.push(
      row({
        scenario,
        metric: 'extra: tree N=10k register + shutdown() vs bare XState actors',
        unit: 'ms',
        troupe: med(tree, (m) => m.totalMs),
        baseline: median(bare),
        baselineName: '10k bare actors',
        note: 'bare: 10k resourceMachine actors created, started, closed (no graph, no manager, no troupe)',
        samples: { troupe: tree.map((m) => m.totalMs), baseline: bare },
      }),
    );
    return rows;
  },
};
