import type { Colors } from '../colors.js';
import type { WatchedState } from './MembershipWatch.js';
import type { NodeTick } from './PlacementTally.js';

/** What the driver knows of a node at a tick, beside its counts. */
export interface NodeTickView {
  /** Its membership state as the driver sees it (null: never seen). */
  readonly state: WatchedState | null;
  /** Its health from its last heartbeat (`cluster.health()`), if it is a member. */
  readonly health: { readonly score: number; readonly status: string } | null;
  /** How long ago its last heartbeat was written. */
  readonly heartbeatAgeMs: number | null;
  /** A remark at the end of the line (e.g. that it was killed). */
  readonly note: string | null;
}

/**
 * One node's line of the live placement: membership state, tasks it took
 * and tokens it streamed in the last second, tasks on it now, its health
 * score and how old its last heartbeat is.
 */
export function formatNodeTick(tick: NodeTick, view: NodeTickView, c: Colors): string {
  const state = view.state ?? 'unseen';
  const stateText = state.padEnd(8);
  const coloredState =
    state === 'up' ? c.green(stateText) : state === 'down' ? c.red(stateText) : c.yellow(stateText);
  const health =
    view.health === null
      ? c.dim('health –'.padEnd(21))
      : `health ${view.health.score.toFixed(2)} ${statusColor(view.health.status, c)(view.health.status.padEnd(9))}`;
  const heartbeat =
    view.heartbeatAgeMs === null
      ? ''
      : c.dim(`heartbeat ${Math.round(view.heartbeatAgeMs)} ms ago`);
  const parts = [
    `${c.bold(tick.nodeId)} ${coloredState}`,
    `${String(tick.placed).padStart(3)} tasks/s`,
    `${String(tick.tokens).padStart(4)} tokens/s`,
    `${String(tick.inFlight).padStart(2)} on it`,
    health,
    heartbeat,
  ];
  const line = parts.filter((p) => p !== '').join('  ');
  return view.note === null ? line : `${line}  ${c.red(view.note)}`;
}

function statusColor(status: string, c: Colors): (text: string) => string {
  if (status === 'healthy') return c.green;
  if (status === 'degraded') return c.yellow;
  return c.red;
}
