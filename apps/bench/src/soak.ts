// `npm run soak`: SOAK_TASKS tasks (default 100,000) over four runners while
// a seeded fault injector crashes threads (process.exit, uncaught throw, heap
// limit), hangs tasks, stalls channels and registers slowly closing
// resources; then a graceful shutdown. Passes (exit code 0) only if no task
// was lost, RSS grew < 20% after warm-up, nothing went unhandled and no
// thread leaked; the process must then exit on its own.
import { mulberry32 } from '@troupe/core';
import { createTroupe, type Runner, type ShutdownReport } from '@troupe/runtime';
import { checkLeaks, snapshotHandles } from '@troupe/testing';
import { readConfig } from './soak/config.js';
import { FaultInjector, type PlannedTask, type RunnerName } from './soak/FaultInjector.js';
import { Ledger } from './soak/Ledger.js';
import { RssSampler } from './soak/RssSampler.js';
import { registerBaseResources, registerSession, type ResourcePlan } from './soak/slowResources.js';
import { printSummary, type Check } from './soak/summary.js';

const CHAOS_PLAIN = new URL('./workers/chaosPlain.js', import.meta.url);
const CHAOS_DEFINED = new URL('./workers/chaosDefined.js', import.meta.url);
const IDENTITY = new URL('./workers/identity.js', import.meta.url);
const MiB = 1024 * 1024;
/** Width of the RSS windows compared (after warm-up, before shutdown). */
const RSS_WINDOW_MS = 3_000;

