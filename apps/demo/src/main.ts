// Troupe demo: a simulated LLM inference node. Three runners "load a model"
// in every thread and stream generated tokens; one of them is flaky and loses
// threads now and then. After DEMO_DURATION_MS (or Ctrl-C) the node shuts
// down in three phases and prints the report. The process then exits by
// itself: everything Troupe opened has been closed.
import {
  createTroupe,
  isTroupeError,
  type Runner,
  type RunnerSpec,
  type ShutdownReport,
} from '@troupe/runtime';
import { makeColors } from './colors.js';
import { Dashboard } from './Dashboard.js';
import { formatCloseOrder, type ClosedAt } from './formatCloseOrder.js';
import { formatReport } from './formatReport.js';
import { formatTally } from './formatTally.js';
import { KvCache } from './KvCache.js';
import { MetricsSink } from './MetricsSink.js';
import type { InferenceWorkerData } from './protocol.js';
import { readConfig } from './readConfig.js';
import { RequestGenerator } from './RequestGenerator.js';
import { RequestTally } from './RequestTally.js';

/** How long to wait for the last request promises after the report (they settle well before). */
const SETTLE_GRACE_MS = 2_000;

async function main(): Promise<number> {
  const config = readConfig();
  const c = makeColors(config.live);
  const worker = new URL('./worker.js', import.meta.url);
  const model: Omit<InferenceWorkerData, 'crashRate'> = {
    modelFloats: 1 << 20, // 4 MB of weights per thread
    loadMs: 150,
    tokenMs: config.tokenMs,
  };
  const specs: RunnerSpec[] = [
    { id: 'llm-0', worker, threads: 2, workerData: { ...model, crashRate: 0 } },
    { id: 'llm-1', worker, threads: 2, workerData: { ...model, crashRate: 0 } },
    {
      id: 'llm-flaky',
      worker,
      threads: 2,
      workerData: { ...model, crashRate: config.crashRate },
      // Generous: the demo shows crashes and recovery, not the restart limit.
      restart: { maxRestarts: config.flakyMaxRestarts, windowMs: config.flakyWindowMs },
    },
  ].map((spec) => ({ ...spec, taskTimeoutMs: 15_000, dependsOn: ['kv-cache'] }));

  const troupe = createTroupe({
    signals: ['SIGINT', 'SIGTERM'],
    shutdown: { signalingMs: 1_000, drainingMs: 5_000, closingMs: 3_000 },
  });
  const tally = new RequestTally(specs.map((s) => s.id ?? ''));
  const dashboard = new Dashboard({
    nodeId: troupe.nodeId,
    runnerIds: specs.map((s) => s.id ?? ''),
    tally,
    durationMs: config.durationMs,
    colors: c,
    live: config.live,
  });
  const closed: ClosedAt[] = [];
  troupe.on('runner:state', (event) => {
    dashboard.runnerState(event);
    if (event.state === 'stopped' || event.state === 'failed') {
      closed.push({ id: event.runnerId, at: performance.now() });
    }
  });
  troupe.on('shutdown:phase', (event) => {
    dashboard.phase(event);
  });
  troupe.on('error', (record) => {
    dashboard.error(record);
  });

  // Shared resources: the runners use the KV cache, which reports to the
  // metrics sink. Shutdown closes them in that order, runners first.
  const metrics = new MetricsSink();
  const cache = new KvCache(metrics);
  troupe.resources.register([
    {
      id: 'metrics-sink',
      dependsOn: [],
      close: async () => {
        await metrics.close();
        closed.push({ id: 'metrics-sink', at: performance.now() });
      },
    },
    {
      id: 'kv-cache',
      dependsOn: ['metrics-sink'],
      close: async () => {
        await cache.close();
        closed.push({ id: 'kv-cache', at: performance.now() });
      },
      closeTimeoutMs: 1_000,
    },
  ]);

  dashboard.note(
    `spawning ${specs.length} runners (${specs.map((s) => `${s.id ?? ''}×${s.threads ?? 1}`).join(', ')}); loading models…`,
  );
  dashboard.start();

  // Stop after the duration, or as soon as the troupe starts shutting down on
  // its own (SIGINT/SIGTERM: `signals` makes Troupe call shutdown itself).
  let stopTimer: NodeJS.Timeout | undefined;
  const stopRequested = new Promise<string>((resolve) => {
    stopTimer = setTimeout(() => {
      resolve(`duration ${config.durationMs} ms`);
    }, config.durationMs);
    const onPhase = (event: { reason: string }): void => {
      troupe.off('shutdown:phase', onPhase);
      resolve(event.reason);
    };
    troupe.on('shutdown:phase', onPhase);
  });

  const spawned = await Promise.allSettled(specs.map((spec) => troupe.spawnRunner(spec)));
  const runners: Runner[] = [];
  let startupFailed = false;
  for (const [i, outcome] of spawned.entries()) {
    if (outcome.status === 'fulfilled') {
      runners.push(outcome.value);
      dashboard.attach(outcome.value);
    } else {
      const error: unknown = outcome.reason;
      const code = isTroupeError(error) ? error.code : 'error';
      const interrupted = troupe.phase !== 'running';
      if (!interrupted) startupFailed = true;
      dashboard.note(
        `${c.red(code)} runner ${specs[i]?.id ?? '?'} did not start: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  const generator = new RequestGenerator({
    runners,
    tally,
    concurrency: config.concurrency,
    cancelRate: config.cancelRate,
    onSubmit: (_runnerId, request) => {
      cache.lookup(request.prompt);
    },
    onSettle: (runnerId, outcome, code) => {
      metrics.record(`${runnerId} ${outcome}${code === null ? '' : ` ${code}`}`);
    },
  });
  if (!startupFailed && troupe.phase === 'running') generator.start();

  const reason = startupFailed ? 'startup failed' : await stopRequested;
  clearTimeout(stopTimer);
  generator.stop();
  const shutdownStartedAt = performance.now();
  const shutdown = troupe.shutdown({ reason });
  // A request arriving now is refused at once (ERR_SHUTDOWN_IN_PROGRESS), never hangs.
  const late = runners.length > 0 ? generator.submitOne() : Promise.resolve();
  const report: ShutdownReport = await shutdown;
  let grace: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([generator.settled(), late]),
    new Promise<void>((resolve) => {
      grace = setTimeout(() => {
        dashboard.note(c.red('some requests never settled'));
        resolve();
      }, SETTLE_GRACE_MS);
    }),
  ]);
  clearTimeout(grace);
  dashboard.stop();

  const out: string[] = [
    '',
    formatReport(report, c),
    '',
    `${c.bold('Close order')} ${c.dim('(as observed; dependents first)')}`,
    `  ${formatCloseOrder(closed, shutdownStartedAt)}`,
    `  kv-cache: ${cache.hits} hits, ${cache.misses} misses · metrics-sink: ${metrics.shipped} samples shipped`,
    '',
    formatTally(tally, c),
  ];
  if (generator.mismatches > 0) {
    out.push(c.red(`token/result mismatches: ${generator.mismatches}`));
  }
  process.stdout.write(`${out.join('\n')}\n`);

  const lost = tally.totals().lost;
  if (report.threads.leaked > 0) {
    process.stdout.write(c.red(`${report.threads.leaked} threads leaked: exit code 1\n`));
  }
  return report.threads.leaked > 0 || lost > 0 || startupFailed ? 1 : 0;
}

process.exitCode = await main();
