import type { Cluster, ClusterNodeView } from '@troupe/cluster';

/** A member's state as the driver last saw it: `down` or `removed` once it is gone. */
export type WatchedState = ClusterNodeView['state'];

/**
 * Follows `cluster.nodes()` closely (every `everyMs`): when each member
 * changed state, and when it was gone. `cluster.nodes()` lists live members
 * only: `down` and `removed` are final states of a member's statechart and
 * the member is dropped as it enters one. So a member gone from the list is
 * `removed` if it had said `exiting` (it deleted its entry: a graceful
 * leave), else `down` (its heartbeat lapsed for the TTL).
 */
export class MembershipWatch {
  readonly #cluster: Cluster;
  readonly #states = new Map<string, { state: WatchedState; since: number }>();
  readonly #waiters = new Set<() => void>();
  readonly #timer: NodeJS.Timeout;

  constructor(cluster: Cluster, everyMs = 10) {
    this.#cluster = cluster;
    this.#poll();
    this.#timer = setInterval(() => {
      this.#poll();
    }, everyMs);
  }

  /** `nodeId`'s state, or null if it was never seen. */
  state(nodeId: string): WatchedState | null {
    return this.#states.get(nodeId)?.state ?? null;
  }

  /** Resolves with `performance.now()` of the poll that first saw `nodeId` in one of `states`. */
  reached(nodeId: string, states: readonly WatchedState[]): Promise<number> {
    return new Promise((resolve) => {
      const check = (): void => {
        const seen = this.#states.get(nodeId);
        if (seen === undefined || !states.includes(seen.state)) return;
        this.#waiters.delete(check);
        resolve(seen.since);
      };
      this.#waiters.add(check);
      check();
    });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#waiters.clear();
  }

  #poll(): void {
    const now = performance.now();
    const live = new Map(this.#cluster.nodes().map((n) => [n.nodeId, n.state] as const));
    for (const [nodeId, state] of live) {
      if (this.#states.get(nodeId)?.state !== state)
        this.#states.set(nodeId, { state, since: now });
    }
    for (const [nodeId, seen] of this.#states) {
      if (live.has(nodeId) || seen.state === 'down' || seen.state === 'removed') continue;
      this.#states.set(nodeId, {
        state: seen.state === 'exiting' ? 'removed' : 'down',
        since: now,
      });
    }
    for (const wake of [...this.#waiters]) wake();
  }
}
