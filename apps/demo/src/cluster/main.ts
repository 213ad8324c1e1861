// Troupe cluster demo (`npm run demo:cluster`): a nats-server and three
// Troupe node processes on loopback, each serving the inference runner
// "llm" of the single-node demo. This driver joins the cluster as a client
// node, keeps tasks in flight and prints, every second, where they were
// placed; SIGKILLs one node and shows the cluster noticing (its heartbeat
// lapses) and its tasks running again on the survivors; then shuts the
// whole cluster down and prints the merged report. `--seconds N` sets the
// length of the load (default 12). Every child process and the server are
// gone when it exits, on every path (a Ctrl-C too).
import { isatty } from 'node:tty';
import { joinCluster, type Cluster } from '@troupe/cluster';
import { createTroupe, isTroupeError, type Troupe } from '@troupe/runtime';
import { startNatsServer, type NatsServer } from '@troupe/testing';
import { makeColors } from '../colors.js';
import { sleep } from '../sleep.js';
import { formatClusterReport } from './formatClusterReport.js';
import { formatNodeTick } from './formatNodeTick.js';
import { interruptible, Interrupted } from './interruptible.js';
import { LoadPump } from './LoadPump.js';
import { MembershipWatch } from './MembershipWatch.js';
import type { NodeLine } from './NodeLine.js';
import { NodeProcess, type NodeExit } from './NodeProcess.js';
import { PlacementTally } from './PlacementTally.js';
import { readClusterDemoConfig } from './readClusterDemoConfig.js';

const NODE_IDS = ['node-a', 'node-b', 'node-c'] as const;
/** The node the demo kills. */
const VICTIM = 'node-b';
const CLUSTER = 'demo';
const DRIVER_ID = 'driver';
/** Ticks of placement shown after the victim was seen down, at least. */
const TICKS_AFTER_DOWN = 2;
/** Starting a node process (threads loading a model) on a loaded machine. */
const NODE_UP_TIMEOUT_MS = 30_000;
/** At the end (or a Ctrl-C): SIGTERM, then SIGKILL past this. */
const STOP_GRACE_MS = 10_000;
/** The same after a Ctrl-C: it reaches the broker too, and a node cannot leave without it. */
const INTERRUPTED_GRACE_MS = 4_000;
/** How long the driver waits for its own connection to close at the end. */
const CLOSE_GRACE_MS = 2_000;
/** The victim is killed once it has this many tasks on it… */
const KILL_WITH_TASKS = 3;
/** …or this long after the kill time anyway. */
const KILL_WAIT_MS = 3_000;

const isUp = (line: NodeLine): line is Extract<NodeLine, { up: string }> => 'up' in line;

