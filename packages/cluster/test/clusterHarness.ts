// The harness of the cluster tests: a real nats-server, node processes
// (fixtures/node.mjs) that print JSON lines, and this process as a client
// node. `useCluster()` sets it up per file and tears everything down.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { joinCluster, type Cluster } from '@troupe/cluster';
import { createTroupe, type Troupe } from '@troupe/runtime';
import { startNatsServer, type NatsServer } from '@troupe/testing';
import { afterAll, afterEach, beforeAll } from 'vitest';

export const HEARTBEAT_MS = 250;

export type Line = Record<string, unknown>;

export interface Node {
  readonly id: string;
  readonly child: ChildProcess;
  readonly lines: Line[];
  readonly exited: Promise<number | null>;
  /** The first line (seen or to come) that passes `test`. */
  line(test: (line: Line) => boolean): Promise<Line>;
}

export interface ClusterHarness {
  readonly nats: () => NatsServer;
  startNode(id: string, runners: string[], env?: Record<string, string>): Promise<Node>;
  /** This process as a node with no runners, `client-<cluster>`. */
  clientNode(cluster?: string): Promise<{ troupe: Troupe; cluster: Cluster }>;
}

/** Starts a nats-server for the file; kills every node and shuts the client down after each test. */
export function useCluster(): ClusterHarness {
  let nats: NatsServer | null = null;
  const nodes: Node[] = [];
  const clients: Troupe[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) {
      node.child.kill('SIGKILL');
      await node.exited;
    }
    await Promise.all(clients.splice(0).map((t) => t.shutdown()));
  });
  afterAll(async () => {
    await nats?.stop();
  });
  const server = (): NatsServer => {
    if (nats === null) throw new Error('the nats-server is not started yet');
    return nats;
  };
  return {
    nats: server,
    startNode(id, runners, env = {}) {
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL('./fixtures/node.mjs', import.meta.url))],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: {
            ...process.env,
            NATS_URL: server().url,
            NODE_ID: id,
            RUNNERS: runners.join(','),
            HEARTBEAT_MS: String(HEARTBEAT_MS),
            ...env,
          },
        },
      );
      const lines: Line[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n')) >= 0) {
          lines.push(JSON.parse(buffer.slice(0, at)) as Line);
          buffer = buffer.slice(at + 1);
          for (const wake of [...waiters]) wake();
        }
      });
      const node: Node = {
        id,
        child,
        lines,
        exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
        line: (test) =>
          new Promise((resolve) => {
            const check = (): void => {
              const found = lines.find(test);
              if (found === undefined) return;
              waiters.delete(check);
              resolve(found);
            };
            waiters.add(check);
            check();
          }),
      };
      nodes.push(node);
      return node.line((l) => l.up === id).then(() => node);
    },
    async clientNode(cluster = 'troupe') {
      const troupe = createTroupe({ nodeId: `client-${cluster}` });
      clients.push(troupe);
      const joined = await joinCluster(troupe, {
        servers: server().url,
        heartbeatMs: HEARTBEAT_MS,
        cluster,
      });
      return { troupe, cluster: joined };
    },
  };
}

/** Until `cluster` sees every one of `ids` up (woken by each member's state change). */
export function seesUp(cluster: Cluster, ids: string[]): Promise<void> {
  const allUp = (): boolean => {
    const up = new Set(
      cluster
        .nodes()
        .filter((n) => n.state === 'up')
        .map((n) => n.nodeId),
    );
    return ids.every((id) => up.has(id));
  };
  if (allUp()) return Promise.resolve();
  return new Promise((resolve) => {
    const off = cluster.onNodeChange(() => {
      if (!allUp()) return;
      off();
      resolve();
    });
  });
}

/**
 * Something tests wait on: `notify()` where it changes (a task completed,
 * a task was placed), `until(test)` resolves once `test()` holds, checked
 * at each notify; past `withinMs` it rejects naming `what`.
 */
export interface Progress {
  notify(): void;
  until(test: () => boolean, what?: string, withinMs?: number): Promise<void>;
}

export function progress(): Progress {
  const waiters = new Set<() => void>();
  return {
    notify() {
      for (const wake of [...waiters]) wake();
    },
    until(test, what = 'the condition', withinMs = 30_000) {
      if (test()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`not within ${withinMs} ms: ${what}`));
        }, withinMs);
        const check = (): void => {
          if (!test()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
  };
}
