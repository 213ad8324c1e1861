// One node of the cluster demo, a process of its own: a troupe with one
// inference runner ("llm", the single-node demo's worker: it loads a fake
// model in each thread and streams tokens), joined to the cluster over NATS.
// The driver (main.ts) starts it with the NodeEnv variables and reads the
// NodeLine JSON lines it prints. A cluster shutdown stops its troupe; so do
// SIGTERM and the driver going away (its stdin closes, even on a SIGKILL).
import { joinCluster } from '@troupe/cluster';
import { createTroupe } from '@troupe/runtime';
import type { InferenceWorkerData } from '../protocol.js';
import type { NodeEnv, NodeLine } from './NodeLine.js';

/** Still running this long after its troupe stopped: something leaked (or the broker is gone); exit 1. */
const EXIT_GRACE_MS = 5_000;

const env = process.env as Partial<NodeEnv>;
const nodeId = env.NODE_ID ?? `node-${process.pid}`;
const print = (line: NodeLine): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const troupe = createTroupe({
  nodeId,
  health: { intervalMs: 500 },
  shutdown: { signalingMs: 1_000, drainingMs: 5_000, closingMs: 3_000 },
});
troupe.on('shutdown:phase', ({ phase, reason }) => {
  if (phase === 'signaling') print({ stopping: nodeId, reason });
  if (phase !== 'stopped') return;
  print({ stopped: nodeId });
  // Does not keep the process alive; fires only if something else does.
  setTimeout(() => {
    process.stderr.write(`${nodeId}: still running ${EXIT_GRACE_MS} ms after its troupe stopped\n`);
    process.exit(1);
  }, EXIT_GRACE_MS).unref();
});
const stop = (reason: string): void => {
  if (troupe.phase === 'running') void troupe.shutdown({ reason });
};
process.once('SIGTERM', () => {
  stop('SIGTERM');
});
// The driver owns this process (it starts it in a process group of its
// own, so a Ctrl-C reaches the driver only); if the driver is gone, so are we.
process.stdin.once('close', () => {
  stop('driver gone');
});
process.stdin.resume();
process.stdin.unref();

const model: InferenceWorkerData = {
  modelFloats: 1 << 20, // 4 MB of weights per thread
  loadMs: 150,
  tokenMs: Number(env.TOKEN_MS ?? 20),
  crashRate: 0,
};
try {
  await troupe.spawnRunner({
    id: 'llm',
    worker: new URL('../worker.js', import.meta.url),
    threads: 2,
    workerData: model,
    taskTimeoutMs: 15_000,
  });
  const cluster = await joinCluster(troupe, {
    servers: env.NATS_URL ?? 'nats://127.0.0.1:4222',
    cluster: env.CLUSTER ?? 'demo',
    heartbeatMs: Number(env.HEARTBEAT_MS ?? 500),
  });
  print({ up: cluster.nodeId, pid: process.pid });
  // Its troupe is shut down by the cluster shutdown (or SIGTERM); then it
  // leaves, closes its connection, and the process ends by itself.
  await cluster.closed();
} catch (error) {
  process.stderr.write(
    `${nodeId} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  await troupe.shutdown({ reason: 'startup failed' });
  process.exitCode = 1;
}
