/*
 * toMermaid: each machine of @troupe/core drawn from its definition. The
 * expected states and edges come from a walk of the machine's `definition`
 * (not the StateNode tree toMermaid reads), the output is read back by a
 * small parser of the stateDiagram-v2 subset toMermaid writes, which also
 * checks it structurally (balanced braces, every edge endpoint declared,
 * no raw `:` or `;` in a label, regions only inside a composite state).
 * A hand-written machine pins the exact text.
 */
import { describe, expect, it } from 'vitest';
import {
  and,
  fromPromise,
  not,
  or,
  setup,
  type AnyStateMachine,
  type AnyStateNodeDefinition,
  type AnyTransitionDefinition,
} from 'xstate';
import {
  channelMachine,
  resourceMachine,
  retryMachine,
  runnerMachine,
  shutdownMachine,
  supervisorMachine,
  toMermaid,
} from '../src/index.js';

const machines: Record<string, AnyStateMachine> = {
  runnerMachine,
  shutdownMachine,
  resourceMachine,
  channelMachine,
  supervisorMachine,
  retryMachine,
};

// --- reading the diagram back ------------------------------------------------

interface DrawnState {
  readonly label: string;
  /** Mermaid id of the composite state it is declared in; null at the top level. */
  readonly parent: string | null;
}

interface Block {
  readonly id: string | null;
  /** `[*] --> x` inside this block. */
  readonly initial: string[];
  /** `x --> [*]` inside this block. */
  readonly final: string[];
  /** Declared directly in this block, in order, `--` as a separator. */
  readonly items: string[];
}

interface Diagram {
  readonly title: string | null;
  readonly states: Map<string, DrawnState>;
  readonly blocks: Map<string | null, Block>;
  /** `a --> b` → its label lines, entity codes decoded. */
  readonly edges: Map<string, string[]>;
}

const decode = (text: string): string =>
  text.replace(/#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

function parseDiagram(text: string): Diagram {
  expect(text.endsWith('\n'), 'ends with a newline').toBe(true);
  const lines = text.slice(0, -1).split('\n');
  let title: string | null = null;
  if (lines[0] === '---') {
    const end = lines.indexOf('---', 1);
    expect(end, 'front matter closed').toBeGreaterThan(0);
    for (const line of lines.slice(1, end)) {
      const m = /^title: (".*")$/.exec(line);
      if (m) title = JSON.parse(m[1]!) as string;
    }
    lines.splice(0, end + 1);
  }
  expect(lines.shift()).toBe('stateDiagram-v2');

  const states = new Map<string, DrawnState>();
  const blocks = new Map<string | null, Block>();
  const edges = new Map<string, string[]>();
  const top: Block = { id: null, initial: [], final: [], items: [] };
  blocks.set(null, top);
  const stack: Block[] = [top];
  const ID = '[A-Za-z0-9_]+';
  const endpoints: string[] = [];
  let edgesStarted = false;

  for (const raw of lines) {
    const block = stack.at(-1)!;
    const indent = '  '.repeat(stack.length);
    const line = raw.startsWith(indent) ? raw.slice(indent.length) : null;
    if (raw === `${'  '.repeat(stack.length - 1)}}` && stack.length > 1) {
      stack.pop();
      continue;
    }
    expect(line, `indentation of ${JSON.stringify(raw)}`).not.toBeNull();
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^state "([^"]*)" as (${ID})( \\{)?$`).exec(line!))) {
      expect(edgesStarted, 'states are declared before the edges').toBe(false);
      const [, label, id, open] = m;
      expect(states.has(id!), `${id} declared once`).toBe(false);
      states.set(id!, { label: decode(label!), parent: block.id });
      block.items.push(id!);
      if (open) {
        const inner: Block = { id: id!, initial: [], final: [], items: [] };
        blocks.set(id!, inner);
        stack.push(inner);
      }
    } else if (line === '--') {
      expect(block.id, 'regions only inside a composite state').not.toBeNull();
      block.items.push('--');
    } else if ((m = new RegExp(`^\\[\\*\\] --> (${ID})$`).exec(line!))) {
      block.initial.push(m[1]!);
      endpoints.push(m[1]!);
    } else if ((m = new RegExp(`^(${ID}) --> \\[\\*\\]$`).exec(line!))) {
      block.final.push(m[1]!);
      endpoints.push(m[1]!);
    } else if ((m = new RegExp(`^(${ID}) --> (${ID}) : (.+)$`).exec(line!))) {
      expect(stack.length, 'transition edges at the top level').toBe(1);
      edgesStarted = true;
      const [, source, target, label] = m;
      // Mermaid replaces entity codes before it parses; then `:` or `;` would end the label.
      expect(label!.replace(/#\d+;/g, ''), 'no raw : or ; in a label').toMatch(/^[^:;]+$/);
      const key = `${source} --> ${target}`;
      expect(edges.has(key), `one edge ${key}`).toBe(false);
      edges.set(key, label!.split('<br>').map(decode));
      endpoints.push(source!, target!);
    } else {
      expect.fail(`unexpected line ${JSON.stringify(raw)}`);
    }
  }
  expect(stack.length, 'braces balanced').toBe(1);
  for (const id of endpoints) expect(states.has(id), `${id} is declared`).toBe(true);
  return { title, states, blocks, edges };
}

