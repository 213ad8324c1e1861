import type { AnyStateMachine, AnyStateNode } from 'xstate';
import {
  children,
  ownTransitions,
  stateLabel,
  stateNodes,
  transitionLabel,
} from './transitionLabels.js';

/** Options of {@link toMermaid}. */
export interface ToMermaidOptions {
  /** Title of the diagram (Mermaid front matter). */
  readonly title?: string;
}

const INDENT = '  ';

/**
 * Mermaid's lexer reads `default` as a keyword at the start of any token
 * (case insensitive), and `root` is the id of its top-level document: such
 * a state id is prefixed with `s_`.
 */
const RESERVED = /^(default|root$)/i;

/**
 * Renders an XState v5 machine as a Mermaid `stateDiagram-v2`, from its
 * definition: every state node (nested states as composite states, parallel
 * regions separated by `--`, `[*] -->` the initial state of each compound
 * state, final states `--> [*]`) and every transition of the definition as
 * an edge from its source to each of its targets. A transition without a
 * target (actions only, the state is not left) is drawn as a loop on its
 * source; one that re-enters its source says `(reenter)`. Transitions
 * between the same two states share one edge, a line of its label each
 * (joined by `<br>`), in the order of the definition (the order in which
 * their guards are tried).
 *
 * Edge labels: the event type (`troupe.runner.threadUp` shortened to
 * `threadUp`), `after <delay>` for delayed transitions, `done: <src>` and
 * `error: <src>` for the completion and failure of an invoked actor,
 * `done` for the completion of a compound state, `always` for eventless
 * transitions; then ` [guard]` when guarded (`and`, `or`, `not` and
 * `stateIn` spelled out, parameters in parentheses).
 *
 * Each state's Mermaid id is its full state node id with every character
 * other than a letter or digit replaced by `_` (`runner_running_load_busy`),
 * labelled with its key (`state "busy" as runner_running_load_busy`).
 * Characters Mermaid reads as syntax (`:`, `;`, `"`, `<`, `>`, `#`) are
 * written as its entity codes (`#58;` for `:`). The output is deterministic: states and
 * transitions in the order of the definition.
 *
 * Every transition edge is written at the top level, after all states are
 * declared: Mermaid moves a state into the composite state where an edge
 * that names it is written, so an edge between states of different
 * composite states must not be written inside either of them.
 *
 * @example
 * ```ts
 * import { runnerMachine, toMermaid } from '@troupe/core';
 *
 * const diagram = toMermaid(runnerMachine, { title: 'runner' });
 * // ---
 * // title: "runner"
 * // ---
 * // stateDiagram-v2
 * //   state "runner" as runner {
 * // ...
 * ```
 */
export function toMermaid(machine: AnyStateMachine, options: ToMermaidOptions = {}): string {
  const root = machine.root;
  const ids = mermaidIds(root);
  const idOf = (node: AnyStateNode): string => {
    const id = ids.get(node);
    if (id === undefined) throw new Error(`state node "${node.id}" is not in machine "${root.id}"`);
    return id;
  };

  const lines: string[] = [];
  if (options.title !== undefined) {
    lines.push('---', `title: ${JSON.stringify(options.title)}`, '---');
  }
  lines.push('stateDiagram-v2');

  // The root is drawn as a state only when it has transitions of its own,
  // or regions (Mermaid separates regions only inside a composite state).
  const drawRoot = root.type === 'parallel' || ownTransitions(root).length > 0;
  if (drawRoot) {
    declare(root, 1);
  } else {
    body(root, 1);
  }

  // One edge per source and target, a line of its label per transition:
  // Mermaid draws edges between the same two states on top of each other.
  const edges = new Map<string, string[]>();
  for (const node of stateNodes(root)) {
    for (const transition of ownTransitions(node)) {
      const label = escape(transitionLabel(machine, node, transition));
      for (const target of transition.target ?? [node]) {
        const edge = `${idOf(node)} --> ${idOf(target)}`;
        const labels = edges.get(edge);
        if (labels === undefined) edges.set(edge, [label]);
        else labels.push(label);
      }
    }
  }
  for (const [edge, labels] of edges) lines.push(`${INDENT}${edge} : ${labels.join('<br>')}`);
  return `${lines.join('\n')}\n`;

  function declare(node: AnyStateNode, depth: number): void {
    const pad = INDENT.repeat(depth);
    const head = `${pad}state "${escape(stateLabel(node))}" as ${idOf(node)}`;
    if (children(node).length === 0) {
      lines.push(head);
      return;
    }
    lines.push(`${head} {`);
    body(node, depth + 1);
    lines.push(`${pad}}`);
  }

  /** The inside of a compound or parallel state (or of the root). */
  function body(node: AnyStateNode, depth: number): void {
    const pad = INDENT.repeat(depth);
    const initial = node.type === 'compound' ? node.initial.target : [];
    for (const target of initial) lines.push(`${pad}[*] --> ${idOf(target)}`);
    children(node).forEach((child, i) => {
      if (i > 0 && node.type === 'parallel') lines.push(`${pad}--`);
      declare(child, depth);
      if (child.type === 'final') lines.push(`${pad}${idOf(child)} --> [*]`);
    });
  }
}

function mermaidIds(root: AnyStateNode): Map<AnyStateNode, string> {
  // Mermaid names the start and end pseudo-states of a composite state
  // `<id>_start` and `<id>_end`, and those of the top level `root_start`, `root_end`.
  const taken = new Set<string>(['root_start', 'root_end']);
  const free = (id: string, composite: boolean): boolean =>
    !taken.has(id) && (!composite || (!taken.has(`${id}_start`) && !taken.has(`${id}_end`)));
  const ids = new Map<AnyStateNode, string>();
  for (const node of stateNodes(root)) {
    const sanitized = node.id.replace(/[^A-Za-z0-9]/g, '_');
    const base = RESERVED.test(sanitized) ? `s_${sanitized}` : sanitized;
    const composite = children(node).length > 0;
    let id = base;
    for (let n = 2; !free(id, composite); n++) id = `${base}_${n}`;
    taken.add(id);
    if (composite) taken.add(`${id}_start`).add(`${id}_end`);
    ids.set(node, id);
  }
  return ids;
}

function escape(text: string): string {
  return text.replace(/[:;"<>#]/g, (c) => `#${c.charCodeAt(0)};`);
}
