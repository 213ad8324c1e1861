// A Troupe node process of the `cluster` scenario: a troupe hosting runners
// on the identity worker (one thread each), joined to the cluster. Env:
// NATS_URL, NODE_ID, CLUSTER (default 'bench'), RUNNERS (ids, comma
// separated; default 'echo'), HEARTBEAT_MS (default 1000). Prints the JSON
// line {"up": id} once joined. On SIGTERM, or when its stdin closes (the
// bench process is gone), it leaves the cluster, shuts the troupe down and
// exits.
import { joinCluster, type Cluster } from '@troupe/cluster';
import { createTroupe } from '@troupe/runtime';

const WORKER = new URL('../workers/identity.js', import.meta.url);

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

const servers = process.env.NATS_URL;
if (servers === undefined || servers === '') throw new Error('NATS_URL is not set');
const nodeId = process.env.NODE_ID ?? 'bench-node';
const runners = (process.env.RUNNERS ?? 'echo').split(',').filter(Boolean);

const troupe = createTroupe({ nodeId });
let cluster: Cluster | null = null;
let stopping = false;
const stop = async (reason: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  let code = 0;
  try {
    await cluster?.leave();
    await troupe.shutdown({ reason });
  } catch (error) {
    process.stderr.write(`node ${nodeId}: shutdown failed: ${String(error)}\n`);
    code = 1;
  }
  process.exit(code);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.stdin.once('end', () => void stop('stdin closed'));
process.stdin.resume();

for (const id of runners) await troupe.spawnRunner({ id, worker: WORKER, threads: 1 });
cluster = await joinCluster(troupe, {
  servers,
  cluster: process.env.CLUSTER ?? 'bench',
  heartbeatMs: Number(process.env.HEARTBEAT_MS ?? 1000),
});
print({ up: cluster.nodeId });
