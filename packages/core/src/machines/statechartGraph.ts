import type { AnyStateMachine, AnyStateNode } from 'xstate';
import {
  children,
  ownTransitions,
  stateLabel,
  stateNodes,
  transitionLabel,
} from './transitionLabels.js';

/** One state node of a {@link StatechartGraph}. */
export interface StatechartNode {
  /** The state node's id (`runner.running.load.busy`), unique in the machine. */
  readonly id: string;
  /** What a drawing writes on it: the key (`busy`), the machine id for the root. */
  readonly label: string;
  /** The parent's id; null for the root. */
  readonly parent: string | null;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** For a compound state, the id of its initial child. */
  readonly initial: string | null;
  /** Its tags. */
  readonly tags: readonly string[];
}

/** One transition of a {@link StatechartGraph}, from its source to one of its targets. */
export interface StatechartEdge {
  readonly source: string;
  /** The same as `source` for a transition that does not leave it. */
  readonly target: string;
  /** `threadUp`, `after signalingDeadline`, `done: drain`, `always [noReadinessDelay]`… */
  readonly label: string;
}

/** A machine's definition as plain data (JSON-safe): what a drawing lays out. */
export interface StatechartGraph {
  readonly machineId: string;
  /** Every state node, the root first, in document order. */
  readonly nodes: readonly StatechartNode[];
  /** Every transition, in document order; one edge per target. */
  readonly edges: readonly StatechartEdge[];
}

/**
 * A machine's definition as a plain graph: every state node with its parent
 * (nested states), and every transition as an edge per target, labelled as
 * in {@link toMermaid}. For a drawing in a browser (the dashboard lays it out
 * with elkjs), where the machine itself does not travel.
 *
 * @example
 * ```ts
 * import { shutdownMachine, statechartGraph } from '@troupe/core';
 *
 * const graph = statechartGraph(shutdownMachine);
 * graph.nodes.find((n) => n.id === 'shutdown.signaling.delaying')?.parent; // 'shutdown.signaling'
 * ```
 */
export function statechartGraph(machine: AnyStateMachine): StatechartGraph {
  const nodes: StatechartNode[] = [];
  const edges: StatechartEdge[] = [];
  for (const node of stateNodes(machine.root)) {
    nodes.push({
      id: node.id,
      label: stateLabel(node),
      parent: node.parent?.id ?? null,
      type: node.type,
      initial: initialOf(node),
      tags: [...node.tags],
    });
    for (const transition of ownTransitions(node)) {
      const label = transitionLabel(machine, node, transition);
      for (const target of transition.target ?? [node]) {
        edges.push({ source: node.id, target: target.id, label });
      }
    }
  }
  return { machineId: machine.id, nodes, edges };
}

function initialOf(node: AnyStateNode): string | null {
  if (node.type !== 'compound' || children(node).length === 0) return null;
  return node.initial.target[0]?.id ?? null;
}
