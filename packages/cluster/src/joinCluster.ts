import { randomUUID } from 'node:crypto';
import { Kvm } from '@nats-io/kv';
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { InvalidConfigError, ClusterUnavailableError } from '@troupe/core';
import type { Troupe } from '@troupe/runtime';
import { ClusterRunner } from './ClusterRunner.js';
import { ClusterShutdown } from './ClusterShutdown.js';
import { ConnectionWatch } from './ConnectionWatch.js';
import { ReplyRouter } from './ReplyRouter.js';
import type { ClusterShutdownOptions, ClusterShutdownReport } from './ClusterShutdownReport.js';
import { Membership, type ClusterNodeView } from './Membership.js';
import { NodeServer } from './NodeServer.js';
import { subjectsOf } from './subjects.js';
import type { NodeEntry } from './wire.js';

/** Options of {@link joinCluster}. */
export interface ClusterOptions {
  /** NATS servers: `'nats://127.0.0.1:4222'` or several. */
  readonly servers: string | readonly string[];
  /** Namespaces every subject and the membership bucket: two clusters on one broker never mix. Default `'troupe'`. */
  readonly cluster?: string;
  /** This node's id in the cluster. Default the troupe's `nodeId`. */
  readonly nodeId?: string;
  /** How often this node puts its heartbeat. A node silent for three heartbeats is down. Default 1000. */
  readonly heartbeatMs?: number;
  /** A task no node took (acknowledged) within this is `ERR_NO_NODE`. Default 2000. */
  readonly ackTimeoutMs?: number;
  /**
   * Passed to the NATS client as they are: `user`/`pass`, `token`,
   * `authenticator` (NKeys, credentials files), `tls`, reconnect settings…
   * (`servers` and `name` are set from the options above).
   */
  readonly connection?: Omit<ConnectionOptions, 'servers'>;
  /** Errors of the membership (a heartbeat that failed, a broken watch). Default: ignored, the deadlines decide. */
  readonly onError?: (error: unknown) => void;
}

/** The health of every node, as their heartbeats published it. */
export interface ClusterHealth {
  readonly at: number;
  readonly nodes: readonly {
    readonly nodeId: string;
    readonly state: ClusterNodeView['state'];
    readonly runners: readonly string[];
    readonly health: NodeEntry['health'];
    /** Epoch ms of the heartbeat that carried it. */
    readonly at: number;
  }[];
}

/** This node's handle on the cluster. */
export interface Cluster {
  readonly nodeId: string;
  /** The cluster's name. */
  readonly name: string;
  /** A runner of the cluster: tasks go to a node that hosts a runner of that id. */
  runner(name: string): ClusterRunner;
  /** Every member this node sees, with its state and last heartbeat. */
  nodes(): ClusterNodeView[];
  /** Every node's health, from their heartbeats. */
  health(): ClusterHealth;
  /**
   * Called on each member's state change as this node sees it, `down` and
   * `removed` included (`nodes()` no longer lists a member once it is
   * either). Returns the unsubscribe function.
   *
   * @example
   * ```ts
   * cluster.onNodeChange(({ nodeId, state }) => {
   *   if (state === 'down') console.warn(`${nodeId} stopped answering`);
   * });
   * ```
   */
  onNodeChange(listener: (view: ClusterNodeView) => void): () => void;
  /**
   * Leaves gracefully while the others keep serving: this node says
   * `leaving` and takes no new task, finishes those it took, says
   * `exiting`, deletes its entry (the others see it `removed`) and closes
   * its connection. The troupe itself keeps running. The troupe's shutdown
   * does this too.
   */
  leave(): Promise<void>;
  /**
   * Shuts the whole cluster down, this node included: every node's
   * shutdown coordinator goes through SIGNALING → DRAINING → CLOSING in
   * unison (every node has stopped taking cluster tasks and signalled its
   * runners before any drains, and so on), each phase under each node's
   * own deadline; a node that dies mid-shutdown holds the others no longer
   * than the heartbeat TTL. Each node closes its broker connection last,
   * after its own resources. Resolves with the merged report: every node's
   * own report, and the nodes lost on the way.
   *
   * @example
   * ```ts
   * const report = await cluster.shutdown({ reason: 'deploy' });
   * console.log(report.nodes.map((n) => `${n.nodeId}: ${n.outcome}`), report.lost);
   * ```
   */
  shutdown(options?: ClusterShutdownOptions): Promise<ClusterShutdownReport>;
  /** Resolves once this node left the cluster and its connection is closed. */
  closed(): Promise<void>;
}

const DEFAULT_HEARTBEAT_MS = 1_000;