const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => {
  unhandled.push(`unhandledRejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
});
process.on('uncaughtException', (error) => {
  unhandled.push(`uncaughtException: ${error.stack ?? error.message}`);
});

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function main(): Promise<void> {
  const config = readConfig();
  out(
    `soak: seed ${config.seed}, ${config.tasks.toLocaleString('en-US')} tasks` +
      `${config.seconds === null ? '' : ` or ${config.seconds} s`}, fault rate ${config.faultRate}, ` +
      `${config.inFlight} in flight (SOAK_SEED=${config.seed} reproduces the draws)`,
  );
  const handles = snapshotHandles();
  const sampler = new RssSampler();
  const injector = new FaultInjector(config.seed, config.faultRate);
  const ledger = new Ledger();
  const plan: ResourcePlan = { sessions: 0, slowSessions: 0 };
  const resourceRandom = mulberry32(config.seed ^ 0x5eed5eed);

  const troupe = createTroupe({
    shutdown: { signalingMs: 1_000, drainingMs: 5_000, closingMs: 10_000, abortGraceMs: 100 },
  });
  let alerts = 0;
  troupe.on('alert', () => {
    alerts += 1;
  });
  registerBaseResources(troupe);
  const chaosRestart = { maxRestarts: 1_000_000, windowMs: 1_000 };
  const [fast, plain, defined, heap] = await Promise.all([
    troupe.spawnRunner({ id: 'soak-fast', worker: IDENTITY, threads: 2, dependsOn: ['cache'] }),
    troupe.spawnRunner({
      id: 'soak-plain',
      worker: CHAOS_PLAIN,
      threads: 2,
      restart: chaosRestart,
      dependsOn: ['cache'],
    }),
    troupe.spawnRunner({
      id: 'soak-defined',
      worker: CHAOS_DEFINED,
      threads: 2,
      restart: chaosRestart,
      dependsOn: ['cache'],
    }),
    troupe.spawnRunner({
      id: 'soak-heap',
      worker: CHAOS_PLAIN,
      threads: 1,
      restart: chaosRestart,
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
      dependsOn: ['cache'],
    }),
  ]);
  const runners: Record<RunnerName, Runner> = { fast, plain, defined, heap };
  let events = 0;
  defined.on('event', () => {
    events += 1;
  });

  // ---- load ------------------------------------------------------------------
  sampler.start(250);
  const startedAt = sampler.now();
  const phase: { warmupEndMs: number | null } = { warmupEndMs: null };
  let stopping = false;
  const submit = (task: PlannedTask): Promise<void> =>
    ledger.track(task.kind, runners[task.runner].run(task.payload, task.options));
  const shouldStop = (): boolean => {
    const elapsedMs = sampler.now() - startedAt;
    if (
      phase.warmupEndMs === null &&
      (ledger.submitted >= config.tasks * 0.2 ||
        (config.seconds !== null && elapsedMs >= config.seconds * 200))
    ) {
      phase.warmupEndMs = sampler.now();
    }
    return (
      stopping ||
      ledger.submitted >= config.tasks ||
      (config.seconds !== null && elapsedMs >= config.seconds * 1000)
    );
  };
  const loop = async (): Promise<void> => {
    while (!shouldStop()) await submit(injector.next());
  };
  const sessions = setInterval(() => {
    if (plan.sessions < 200) registerSession(troupe, plan, resourceRandom);
  }, 250);
  sessions.unref();
  const progress = setInterval(() => {
    const s = sampler.samples.at(-1);
    out(
      `  [${((sampler.now() - startedAt) / 1000).toFixed(0)} s] submitted ${ledger.submitted.toLocaleString('en-US')}, ` +
        `settled ${ledger.settled.toLocaleString('en-US')}, crashes ${Object.values(runners).reduce((n, r) => n + r.stats().crashes, 0)}, ` +
        `rss ${((s?.rss ?? 0) / MiB).toFixed(0)} MiB, heap ${((s?.heapUsed ?? 0) / MiB).toFixed(0)} MiB`,
    );
  }, 5_000);
  progress.unref();

  const loops = Array.from({ length: config.inFlight }, loop);
  // Stop when the first loop sees the end: the others finish their current task.
  await Promise.race(loops);
  stopping = true;
  clearInterval(sessions);
  clearInterval(progress);
  const loadEndMs = sampler.now();
  const loadMs = loadEndMs - startedAt;
  const statsBefore = Object.values(runners).map((r) => r.stats());

  // ---- shutdown with tasks still in flight -----------------------------------------
  const inFlightAtShutdown = ledger.pending;
  const shutdownStart = performance.now();
  const shutdown = troupe.shutdown({ reason: 'soak done' });
  const late = Object.values(runners).map((r) =>
    ledger.track('late', r.run({ kind: 'ok', n: -1 })),
  );
  let report: ShutdownReport | null = null;
  let shutdownError: unknown = null;
  try {
    report = await shutdown;
  } catch (error) {
    shutdownError = error;
  }
  const shutdownMs = performance.now() - shutdownStart;
  sampler.stop();
  const allSettled = await ledger.whenSettled(10_000);
  if (allSettled) await Promise.all([...loops, ...late]);
  const leaks = await checkLeaks(handles, { settleMs: 3_000 });

  // ---- verdict -----------------------------------------------------------------
  const warmFrom = phase.warmupEndMs ?? startedAt;
  const warm = sampler.medianRss(warmFrom, warmFrom + RSS_WINDOW_MS);
  const end = sampler.medianRss(loadEndMs - RSS_WINDOW_MS, loadEndMs + 1);
  const overlapping =
    warm === null || end === null || loadEndMs - RSS_WINDOW_MS < warmFrom + RSS_WINDOW_MS;
  const growth = warm === null || end === null ? null : end.rss / warm.rss - 1;
  const lost = ledger.pending + ledger.invalidCount;
  const userResources = report?.resources.details.filter((d) => d.kind === 'user') ?? [];
  const forcedUser = userResources.filter((d) => d.outcome === 'forced').length;
  const failedUser = userResources.filter((d) => d.outcome === 'failed').length;
  const order = report === null ? [] : report.resources.details.map((d) => d.id);
  const at = (id: string): number => order.indexOf(id);
  const orderOk =
    report !== null &&
    at('db') > at('cache') &&
    Object.values(runners).every((r) => at(r.id) !== -1 && at(r.id) < at('cache')) &&
    order.filter((id) => id.startsWith('session-')).every((id) => at(id) < at('cache'));

  const checks: Check[] = [
    {
      name: 'no task lost',
      ok: lost === 0,
      detail: `${ledger.submitted} submitted, ${ledger.settled} settled, ${ledger.pending} pending, ${ledger.invalidCount} rejected without a TroupeError code`,
    },
    {
      name: 'every outcome is the one its fault calls for',
      ok: ledger.unexpectedCount === 0,
      detail: `${ledger.unexpectedCount} unexpected`,
    },
    {
      name: `RSS growth after warm-up < ${(config.maxRssGrowth * 100).toFixed(0)}%`,
      ok: growth !== null && !overlapping && growth < config.maxRssGrowth,
      detail:
        growth === null || overlapping
          ? 'run too short to compare two separate windows'
          : `${(warm.rss / MiB).toFixed(1)} → ${(end.rss / MiB).toFixed(1)} MiB (${(growth * 100).toFixed(1)}%)`,
    },
    {
      name: 'no unhandled rejection or uncaught exception',
      ok: unhandled.length === 0,
      detail: `${unhandled.length}`,
    },
    {
      name: 'shutdown resolved, no thread leaked',
      ok: report !== null && report.threads.leaked === 0,
      detail:
        report === null
          ? `shutdown rejected: ${String(shutdownError)}`
          : `threads started ${report.threads.started}, exited ${report.threads.exited}, leaked ${report.threads.leaked}`,
    },
    {
      name: 'resources: close order, forced and failed as injected',
      ok: orderOk && forcedUser === plan.slowSessions + 1 && failedUser === 1,
      detail: `order ${orderOk ? 'ok' : 'WRONG'}, forced ${forcedUser} (expected ${plan.slowSessions + 1}), failed ${failedUser} (expected 1)`,
    },
    { name: 'no leaked handles or threads after shutdown', ok: leaks.ok, detail: leaks.message },
  ];

  printSummary(out, {
    config,
    loadMs,
    injected: injector.injected,
    ledger,
    stats: statsBefore,
    events,
    alerts,
    plan,
    inFlightAtShutdown,
    shutdownMs,
    report,
    rss: { warm, end, growth },
    unhandled,
    checks,
  });
  process.exitCode = checks.every((c) => c.ok) ? 0 : 1;
}

await main();
