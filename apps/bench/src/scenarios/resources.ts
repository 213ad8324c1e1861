// 5. Resources: register N resources in a dependency graph, shut down, and
// read how long CLOSING took. N = 10k and 20k: doubling N must cost <= 2.2x.
// Shapes: a 4-ary tree (each resource uses its parent, so children close
// first) and, as an extra, a chain (strictly one after another).
import { createTroupe, type ResourceSpec } from '@troupe/runtime';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';

type Shape = 'tree' | 'chain';

const FANOUT = 4;

function parentOf(shape: Shape, i: number): number | null {
  if (i === 0) return null;
  return shape === 'tree' ? Math.floor((i - 1) / FANOUT) : i - 1;
}

interface Measure {
  readonly registerMs: number;
  readonly closingMs: number;
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
  const registerMs = performance.now() - t0;
  const report = await troupe.shutdown({ reason: 'bench' });
  let outOfOrder = 0;
  for (let i = 1; i < n; i++) {
    const parent = parentOf(shape, i) as number;
    if ((closedAt[i] as number) < 0 || (closedAt[parent] as number) < (closedAt[i] as number)) {
      outOfOrder += 1;
    }
  }
  return {
    registerMs,
    closingMs: report.phases.closing.durationMs,
    totalMs: report.durationMs,
    outOfOrder,
    closed: report.resources.closed,
  };
}

export const resources: Scenario = {
  name: 'resources',
  title: 'register N resources in a dependency graph, close them in order',
  async run(ctx) {
    const sizes = [10_000, 20_000] as const;
    const shapes: Shape[] = ['tree', 'chain'];
    const key = (shape: Shape, n: number): string => `${shape}-${n}`;
    const results = new Map<string, Measure[]>();
    await measure('tree', 2_000);
    const rounds = Math.max(3, Math.min(ctx.rounds, 5));
    for (let r = 0; r < rounds; r++) {
      for (const shape of shapes) {
        for (const n of r % 2 === 0 ? sizes : [...sizes].reverse()) {
          const m = await measure(shape, n);
          results.set(key(shape, n), [...(results.get(key(shape, n)) ?? []), m]);
          ctx.log(
            `round ${r + 1}/${rounds}: ${shape} N=${n}: register ${m.registerMs.toFixed(0)} ms, ` +
              `closing ${m.closingMs.toFixed(0)} ms, shutdown ${m.totalMs.toFixed(0)} ms, ` +
              `closed ${m.closed}, out of order ${m.outOfOrder}`,
          );
        }
      }
    }
    const get = (shape: Shape, n: number): Measure[] => results.get(key(shape, n)) ?? [];
    const med = (ms: Measure[], f: (m: Measure) => number): number => median(ms.map(f));
    const rows: Row[] = [];
    const scenario = '5 resources';
    for (const shape of shapes) {
      const small = get(shape, 10_000);
      const large = get(shape, 20_000);
      const label = shape === 'tree' ? `${FANOUT}-ary tree` : 'extra: chain';
      const outOfOrder = [...small, ...large].reduce((s, m) => s + m.outOfOrder, 0);
      rows.push(
        row({
          scenario,
          metric: `${label}, N=10k: shutdown total (closing phase ${med(small, (m) => m.closingMs).toFixed(0)} ms)`,
          unit: 'ms',
          troupe: med(small, (m) => m.totalMs),
          target: shape === 'tree' ? { on: 'value', op: '<=', limit: 1_000 } : null,
          note: `register ${med(small, (m) => m.registerMs).toFixed(0)} ms; resources closed out of dependency order over all rounds: ${outOfOrder}`,
          samples: { troupe: small.map((m) => m.totalMs) },
        }),
        row({
          scenario,
          metric: `${label}: closing phase N=20k vs N=10k`,
          unit: 'ms',
          troupe: med(large, (m) => m.closingMs),
          baseline: med(small, (m) => m.closingMs),
          baselineName: 'N=10k',
          target: shape === 'tree' ? { on: 'ratio', op: '<=', limit: 2.2 } : null,
          note: `register N=20k ${med(large, (m) => m.registerMs).toFixed(0)} ms vs N=10k ${med(small, (m) => m.registerMs).toFixed(0)} ms; shutdown total ${med(large, (m) => m.totalMs).toFixed(0)} ms`,
          samples: {
            troupe: large.map((m) => m.closingMs),
            baseline: small.map((m) => m.closingMs),
          },
        }),
      );
    }
    return rows;
  },
};
