// 10. A cluster over NATS, really cross-process: a fresh nats-server, node
// processes (src/cluster/node.ts) and raw responders
// (src/cluster/rawResponder.ts) as children of the bench process.
// (a) Sequential round trips of a tiny task: `cluster.runner('echo').run(i)`
// from a client troupe to one node (one thread) vs a raw `nc.request()` to a
// raw responder running the same identity task on a raw piscina pool of one
// thread (like for like, the target), and vs a raw responder that replies at
// once (no thread, informational). (b) Throughput with 64 tasks in flight
// over 1, 2 and 3 node processes: `echo` is on node 1 only, `spread2` on
// nodes 1-2, `spread3` on nodes 1-3 (one thread each), so every process
// stays up and rounds rotate over the node counts.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { joinCluster, type Cluster, type ClusterRunner } from '@troupe/cluster';
import { createTroupe, type Troupe } from '@troupe/runtime';
import { startNatsServer, type NatsServer } from '@troupe/testing';
import { row, type BenchContext, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { pump, rotate, sleep, timed } from '../timing.js';

const NODE = new URL('../cluster/node.js', import.meta.url);
const RAW_RESPONDER = new URL('../cluster/rawResponder.js', import.meta.url);
const CLUSTER = 'bench';
const HEARTBEAT_MS = 1_000;
const ROUND_TRIPS = 2_000;
const IN_FLIGHT = 64;
const TASKS = 10_000;
const WARMUP_TASKS = 2_000;
const NODE_COUNTS = [1, 2, 3] as const;
/** Deadlines (not waits): a child that is not up by then fails the scenario. */
const UP_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;
const POLL_MS = 10;
const RAW_PISCINA = 'bench.raw.piscina';
const RAW_DIRECT = 'bench.raw.direct';

type RoundTripSide = 'troupe' | 'natsPiscina' | 'natsDirect';
type NodeCount = (typeof NODE_COUNTS)[number];

/** The runner served by the first `count` nodes. */
const spreadRunner = (count: NodeCount): string => (count === 1 ? 'echo' : `spread${count}`);

/** The runners node `k` (1-based) hosts: every `spreadRunner(count)` with `count >= k`. */
function runnersOf(k: number): string[] {
  return NODE_COUNTS.filter((count) => count >= k).map(spreadRunner);
}

/**
 * Starts a child process running `script` and resolves with the id of its
 * `{"up": id}` line. The child is in `children` at once, so a caller's
 * cleanup stops it even when it never comes up.
 */
function launch(
  name: string,
  script: URL,
  env: Record<string, string>,
  children: ChildProcess[],
): Promise<string> {
  const child = spawn(process.execPath, [fileURLToPath(script)], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buffer = '';
    const settle = (outcome: () => void): void => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      child.stdout.resume();
      outcome();
    };
    const onData = (chunk: string): void => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let message: unknown;
        try {
          message = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof message === 'object' && message !== null && 'up' in message) {
          const id = String(message.up);
          settle(() => {
            resolve(id);
          });
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      settle(() => {
        reject(new Error(`${name} exited (${String(code ?? signal)}) before it was up`));
      });
    };
    const onError = (error: Error): void => {
      settle(() => {
        reject(error);
      });
    };
    const timer = setTimeout(() => {
      settle(() => {
        reject(new Error(`${name} did not print {"up"} within ${UP_TIMEOUT_MS} ms`));
      });
    }, UP_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM (a graceful leave), then SIGKILL past the deadline. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), EXIT_TIMEOUT_MS);
  });
  const outcome = await Promise.race([exited(child), late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    child.kill('SIGKILL');
    await exited(child);
  }
}

/** Polls the client's view until `nodeId` is `up` and serves every runner of `runners`. */
async function untilServing(cluster: Cluster, nodeId: string, runners: string[]): Promise<void> {
  const start = performance.now();
  for (;;) {
    const view = cluster.nodes().find((n) => n.nodeId === nodeId);
    if (view?.state === 'up' && runners.every((r) => view.entry.runners.includes(r))) return;
    if (performance.now() - start > UP_TIMEOUT_MS) {
      throw new Error(
        `the client did not see node ${nodeId} up serving ${runners.join(', ')} within ${UP_TIMEOUT_MS} ms (saw ${view?.state ?? 'nothing'})`,
      );
    }
    await sleep(POLL_MS);
  }
}