/** `promise`, or a ClusterUnavailableError naming `what` after `ms`. */
async function within(promise: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => {
          reject(
            new ClusterUnavailableError(`${what}: the broker did not answer within ${ms} ms`, {
              context: { operation: 'shutdown' },
            }),
          );
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Joins `troupe` to a cluster of Troupe nodes over NATS. Membership is a KV
 * bucket (`troupe_<cluster>_nodes`) with a TTL of three heartbeats; each
 * member is a statechart (`clusterNodeMachine`). This node serves its
 * runners to the cluster (a NATS queue group per runner id: the broker
 * spreads tasks over the nodes that host it) and can run tasks on the
 * others' (`cluster.runner(id).run(...)`). Resolves once this node is `up`.
 * The troupe's shutdown leaves the cluster: from SIGNALING on this node
 * takes no new cluster task; once stopped it deletes its entry and closes
 * the connection.
 *
 * @example
 * ```ts
 * const cluster = await joinCluster(troupe, { servers: 'nats://127.0.0.1:4222' });
 * const value = await cluster.runner('embed').run('some text');
 * ```
 */
export async function joinCluster(troupe: Troupe, options: ClusterOptions): Promise<Cluster> {
  const name = options.cluster ?? 'troupe';
  let subjects;
  try {
    subjects = subjectsOf(name);
  } catch (error) {
    throw new InvalidConfigError(`invalid "cluster": ${(error as Error).message}`, {
      context: { operation: 'join' },
    });
  }
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  if (!Number.isFinite(heartbeatMs) || heartbeatMs < 50) {
    throw new InvalidConfigError(
      `invalid "heartbeatMs": expected a number of ms of at least 50; got ${String(options.heartbeatMs)}`,
      { context: { operation: 'join' } },
    );
  }
  const nodeId = options.nodeId ?? troupe.nodeId;
  const onError = options.onError ?? (() => {});
  const incarnation = randomUUID();
  let nc: NatsConnection;
  try {
    nc = await connect({
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      ...options.connection,
      servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
      name: `troupe:${name}:${nodeId}`,
    });
  } catch (error) {
    throw new ClusterUnavailableError(
      `could not connect to the cluster's broker (${String(options.servers)}): ${(error as Error).message}`,
      { cause: error, context: { operation: 'join' } },
    );
  }
  const ttlMs = heartbeatMs * 3;
  const kv = await new Kvm(nc).create(subjects.bucket, { ttl: ttlMs, history: 1 });
  const watch = new ConnectionWatch(nc, onError);
  const replies = new ReplyRouter(nc);
  const server = new NodeServer({ nc, subjects, troupe, nodeId, watch });
  let state: NodeEntry['state'] = 'joining';
  const entry = (): NodeEntry => {
    const health = troupe.health();
    return {
      nodeId,
      incarnation,
      state,
      runners: server.hosted,
      health: {
        score: health.score,
        status: health.status,
        ready: health.ready,
        runners: health.runners.map((r) => ({ id: r.id, score: r.score, status: r.status })),
      },
      at: Date.now(),
    };
  };
  const membership = new Membership({
    kv,
    heartbeatMs,
    ttlMs,
    entry,
    onError: (error) => {
      onError(error);
    },
    track: (actor) => {
      troupe.track(actor);
    },
  });
  server.sync();
  const onRunner = (): void => {
    server.sync();
  };
  troupe.on('runner:state', onRunner);
  watch.onReconnect(() => {
    membership.reconnected();
  });
  await membership.start();
  state = 'up';
  await membership.beat();

  let leaving: Promise<void> | null = null;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  // Each step of a leave talks to the broker: none may hang it when the broker is gone.
  const leaveStepMs = Math.max(options.ackTimeoutMs ?? 2_000, ttlMs);
  // With the broker away there is no one to tell: the step is skipped (its work still starts).
  const step = async (what: string, work: () => Promise<unknown>): Promise<void> => {
    const started = work();
    started.catch(() => {});
    if (!watch.connected || nc.isClosed()) return;
    await within(started, leaveStepMs, what).catch(onError);
  };
  const leave = (): Promise<void> => {
    leaving ??= (async () => {
      troupe.off('runner:state', onRunner);
      clusterShutdown.unlisten();
      state = 'leaving';
      await step('the leaving heartbeat', () => membership.beat());
      await step('no new task', () => server.stopServing());
      await server.idle();
      state = 'exiting';
      await step('the exiting heartbeat', () => membership.beat());
      await step('deleting the entry', () => membership.remove(nodeId));
      membership.stop();
      // Drained when the broker answers; closed at once when it does not.
      if (watch.connected && !nc.isClosed()) {
        await within(nc.drain(), leaveStepMs, 'draining the connection').catch(async () => {
          await nc.close().catch(() => {});
        });
      } else {
        await nc.close().catch(() => {});
      }
      await nc.closed();
      markClosed();
    })();
    return leaving;
  };
  const clusterShutdown = new ClusterShutdown({
    nc,
    subjects,
    troupe,
    nodeId,
    membership,
    stopServing: () => server.stopServing(),
    leave,
    onError,
  });
  clusterShutdown.listen();
  // The troupe's shutdown: no new cluster work from SIGNALING on; gone once stopped.
  const onPhase = ({ phase }: { phase: string }): void => {
    if (phase === 'signaling') {
      state = 'leaving';
      void membership.beat().catch(() => {});
      server.stopServing().catch(onError);
    } else if (phase === 'stopped') {
      troupe.off('shutdown:phase', onPhase);
      // In a cluster shutdown this node leaves once its report is out.
      if (!clusterShutdown.active) leave().catch(onError);
    }
  };
  troupe.on('shutdown:phase', onPhase);

  return {
    nodeId,
    name,
    runner: (runnerName) =>
      new ClusterRunner({
        name: runnerName,
        nc,
        subjects,
        membership,
        nodeId,
        ackTimeoutMs: options.ackTimeoutMs ?? 2_000,
        watch,
        replies,
      }),
    nodes: () => membership.nodes(),
    health: () => ({
      at: Date.now(),
      nodes: membership.nodes().map((n) => ({
        nodeId: n.nodeId,
        state: n.state,
        runners: n.entry.runners,
        health: n.entry.health,
        at: n.entry.at,
      })),
    }),
    onNodeChange: (listener) =>
      membership.onChange((view) => {
        try {
          listener(view);
        } catch (error) {
          onError(error);
        }
      }),
    leave,
    shutdown: (shutdownOptions) => clusterShutdown.initiate(shutdownOptions),
    closed: () => closed,
  };
}
