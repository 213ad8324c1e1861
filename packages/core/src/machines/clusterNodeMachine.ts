import { setup } from 'xstate';
import type { AfterEvent } from './internalEvents.js';

/** What a node says of itself in each heartbeat. */
export type ReportedNodeState = 'joining' | 'up' | 'leaving' | 'exiting';

/** The states of a node as the cluster sees it. */
export type ClusterNodeState = ReportedNodeState | 'down' | 'removed';

/** Namespaced event names of {@link clusterNodeMachine}. */
export const ClusterNodeEventTypes = {
  heartbeat: 'troupe.node.heartbeat',
  deleted: 'troupe.node.deleted',
} as const;

/** Events {@link clusterNodeMachine} accepts. */
export type ClusterNodeEvent =
  /** The node's membership entry was written (its heartbeat), with the state it reports. */
  | { readonly type: 'troupe.node.heartbeat'; readonly state: ReportedNodeState }
  /** The node deleted its entry: it left gracefully. */
  | { readonly type: 'troupe.node.deleted' };

/** The heartbeat deadlines of each live state. */
export type ClusterNodeInternalEvent =
  | AfterEvent<'heartbeatTtl', 'clusterNode.joining'>
  | AfterEvent<'heartbeatTtl', 'clusterNode.up'>
  | AfterEvent<'heartbeatTtl', 'clusterNode.leaving'>
  | AfterEvent<'heartbeatTtl', 'clusterNode.exiting'>;

/** Input of {@link clusterNodeMachine}. */
export interface ClusterNodeInput {
  readonly nodeId: string;
  /** A node whose heartbeat is not seen for this long is down (about three heartbeats). */
  readonly ttlMs: number;
}

const LIVE: readonly ReportedNodeState[] = ['joining', 'up', 'leaving', 'exiting'];

/** The transitions a heartbeat takes from `from`: to the state it reports, never back. */
function onHeartbeat(from: ReportedNodeState) {
  const later = LIVE.slice(LIVE.indexOf(from));
  return [
    ...later.map((to) => ({
      guard: { type: 'reports' as const, params: { state: to } },
      target: to,
      // Every heartbeat restarts the deadline.
      reenter: true,
    })),
    // An earlier state reported late: no step back, but a sign of life.
    ...(from === 'joining' ? [] : [{ target: from, reenter: true }]),
  ];
}

function live(state: ReportedNodeState) {
  return {
    tags: state === 'up' ? ['serving'] : [],
    on: {
      'troupe.node.heartbeat': onHeartbeat(state),
      'troupe.node.deleted': 'removed',
    },
    after: { heartbeatTtl: 'down' },
  } as const;
}

/**
 * One node of a cluster as every other node sees it, from its membership
 * entry: `joining → up → leaving → exiting → removed` as its heartbeats
 * report, and `down` when no heartbeat came for `ttlMs` (it died, or the
 * broker lost it). A heartbeat never moves a node back (a late `up` after
 * `leaving` is ignored but still counts as a sign of life). `down` and
 * `removed` are final: a node that comes back is a new incarnation, a new
 * actor. Tag `serving` while `up`: work is routed to it.
 *
 * @example
 * ```ts
 * const node = createActor(clusterNodeMachine, { input: { nodeId: 'b', ttlMs: 3_000 } }).start();
 * node.send({ type: 'troupe.node.heartbeat', state: 'up' });
 * ```
 */
export const clusterNodeMachine = setup({
  types: {
    context: {} as ClusterNodeInput,
    events: {} as ClusterNodeEvent | ClusterNodeInternalEvent,
    input: {} as ClusterNodeInput,
  },
  guards: {
    reports: ({ event }, params: { state: ReportedNodeState }) =>
      event.type === 'troupe.node.heartbeat' && event.state === params.state,
  },
  delays: {
    heartbeatTtl: ({ context }) => context.ttlMs,
  },
}).createMachine({
  id: 'clusterNode',
  context: ({ input }) => input,
  initial: 'joining',
  states: {
    joining: live('joining'),
    up: live('up'),
    leaving: live('leaving'),
    exiting: live('exiting'),
    down: { type: 'final' },
    removed: { type: 'final' },
  },
});