/** The identity task's answer must be its input: a bench of wrong answers measures nothing. */
function expectEcho(sent: number, got: unknown): void {
  if (got !== sent) throw new Error(`expected the echo of ${sent}, got ${JSON.stringify(got)}`);
}

async function sequential(run: (i: number) => Promise<unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await run(i);
}

/** Runs every cleanup step, even past a failing one; logs the failures. */
async function cleanUp(
  ctx: BenchContext,
  steps: readonly (readonly [string, () => Promise<unknown>])[],
): Promise<void> {
  for (const [what, step] of steps) {
    try {
      await step();
    } catch (error) {
      ctx.log(`cleanup: ${what} failed: ${String(error)}`);
    }
  }
}

export const cluster: Scenario = {
  name: 'cluster',
  title: `cluster over NATS, cross-process: sequential round trips, and ${IN_FLIGHT} in flight over 1-3 nodes`,
  async run(ctx) {
    let nats: NatsServer | null = null;
    let client: Troupe | null = null;
    let clientCluster: Cluster | null = null;
    let raw: NatsConnection | null = null;
    const children: ChildProcess[] = [];
    const us: Record<RoundTripSide, number[]> = { troupe: [], natsPiscina: [], natsDirect: [] };
    const perSecond: Record<NodeCount, number[]> = { 1: [], 2: [], 3: [] };
    try {
      nats = await startNatsServer();
      const url = nats.url;
      client = createTroupe({ nodeId: 'bench-client' });
      clientCluster = await joinCluster(client, {
        servers: url,
        cluster: CLUSTER,
        heartbeatMs: HEARTBEAT_MS,
      });
      raw = await connect({ servers: url, name: 'bench-raw-client' });

      const nodeIds = NODE_COUNTS.map((k) => `bench-node-${k}`);
      const up = await Promise.all([
        ...NODE_COUNTS.map((k) =>
          launch(
            `node ${k}`,
            NODE,
            {
              NATS_URL: url,
              NODE_ID: `bench-node-${k}`,
              CLUSTER,
              RUNNERS: runnersOf(k).join(','),
              HEARTBEAT_MS: String(HEARTBEAT_MS),
            },
            children,
          ),
        ),
        launch(
          'raw responder (piscina)',
          RAW_RESPONDER,
          { NATS_URL: url, SUBJECT: RAW_PISCINA, MODE: 'piscina' },
          children,
        ),
        launch(
          'raw responder (direct)',
          RAW_RESPONDER,
          { NATS_URL: url, SUBJECT: RAW_DIRECT, MODE: 'direct' },
          children,
        ),
      ]);
      ctx.log(`up: ${up.join(', ')}`);
      const seen = clientCluster;
      await Promise.all(
        NODE_COUNTS.map((k, i) => untilServing(seen, nodeIds[i] as string, runnersOf(k))),
      );

      // (a) Round trips, one at a time.
      const echo = seen.runner('echo');
      const rawClient = raw;
      const request = async (subject: string, i: number): Promise<void> => {
        const msg = await rawClient.request(subject, JSON.stringify(i), { timeout: 5_000 });
        expectEcho(i, msg.json());
      };
      const roundTrip: Record<RoundTripSide, (i: number) => Promise<unknown>> = {
        troupe: async (i) => {
          expectEcho(i, await echo.run(i));
        },
        natsPiscina: (i) => request(RAW_PISCINA, i),
        natsDirect: (i) => request(RAW_DIRECT, i),
      };
      const sides: RoundTripSide[] = ['troupe', 'natsPiscina', 'natsDirect'];
      const rounds = Math.max(3, ctx.rounds);
      // Round -1 is a whole warm-up round, discarded.
      for (let r = -1; r < rounds; r++) {
        const round: Partial<Record<RoundTripSide, number>> = {};
        for (const side of rotate(sides, r + 1)) {
          const ms = await timed(() => sequential(roundTrip[side], ROUND_TRIPS));
          round[side] = (ms * 1000) / ROUND_TRIPS;
        }
        if (r < 0) {
          ctx.log(
            'round trips warm-up (discarded): ' +
              sides.map((s) => `${s} ${(round[s] ?? 0).toFixed(0)} µs`).join(', '),
          );
          continue;
        }
        for (const side of sides) us[side].push(round[side] ?? 0);
        ctx.log(
          `round trips ${r + 1}/${rounds}: ` +
            sides.map((s) => `${s} ${(us[s].at(-1) ?? 0).toFixed(0)} µs`).join(', '),
        );
      }

      // (b) Throughput over 1, 2 and 3 nodes.
      const spread: Record<NodeCount, ClusterRunner> = {
        1: seen.runner(spreadRunner(1)),
        2: seen.runner(spreadRunner(2)),
        3: seen.runner(spreadRunner(3)),
      };
      const load = (k: NodeCount, n: number): Promise<number> =>
        pump(
          async (i) => {
            expectEcho(i, await spread[k].run(i));
          },
          n,
          IN_FLIGHT,
        );
      for (const k of NODE_COUNTS) await load(k, WARMUP_TASKS);
      for (let r = 0; r < rounds; r++) {
        for (const k of rotate(NODE_COUNTS, r)) {
          const ms = await load(k, TASKS);
          perSecond[k].push((TASKS / ms) * 1000);
        }
        ctx.log(
          `throughput ${r + 1}/${rounds}: ` +
            NODE_COUNTS.map(
              (k) => `${k} node${k === 1 ? '' : 's'} ${Math.round(perSecond[k].at(-1) ?? 0)}/s`,
            ).join(', '),
        );
      }
    } finally {
      await cleanUp(ctx, [
        ['leaving the cluster', async () => clientCluster?.leave()],
        ['the client troupe shutdown', async () => client?.shutdown({ reason: 'bench done' })],
        ['draining the raw client', async () => raw?.drain()],
        ['stopping the child processes', () => Promise.all(children.map(stopChild))],
        ['stopping nats-server', async () => nats?.stop()],
      ]);
    }
    const scenario = '10 cluster';
    const twoCores =
      'no target: this machine has 2 cores for the client, the broker and every node';
    const rows: Row[] = [
      row({
        scenario,
        metric: "round trip cluster.runner('echo').run(i), sequential, 1 node, 1 thread",
        unit: 'µs/task',
        troupe: median(us.troupe),
        baseline: median(us.natsPiscina),
        baselineName: 'NATS request + piscina',
        target: { on: 'ratio', op: '<=', limit: 1.3 },
        samples: { troupe: us.troupe, baseline: us.natsPiscina },
      }),
      row({
        scenario,
        metric: 'extra: run(i) vs raw NATS request answered at once',
        unit: 'µs/task',
        troupe: median(us.troupe),
        baseline: median(us.natsDirect),
        baselineName: 'NATS request',
        note: 'informational: the raw responder runs no thread, so this is the cost of the thread hop plus Troupe',
        samples: { troupe: us.troupe, baseline: us.natsDirect },
      }),
      row({
        scenario,
        metric: `tasks/s, ${IN_FLIGHT} in flight, 1 node (1 thread)`,
        unit: 'tasks/s',
        troupe: median(perSecond[1]),
        note: twoCores,
        samples: { troupe: perSecond[1] },
      }),
      ...([2, 3] as const).map((k) =>
        row({
          scenario,
          metric: `tasks/s, ${IN_FLIGHT} in flight, ${k} nodes vs 1 node`,
          unit: 'tasks/s',
          troupe: median(perSecond[k]),
          baseline: median(perSecond[1]),
          baselineName: '1 node',
          note: twoCores,
          samples: { troupe: perSecond[k], baseline: perSecond[1] },
        }),
      ),
    ];
    return rows;
  },
};