async function main(): Promise<number> {
  const config = readClusterDemoConfig(process.argv.slice(2));
  const c = makeColors(isatty(1));
  const ttlMs = config.heartbeatMs * 3;
  const t0 = performance.now();
  const at = (time: number): string => `${((time - t0) / 1_000).toFixed(1).padStart(5)} s`;
  const say = (text: string, time = performance.now()): void => {
    process.stdout.write(`${c.dim(at(time))}  ${text}\n`);
  };
  const continued = (text: string): void => {
    process.stdout.write(`${' '.repeat(9)}${text}\n`);
  };

  const nodes: NodeProcess[] = [];
  let nats: NatsServer | null = null;
  let troupe: Troupe | null = null;
  let joined: Cluster | null = null;
  let watch: MembershipWatch | null = null;
  let pump: LoadPump | null = null;
  let ticker: NodeJS.Timeout | undefined;

  // Ctrl-C: stop everything in order (the finally below); a second one kills.
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (!interrupt.signal.aborted) {
      say(c.yellow('SIGINT: stopping the nodes and the broker (Ctrl-C again to kill them)'));
      interrupt.abort();
      return;
    }
    for (const node of nodes) node.kill('SIGKILL');
    void nats?.kill();
  };
  process.on('SIGINT', onSigint);
  // Last resort (an exit from anywhere): no child outlives the driver.
  const onExit = (): void => {
    for (const node of nodes) node.kill('SIGKILL');
    void nats?.kill();
  };
  process.on('exit', onExit);
  const signal = interrupt.signal;
  let exitCode = 1;

  try {
    // 1. The broker, three node processes, and this driver as a client node.
    nats = await startNatsServer();
    say(
      `nats-server ready at ${c.bold(nats.url)} ${c.dim('(JetStream, loopback, a temporary store)')}`,
    );
    say(
      `starting ${NODE_IDS.join(', ')}: a process each, runner "llm" × 2 threads ${c.dim(`(heartbeat ${config.heartbeatMs} ms: silent for ${ttlMs} ms is down)`)}`,
    );
    for (const id of NODE_IDS) {
      nodes.push(
        NodeProcess.start(id, {
          NATS_URL: nats.url,
          CLUSTER,
          HEARTBEAT_MS: String(config.heartbeatMs),
          TOKEN_MS: String(config.tokenMs),
        }),
      );
    }
    await interruptible(
      Promise.all(
        nodes.map(async (node) => {
          const line = await node.line(isUp);
          say(`${c.bold(node.id)} ${c.green('up')} ${c.dim(`pid ${line.pid}`)}`);
        }),
      ),
      signal,
      { ms: NODE_UP_TIMEOUT_MS, what: 'the three nodes up' },
    );
    troupe = createTroupe({ nodeId: DRIVER_ID });
    const cluster = await joinCluster(troupe, {
      servers: nats.url,
      cluster: CLUSTER,
      heartbeatMs: config.heartbeatMs,
    });
    joined = cluster;
    const members = new MembershipWatch(cluster);
    watch = members;
    await interruptible(Promise.all(NODE_IDS.map((id) => members.reached(id, ['up']))), signal, {
      ms: ttlMs * 4,
      what: 'the driver seeing every node up',
    });
    say(
      `the driver sees ${NODE_IDS.map((id) => `${id} ${c.green('up')}`).join(', ')} in cluster.nodes() ${c.dim(`(${cluster.nodes().length} members, itself included)`)}`,
    );

    // 2. Live placement: the broker spreads tasks over the nodes (a queue group).
    const tally = new PlacementTally(NODE_IDS);
    const load = new LoadPump({
      runner: cluster.runner('llm'),
      tally,
      inFlight: config.inFlight,
      onFailure: (error, placements) => {
        if (signal.aborted) return; // Interrupted: the broker may be gone; counted, not shown.
        const code = isTroupeError(error) ? error.code : 'error';
        say(
          c.red(
            `task failed: ${code} (placed on ${placements.length === 0 ? 'no node' : placements.join(' → ')}): ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      },
    });
    pump = load;
    const victim = nodes.find((n) => n.id === VICTIM);
    if (victim === undefined) throw new Error(`no node ${VICTIM}`);
    const kill: { at: number | null; downAt: number | null } = { at: null, downAt: null };
    let ticksAfterDown = 0;
    const tick = (): void => {
      const health = cluster.health();
      const now = Date.now();
      const lines = tally.tick().map((t) => {
        const h = health.nodes.find((n) => n.nodeId === t.nodeId);
        const killed =
          t.nodeId === VICTIM && kill.at !== null
            ? kill.downAt === null
              ? `SIGKILLed ${Math.round(performance.now() - kill.at)} ms ago: not down until its heartbeat lapses`
              : 'SIGKILLed'
            : null;
        return formatNodeTick(
          t,
          {
            state: members.state(t.nodeId),
            health: h === undefined ? null : h.health,
            heartbeatAgeMs: h === undefined ? null : now - h.at,
            note: killed,
          },
          c,
        );
      });
      say(lines[0] ?? '');
      for (const line of lines.slice(1)) continued(line);
      if (kill.downAt !== null) ticksAfterDown += 1;
    };
    say(
      `placing tasks: ${config.inFlight} in flight, idempotent, 8–16 tokens each; every second, per node: tasks placed on it (onPlaced), tokens streamed, membership state, health (cluster.health())`,
    );
    const loadStarted = performance.now();
    load.start();
    ticker = setInterval(tick, 1_000);

    // 3. Kill a node mid-task; the driver sees it down once its heartbeat lapses.
    await interruptible(sleep(config.killAtSeconds * 1_000), signal);
    // Mid-task: once it has a few tasks on it (the broker places at random), or soon anyway.
    const latest = performance.now() + KILL_WAIT_MS;
    while (tally.inFlightOn(VICTIM) < KILL_WITH_TASKS && performance.now() < latest) {
      await interruptible(sleep(10), signal);
    }
    const onVictim = tally.inFlightOn(VICTIM);
    const lastBeat = cluster.health().nodes.find((n) => n.nodeId === VICTIM)?.at ?? Date.now();
    const killedAt = performance.now();
    const sinceBeatAtKill = Date.now() - lastBeat;
    victim.kill('SIGKILL');
    kill.at = killedAt;
    say(
      c.red(
        `SIGKILL ${VICTIM} (pid ${victim.pid ?? '?'}) with ${plural(onVictim, 'task')} in flight on it, ${sinceBeatAtKill} ms after its last heartbeat`,
      ),
    );
    const downAt = await interruptible(members.reached(VICTIM, ['down', 'removed']), signal, {
      ms: ttlMs + 15_000,
      what: `the driver seeing ${VICTIM} down`,
    });
    kill.downAt = downAt;
    const placedAtDown = new Map(NODE_IDS.map((id) => [id, tally.totalPlaced(id)]));
    say(
      `${c.bold(VICTIM)} ${c.red(members.state(VICTIM) ?? '?')} ${Math.round(downAt - killedAt)} ms after the SIGKILL, ${Math.round(downAt - killedAt + sinceBeatAtKill)} ms after its last heartbeat ${c.dim(`(TTL ${ttlMs} ms = 3 heartbeats of ${config.heartbeatMs} ms; gone from cluster.nodes())`)}`,
      downAt,
    );
    const exit = await victim.exited();

    // Placement goes on over the survivors until the end of the load.
    const loadEnds = loadStarted + config.seconds * 1_000;
    while (performance.now() < loadEnds || ticksAfterDown < TICKS_AFTER_DOWN) {
      await interruptible(sleep(100), signal);
    }
    clearInterval(ticker);
    const retried = tally.retries.filter((r) => r.from === VICTIM);
    const retriedTo = NODE_IDS.filter((id) => id !== VICTIM)
      .map((id) => `${id} ${retried.filter((r) => r.to === id).length}`)
      .join(', ');
    say(
      `recovery: ${retried.length} of the ${plural(onVictim, 'task')} on ${VICTIM} ran again on another node (${retriedTo}; idempotent: onPlaced fired twice) ${c.dim(`· ${VICTIM} exited ${exitText(exit)}`)}`,
    );
    say(
      `since ${VICTIM} was down: ${NODE_IDS.map((id) => `${id} took ${tally.totalPlaced(id) - (placedAtDown.get(id) ?? 0)}`).join(', ')} tasks · failed so far: ${tally.failed === 0 ? c.green('0') : c.red(tally.failed)}`,
    );

    // 4. The cluster-wide shutdown.
    load.stop();
    say(
      `stopping the load: no new task; ${tally.inFlight} in flight (${NODE_IDS.filter(
        (id) => id !== VICTIM,
      )
        .map((id) => `${id} ${tally.inFlightOn(id)}`)
        .join(', ')}) finish in the drain`,
    );
    // Every task in flight is on a node before the announcement: the drain finishes them.
    await interruptible(tally.allPlaced(), signal, { ms: 2_000, what: 'the last tasks placed' });
    say(
      c.bold(
        `cluster.shutdown({ reason: 'demo over' }): every node through SIGNALING → DRAINING → CLOSING in unison`,
      ),
    );
    const report = await interruptible(
      cluster.shutdown({ reason: 'demo over', timeoutMs: 30_000 }),
      signal,
    );
    await interruptible(load.settled(), signal, { ms: 10_000, what: 'the last tasks settling' });
    process.stdout.write(`\n${formatClusterReport(report, c)}\n`);
    if (!report.nodes.some((n) => n.nodeId === VICTIM)) {
      continued(
        c.dim(
          `(${VICTIM} is not in it: it was down before the shutdown began, so it was no participant)`,
        ),
      );
    }
    process.stdout.write('\n');
    await interruptible(cluster.closed(), signal, {
      ms: STOP_GRACE_MS,
      what: "the driver's connection closing",
    });
    const survivors = nodes.filter((n) => n !== victim);
    const exits = await interruptible(Promise.all(survivors.map((n) => n.exited())), signal, {
      ms: STOP_GRACE_MS,
      what: 'the nodes exiting',
    });
    say(
      `the driver left the cluster and closed its connection; ${survivors.map((n, i) => `${n.id} exited ${exitText(exits[i] ?? null)}`).join(', ')} ${c.dim('(by themselves, once their connection closed)')}`,
    );

    const t = tally;
    say(
      `tasks: submitted ${t.submitted} · completed ${t.completed} · failed ${t.failed === 0 ? c.green('0') : c.red(t.failed)}${[...t.failures].map(([code, n]) => ` (${code} ${n})`).join('')} · retried ${t.retries.length} · in flight ${t.inFlight}`,
    );
    const clean =
      t.failed === 0 &&
      t.inFlight === 0 &&
      exits.every((e) => e.code === 0) &&
      report.nodes.every((n) => n.outcome === 'stopped' || n.nodeId === VICTIM);
    exitCode = clean ? 0 : 1;
  } catch (error) {
    if (error instanceof Interrupted) {
      exitCode = 130;
    } else {
      process.stderr.write(
        `cluster demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      exitCode = 1;
    }
  } finally {
    clearInterval(ticker);
    pump?.stop();
    watch?.stop();
    // The nodes first (they drain what they took), then the driver, then the broker.
    const stopping = nodes.filter((n) => n.alive);
    if (stopping.length > 0) {
      say(`stopping ${stopping.map((n) => n.id).join(', ')} (SIGTERM)`);
    }
    await Promise.all(
      stopping.map((n) => n.stop(signal.aborted ? INTERRUPTED_GRACE_MS : STOP_GRACE_MS)),
    );
    if (troupe !== null && troupe.phase === 'running') {
      await troupe.shutdown({ reason: 'demo over' });
    }
    // Its troupe's stop made the driver leave; bounded: the broker may be gone (a Ctrl-C reaches it too).
    if (joined !== null) await within(joined.closed(), CLOSE_GRACE_MS);
    if (nats !== null) await nats.stop();
    const pids = nodes.map((n) => `${n.id} ${n.pid ?? '?'}`).join(', ');
    say(
      `${nodes.length === 0 ? 'no node process started' : `every node process exited (pids ${pids})`}; ${nats === null ? 'no nats-server started' : `nats-server stopped (port ${nats.port})`} ${c.dim(`· ${((performance.now() - t0) / 1_000).toFixed(1)} s in all`)}`,
    );
    process.off('SIGINT', onSigint);
    process.off('exit', onExit);
  }
  return exitCode;
}

/** `work`, or nothing after `ms`; leaves no timer behind. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function exitText(exit: NodeExit | null): string {
  if (exit === null) return '?';
  return exit.signal ?? `code ${String(exit.code)}`;
}

process.exitCode = await main();
// Everything is closed by now and the process ends by itself; if a broken
// broker connection still reconnects (the broker died first), do not hang.
setTimeout(() => {
  process.exit();
}, CLOSE_GRACE_MS).unref();
