// Troupe demo: a simulated LLM inference node. Three runners "load a model"
// in every thread and stream generated tokens; one of them is flaky and loses
// threads now and then. After DEMO_DURATION_MS (or Ctrl-C) the node shuts
// down in three phases and prints the report. The process then exits by
// itself: everything Troupe opened has been closed.
import { serveInspector } from '@troupe/inspect';
import { createTroupe, isTroupeError, type Runner, type RunnerSpec } from '@troupe/runtime';
import { makeColors } from './colors.js';
import { Dashboard } from './Dashboard.js';
import { formatCloseOrder, type ClosedAt } from './formatCloseOrder.js';
import { formatReport } from './formatReport.js';
import { formatTally } from './formatTally.js';
import { KvCache } from './KvCache.js';
import { MetricsSink } from './MetricsSink.js';
import { openLog } from './openLog.js';
import type { InferenceWorkerData } from './protocol.js';
import { readConfig, type DemoConfig } from './readConfig.js';
import { RequestGenerator } from './RequestGenerator.js';
import { RequestTally } from './RequestTally.js';

/** How long to wait for the last request promises after the report (they settle well before). */
const SETTLE_GRACE_MS = 2_000;

/** A runner spec with the fields the demo relies on spelled out. */
type DemoRunnerSpec = RunnerSpec & { readonly id: string; readonly threads: number };

/** The three inference runners, one worker module. */
function runnerSpecs(config: DemoConfig): DemoRunnerSpec[] {
  const worker = new URL('./worker.js', import.meta.url);
  const model: Omit<InferenceWorkerData, 'crashRate'> = {
    modelFloats: 1 << 20, // 4 MB of weights per thread
    loadMs: 150,
    tokenMs: config.tokenMs,
  };
  const common = { worker, taskTimeoutMs: 15_000, dependsOn: ['kv-cache'] };
  return [
    { ...common, id: 'llm-0', threads: 2, workerData: { ...model, crashRate: 0 } },
    { ...common, id: 'llm-1', threads: 2, workerData: { ...model, crashRate: 0 } },
    {
      ...common,
      id: 'llm-flaky',
      threads: 2,
      workerData: { ...model, crashRate: config.crashRate },
      // Generous: the demo shows crashes and recovery, not the restart limit.
      restart: { maxRestarts: config.flakyMaxRestarts, windowMs: config.flakyWindowMs },
    },
  ];
}

async function main(): Promise<number> {
  const config = readConfig();
  const c = makeColors(config.live);
  const specs = runnerSpecs(config);

  // pino, into a file: lifecycle logs and what the workers write with ctx.log.
  const logger = openLog(config);
  const troupe = createTroupe({
    signals: ['SIGINT', 'SIGTERM'],
    shutdown: { signalingMs: 1_000, drainingMs: 5_000, closingMs: 3_000 },
    logger,
  });
  const tally = new RequestTally(specs.map((s) => s.id));
  const dashboard = new Dashboard({
    nodeId: troupe.nodeId,
    runnerIds: specs.map((s) => s.id),
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
  const shutdownStarted: { at: number | null } = { at: null };
  troupe.on('shutdown:phase', (event) => {
    if (event.phase === 'signaling') shutdownStarted.at = performance.now();
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

  const runners: Runner[] = [];
  const generator = new RequestGenerator({
    runners, // filled in as runners come up
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

  try {
    if (process.argv.includes('--inspect')) {
      // Never opens a browser: the URL is printed; the shutdown closes the relay.
      const inspector = await serveInspector(troupe);
      dashboard.note(
        `Stately inspector: open ${inspector.url} (every live actor is replayed to each inspector that connects)`,
      );
    }
    if (process.argv.includes('--dashboard')) {
      // The troupe's own live dashboard (@troupe/dashboard), on loopback; the shutdown closes it.
      const port = Number(process.env.DASHBOARD_PORT ?? 0);
      const { url } = await troupe.listen({ port, dashboard: true });
      dashboard.note(
        `live dashboard: open ${url}/dashboard/ (DEMO_DURATION_MS=120000 gives you time to look)`,
      );
    }
    if (config.logLevel !== 'silent') {
      dashboard.note(`logs (${config.logLevel} and above) → ${config.logFile}`);
    }
    dashboard.note(
      `spawning ${specs.length} runners (${specs.map((s) => `${s.id}×${s.threads}`).join(', ')}); loading models…`,
    );
    dashboard.note(
      c.dim(
        'crashes: threads that died; restarts: what the restart budget counted (maxRestarts in windowMs): each replaced thread is one, a whole-pool restart one more',
      ),
    );
    dashboard.start();

    const spawned = await Promise.allSettled(specs.map((spec) => troupe.spawnRunner(spec)));
    let startupFailed = false;
    for (const [i, outcome] of spawned.entries()) {
      if (outcome.status === 'fulfilled') {
        runners.push(outcome.value);
        dashboard.attach(outcome.value);
        continue;
      }
      const error: unknown = outcome.reason;
      // A Ctrl-C during startup is a shutdown, not a failure.
      if (troupe.phase === 'running') startupFailed = true;
      dashboard.note(
        `${c.red(isTroupeError(error) ? error.code : 'error')} runner ${specs[i]?.id ?? '?'} did not start: ${messageOf(error)}`,
      );
    }
    if (!startupFailed && troupe.phase === 'running') generator.start();

    const reason = startupFailed ? 'startup failed' : await stopRequested;
    clearTimeout(stopTimer);
    generator.stop();
    const shutdown = troupe.shutdown({ reason });
    // A request arriving now is refused at once (ERR_SHUTDOWN_IN_PROGRESS), never hangs.
    const late = runners.length > 0 ? generator.submitOne() : Promise.resolve();
    const report = await shutdown;
    await settleWithin(Promise.all([generator.settled(), late]), SETTLE_GRACE_MS, () => {
      dashboard.note(c.red('some requests never settled'));
    });
    dashboard.stop();

    const out: string[] = [
      '',
      formatReport(report, c),
      '',
      `${c.bold('Close order')} ${c.dim('(as observed; dependents first)')}`,
      `  ${formatCloseOrder(closed, shutdownStarted.at ?? performance.now())}`,
      `  kv-cache: ${cache.hits} hits, ${cache.misses} misses · metrics-sink: ${metrics.shipped} samples shipped`,
      '',
      formatTally(tally, c),
    ];
    if (generator.mismatches > 0) {
      out.push(c.red(`token/result mismatches: ${generator.mismatches}`));
    }
    if (report.threads.leaked > 0) {
      out.push(c.red(`${report.threads.leaked} threads leaked: exit code 1`));
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return report.threads.leaked > 0 || tally.totals().lost > 0 || startupFailed ? 1 : 0;
  } catch (error) {
    // A bug in the demo itself: still close everything so the process can exit.
    clearTimeout(stopTimer);
    generator.stop();
    const shutdown = troupe.shutdown({ reason: 'demo error' });
    try {
      dashboard.stop();
    } finally {
      process.stderr.write(
        `demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      await shutdown;
    }
    return 1;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Waits for `work`, at most `ms` (calling `onTimeout` then); leaves no timer behind. */
async function settleWithin(
  work: Promise<unknown>,
  ms: number,
  onTimeout: () => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work,
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        onTimeout();
        resolve();
      }, ms);
    }),
  ]);
  clearTimeout(timer);
}

process.exitCode = await main();
