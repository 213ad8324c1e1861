import type { TimedShutdownPhase } from '@troupe/core';
import type { ShutdownReport } from '@troupe/runtime';

/** Options of `cluster.shutdown()`. */
export interface ClusterShutdownOptions {
  readonly reason?: string;
  /**
   * How long the initiator waits for every node's report. A node that has
   * neither reported nor been seen down or gone by then is listed `lost`
   * (`why: 'timeout'`). Default 60 000 ms (each node's own phase deadlines
   * end its shutdown well before, 16 s in all by default).
   */
  readonly timeoutMs?: number;
}

/** How far a node of a cluster shutdown got: the last phase it finished. */
export type ClusterShutdownStep = TimedShutdownPhase | 'stopped';

/** One node in a {@link ClusterShutdownReport}. */
export interface ClusterShutdownNode {
  readonly nodeId: string;
  /** `stopped`: its report came; `lost`: it died, or left, or was silent past `timeoutMs`, without one. */
  readonly outcome: 'stopped' | 'lost';
  /** Why a lost node is lost: its heartbeat lapsed (`down`), it left without a report (`removed`), or `timeout`. */
  readonly why?: 'down' | 'removed' | 'timeout';
  /** The last phase it told the others it finished (`null`: none). */
  readonly lastPhase: ClusterShutdownStep | null;
  /** Its own shutdown report, as its troupe made it (`null` when lost). */
  readonly report: ShutdownReport | null;
}

/** The merged report of a cluster-wide shutdown. */
export interface ClusterShutdownReport {
  readonly id: string;
  readonly reason: string;
  /** The node that called `cluster.shutdown()`. */
  readonly initiator: string;
  /** Epoch ms when it was announced. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** Some node's shutdown was forced (a deadline missed), or a node was lost. */
  readonly forced: boolean;
  /** Ids of the lost nodes. */
  readonly lost: readonly string[];
  /**
   * For each phase, ms after the start when the last node still in the
   * cluster finished it (as the initiator heard): the phases in unison.
   * `null` when none did.
   */
  readonly phases: Readonly<Record<TimedShutdownPhase, number | null>>;
  /** Every participant (and any node that joined the shutdown late), sorted by id. */
  readonly nodes: readonly ClusterShutdownNode[];
}