// --- what the definition says ------------------------------------------------

const mermaidId = (stateId: string): string => stateId.replace(/[^A-Za-z0-9]/g, '_');

function definitions(def: AnyStateNodeDefinition): AnyStateNodeDefinition[] {
  return [def, ...Object.values(def.states).flatMap((child) => definitions(child))];
}

function parentsOf(root: AnyStateNodeDefinition): Map<string, AnyStateNodeDefinition> {
  const parents = new Map<string, AnyStateNodeDefinition>();
  for (const def of definitions(root)) {
    for (const child of Object.values(def.states)) parents.set(child.id, def);
  }
  return parents;
}

function guardText(guard: unknown, machine: AnyStateMachine, nested = false): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && guard !== null) {
    const { type, params } = guard as { type: string; params?: Record<string, unknown> };
    return params ? `${type}(${Object.values(params).join(', ')})` : type;
  }
  const fn = guard as { name: string; guards?: unknown[]; stateValue?: string };
  if (fn.stateValue !== undefined) return `in ${fn.stateValue.replace(`#${machine.id}.`, '')}`;
  const inner = (fn.guards ?? []).map((g) => guardText(g, machine, true));
  if (fn.name === 'not') return `not ${inner[0]!}`;
  const text = inner.join(` ${fn.name} `);
  return nested ? `(${text})` : text;
}

function expectedLabel(
  machine: AnyStateMachine,
  def: AnyStateNodeDefinition,
  t: AnyTransitionDefinition,
): string {
  const type = t.eventType as string;
  let event: string;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  if (type === '') event = 'always';
  else if (type.startsWith('xstate.after.')) {
    const delay = type.slice('xstate.after.'.length, -(def.id.length + 1));
    event = `after ${/^\d+$/.test(delay) ? `${delay}ms` : delay}`;
  } else if (actor) {
    const invoked = def.invoke.find((i) => i.id === actor[2]);
    event = `${actor[1]!}: ${invoked!.src as string}`;
  } else if (type.startsWith('xstate.done.state.')) event = 'done';
  else event = type.replace(/^troupe\.[a-z]+\./, '');
  const guard = t.guard === undefined ? '' : ` [${guardText(t.guard, machine)}]`;
  return `${event}${guard}${t.reenter ? ' (reenter)' : ''}`;
}

function expectedEdges(machine: AnyStateMachine): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const def of definitions(machine.root.definition)) {
    const always = machine.getStateNodeById(def.id).always ?? [];
    for (const t of [...def.transitions, ...always]) {
      expect(t.source.id).toBe(def.id);
      for (const target of t.target ?? [t.source]) {
        const key = `${mermaidId(def.id)} --> ${mermaidId(target.id)}`;
        edges.set(key, [...(edges.get(key) ?? []), expectedLabel(machine, def, t)]);
      }
    }
  }
  return edges;
}

