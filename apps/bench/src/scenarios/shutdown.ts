// 4. Shutdown: (a) 16 idle runners; (b) 16 runners with 1,000 short tasks in
// flight, against the drain time of the same work without a shutdown.
import { Worker } from 'node:worker_threads';
import { createTroupe, type Runner, type Troupe } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { Piscina } from 'piscina';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { sleep } from '../timing.js';

const IDLE = new URL('../workers/identity.js', import.meta.url);
const IDLE_THREAD = new URL('../workers/idleThread.js', import.meta.url);
const RUNNERS = 16;
const TASKS = 1_000;
const TASK_MS = 5;

async function spawn(worker: URL): Promise<{ troupe: Troupe; runners: Runner[] }> {
  const troupe = createTroupe();
  const runners = await Promise.all(
    Array.from({ length: RUNNERS }, () => troupe.spawnRunner({ worker, threads: 1 })),
  );
  return { troupe, runners };
}

async function idleShutdown(): Promise<{ ms: number; reportMs: number }> {
  const { troupe } = await spawn(IDLE);
  await sleep(50);
  const start = performance.now();
  const report = await troupe.shutdown({ reason: 'bench' });
  return { ms: performance.now() - start, reportMs: report.durationMs };
}

async function rawTerminate(): Promise<number> {
  const workers = Array.from({ length: RUNNERS }, () => new Worker(IDLE_THREAD));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
  await sleep(50);
  const start = performance.now();
  await Promise.all(workers.map((w) => w.terminate()));
  return performance.now() - start;
}

/** Tallies the outcomes of the submitted tasks. */
function submit(runners: readonly Runner[]): { all: Promise<void>; completed: () => number } {
  let completed = 0;
  const tasks: Promise<unknown>[] = [];
  for (let i = 0; i < TASKS; i++) {
    const runner = runners[i % runners.length] as Runner;
    tasks.push(
      runner.run(TASK_MS).then(() => {
        completed += 1;
      }),
    );
  }
  return {
    all: Promise.allSettled(tasks).then(() => undefined),
    completed: () => completed,
  };
}

async function drainOnly(): Promise<number> {
  const { troupe, runners } = await spawn(fixtures.sleep);
  await sleep(50);
  const start = performance.now();
  const work = submit(runners);
  await work.all;
  const ms = performance.now() - start;
  await troupe.shutdown({ reason: 'bench' });
  return ms;
}

async function drainByShutdown(): Promise<{ ms: number; completed: number; aborted: number }> {
  const { troupe, runners } = await spawn(fixtures.sleep);
  await sleep(50);
  const start = performance.now();
  const work = submit(runners);
  const report = await troupe.shutdown({ reason: 'bench' });
  const ms = performance.now() - start;
  await work.all;
  return { ms, completed: work.completed(), aborted: report.tasks.aborted };
}

/**
 * Raw piscina doing the same work: 16 one-thread pools, 1,000 tasks, wait
 * for all (its close() cannot be trusted to drain), then destroy(). Returns
 * the destroy time after the last task settled.
 */
async function rawDrainThenDestroy(): Promise<number> {
  const pools = Array.from(
    { length: RUNNERS },
    () =>
      new Piscina({
        filename: fixtures.sleep.href,
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Infinity,
        atomics: 'disabled',
      }),
  );
  await Promise.all(pools.map((p) => p.run(0)));
  await sleep(50);
  const tasks: Promise<unknown>[] = [];
  for (let i = 0; i < TASKS; i++) tasks.push((pools[i % RUNNERS] as Piscina).run(TASK_MS));
  await Promise.all(tasks);
  const start = performance.now();
  await Promise.all(pools.map((p) => p.destroy()));
  return performance.now() - start;
}

export const shutdown: Scenario = {
  name: 'shutdown',
  title: `shutdown of ${RUNNERS} runners, idle and with ${TASKS} tasks in flight`,
  async run(ctx) {
    const idle: number[] = [];
    const idleReport: number[] = [];
    const raw: number[] = [];
    const drain: number[] = [];
    const withShutdown: number[] = [];
    const rawDestroy: number[] = [];
    let lost = 0;
    let aborted = 0;
    await idleShutdown();
    const rounds = Math.max(5, ctx.rounds);
    for (let r = 0; r < rounds; r++) {
      const a = await idleShutdown();
      idle.push(a.ms);
      idleReport.push(a.reportMs);
      raw.push(await rawTerminate());
      const first = r % 2 === 0;
      if (first) drain.push(await drainOnly());
      const b = await drainByShutdown();
      withShutdown.push(b.ms);
      lost += TASKS - b.completed;
      aborted += b.aborted;
      if (!first) drain.push(await drainOnly());
      rawDestroy.push(await rawDrainThenDestroy());
      ctx.log(
        `round ${r + 1}/${rounds}: idle ${a.ms.toFixed(0)} ms (raw terminate ${(raw.at(-1) ?? 0).toFixed(0)} ms), ` +
          `drain ${(drain.at(-1) ?? 0).toFixed(0)} ms, shutdown with ${TASKS} in flight ${b.ms.toFixed(0)} ms, ` +
          `completed ${b.completed}/${TASKS}; raw piscina destroy after drain ${(rawDestroy.at(-1) ?? 0).toFixed(0)} ms`,
      );
    }
    const scenario = '4 shutdown';
    const overheads = withShutdown.map((ms, i) => ms - (drain[i] ?? 0));
    const rows: Row[] = [
      row({
        scenario,
        metric: `${RUNNERS} idle runners: shutdown() total`,
        unit: 'ms',
        troupe: median(idle),
        baseline: median(raw),
        baselineName: `${RUNNERS}x terminate()`,
        target: { on: 'value', op: '<=', limit: 100 },
        note: `report.durationMs median ${median(idleReport).toFixed(1)} ms`,
        samples: { troupe: idle, baseline: raw },
      }),
      row({
        scenario,
        metric: `${TASKS} tasks of ${TASK_MS} ms in flight: shutdown() total`,
        unit: 'ms',
        troupe: median(withShutdown),
        baseline: median(drain),
        baselineName: 'drain alone',
        samples: { troupe: withShutdown, baseline: drain },
      }),
      row({
        scenario,
        metric: `${TASKS} in flight: shutdown minus drain (per round, median)`,
        unit: 'ms',
        troupe: median(overheads),
        baseline: median(rawDestroy),
        baselineName: 'piscina destroy()',
        target: { on: 'value', op: '<=', limit: 50 },
        note: 'baseline: raw piscina, same 16 pools and tasks, destroy() after the last task settled',
        samples: { troupe: overheads, baseline: rawDestroy },
      }),
      row({
        scenario,
        metric: `${TASKS} in flight: tasks lost over ${rounds} rounds`,
        unit: 'tasks',
        troupe: lost,
        target: { on: 'value', op: '<=', limit: 0 },
        note: `${aborted} aborted by the drain deadline; each round's tasks must all complete`,
      }),
    ];
    return rows;
  },
};