function rootIsDrawn(machine: AnyStateMachine): boolean {
  const root = machine.root.definition;
  return root.transitions.length > 0 || (machine.root.always ?? []).length > 0;
}

// --- the machines of @troupe/core --------------------------------------------

describe.each(Object.entries(machines))('toMermaid(%s)', (_name, machine) => {
  const text = toMermaid(machine);
  const all = definitions(machine.root.definition);
  const drawn = rootIsDrawn(machine) ? all : all.slice(1);

  it('declares every state node exactly once, labelled with its key, inside its parent', () => {
    const diagram = parseDiagram(text);
    expect([...diagram.states.keys()].sort()).toEqual(drawn.map((d) => mermaidId(d.id)).sort());
    const parents = parentsOf(machine.root.definition);
    for (const def of drawn) {
      const state = diagram.states.get(mermaidId(def.id))!;
      const parent = parents.get(def.id);
      expect(state.label).toBe(parent === undefined ? machine.id : def.key);
      const drawnParent =
        parent === undefined || (parent.id === machine.id && !rootIsDrawn(machine))
          ? null
          : mermaidId(parent.id);
      expect(state.parent, def.id).toBe(drawnParent);
    }
  });

  it('starts each compound state at its initial state, ends at its final states, separates regions', () => {
    const diagram = parseDiagram(text);
    for (const def of all) {
      const blockId = def.id === machine.id && !rootIsDrawn(machine) ? null : mermaidId(def.id);
      const block = diagram.blocks.get(blockId);
      const children = Object.values(def.states);
      if (children.length === 0) {
        expect(block).toBeUndefined();
        continue;
      }
      expect(block, def.id).toBeDefined();
      expect(block!.initial).toEqual(
        def.type === 'compound' ? def.initial!.target.map((t) => mermaidId(t.id)) : [],
      );
      expect(block!.final).toEqual(
        children.filter((c) => c.type === 'final').map((c) => mermaidId(c.id)),
      );
      const separator = def.type === 'parallel' ? ['--'] : [];
      expect(block!.items).toEqual(
        children.flatMap((c, i) => [...(i > 0 ? separator : []), mermaidId(c.id)]),
      );
    }
  });

  it('draws every transition of the definition from its source to its target, with its label', () => {
    const diagram = parseDiagram(text);
    expect(Object.fromEntries(diagram.edges)).toEqual(Object.fromEntries(expectedEdges(machine)));
  });

  it('is deterministic', () => {
    expect(toMermaid(machine)).toBe(text);
  });
});

describe('toMermaid labels', () => {
  it('shortens the event types of the runner and names invoked actors and delays', () => {
    const { edges } = parseDiagram(toMermaid(runnerMachine));
    expect(edges.get('runner_starting_pool_queued --> runner_starting_pool_loading')).toEqual([
      'slotGranted',
    ]);
    expect(edges.get('runner_closing_destroying --> runner_failed')).toEqual([
      'done: destroyPool [hasFailure]',
      'error: destroyPool [hasFailure]',
    ]);
    expect(edges.get('runner_restarting_waiting --> runner_starting')).toEqual([
      'after restartDelay',
    ]);
    expect(edges.get('runner_running_load_busy --> runner_running_load_ready')).toEqual([
      'always [not busy]',
    ]);
    expect(edges.get('runner_starting_pool_loading --> runner_restarting')).toContain(
      'threadFailed [mayRestart and not stopping]',
    );
  });
});

// --- a hand-written machine: the exact text ----------------------------------

const demo = setup({
  guards: { ready: () => true, allowed: () => true },
  delays: { timeout: 1_000 },
  actors: { load: fromPromise(() => Promise.resolve(1)) },
  actions: { note: () => {} },
}).createMachine({
  id: 'demo',
  initial: 'idle',
  states: {
    idle: {
      on: {
        'troupe.demo.start': [{ guard: 'ready', target: 'active' }, { target: 'failed' }],
        'troupe.demo.kick': { guard: or(['ready', not('allowed')]), target: 'active' },
        'ui:poke': { actions: 'note' },
      },
    },
    active: {
      type: 'parallel',
      on: { 'troupe.demo.restart': { target: 'active', reenter: true } },
      onDone: 'done',
      after: { timeout: 'failed' },
      states: {
        left: {
          initial: 'a',
          states: {
            a: {
              after: { 500: 'b' },
              always: { guard: and(['allowed', not('ready')]), target: 'b' },
            },
            b: { type: 'final' },
          },
        },
        right: {
          initial: 'loading',
          states: {
            loading: { invoke: { src: 'load', onDone: 'loaded', onError: '#demo.failed' } },
            loaded: { type: 'final' },
          },
        },
      },
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});

const demoDiagram = `---
title: "demo: nested, parallel, final, guards, delays"
---
stateDiagram-v2
  [*] --> demo_idle
  state "idle" as demo_idle
  state "active" as demo_active {
    state "left" as demo_active_left {
      [*] --> demo_active_left_a
      state "a" as demo_active_left_a
      state "b" as demo_active_left_b
      demo_active_left_b --> [*]
    }
    --
    state "right" as demo_active_right {
      [*] --> demo_active_right_loading
      state "loading" as demo_active_right_loading
      state "loaded" as demo_active_right_loaded
      demo_active_right_loaded --> [*]
    }
  }
  state "done" as demo_done
  demo_done --> [*]
  state "failed" as demo_failed
  demo_failed --> [*]
  demo_idle --> demo_active : start [ready]<br>kick [ready or not allowed]
  demo_idle --> demo_failed : start
  demo_idle --> demo_idle : ui#58;poke
  demo_active --> demo_active : restart (reenter)
  demo_active --> demo_done : done
  demo_active --> demo_failed : after timeout
  demo_active_left_a --> demo_active_left_b : after 500ms<br>always [allowed and not ready]
  demo_active_right_loading --> demo_active_right_loaded : done#58; load
  demo_active_right_loading --> demo_failed : error#58; load
`;

describe('toMermaid(hand-written machine)', () => {
  it('renders nested, parallel and final states, guards, delays and invocations exactly', () => {
    expect(toMermaid(demo, { title: 'demo: nested, parallel, final, guards, delays' })).toBe(
      demoDiagram,
    );
  });

  it('reads back as its definition', () => {
    const diagram = parseDiagram(demoDiagram);
    expect(diagram.title).toBe('demo: nested, parallel, final, guards, delays');
    expect(Object.fromEntries(diagram.edges)).toEqual(Object.fromEntries(expectedEdges(demo)));
  });

  it('draws the root as a composite state when it has transitions of its own', () => {
    const flat = setup({}).createMachine({
      id: 'flat',
      initial: 'on',
      on: { 'troupe.flat.reset': '.on' },
      states: { on: { on: { toggle: 'off' } }, off: { on: { toggle: 'on' } } },
    });
    expect(toMermaid(flat)).toBe(`stateDiagram-v2
  state "flat" as flat {
    [*] --> flat_on
    state "on" as flat_on
    state "off" as flat_off
  }
  flat --> flat_on : reset
  flat_on --> flat_off : toggle
  flat_off --> flat_on : toggle
`);
  });

  it('keeps state ids unique and clear of the words Mermaid reserves', () => {
    const odd = setup({}).createMachine({
      id: 'default',
      initial: 'a_b',
      states: {
        a_b: { on: { go: 'a-b' } },
        'a-b': { initial: 'start', states: { start: {} } },
        a_b_start: {},
      },
    });
    const diagram = parseDiagram(toMermaid(odd));
    // `a-b` is a composite state: Mermaid calls its start `s_default_a_b_2_start`.
    expect([...diagram.states.keys()]).toEqual([
      's_default_a_b',
      's_default_a_b_2',
      's_default_a_b_start',
      's_default_a_b_start_2',
    ]);
    expect(diagram.edges.get('s_default_a_b --> s_default_a_b_2')).toEqual(['go']);
  });
});
