// The actor tree: the troupe, its runners with their threads (each thread's
// resource and channel), the shared resources with their dependencies, then
// the shutdown, the supervisor and every other actor. Rows are keyed and
// updated in place (the scroll position and the focus survive updates).
import type { ResourceInfo } from '@troupe/runtime';
import type { ActorEntry } from '../../src/protocol.js';

/** One line of the tree. */
interface Row {
  readonly key: string;
  readonly depth: number;
  readonly kind: string;
  readonly name: string;
  readonly actor: ActorEntry | null;
  /** Shown after the state: dependencies, a count. */
  readonly note: string;
  /** The state text of a row that is not an actor (a resource known only from the registry). */
  readonly text: string;
  readonly title: string;
  readonly header: boolean;
}

const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const byId = (a: ActorEntry, b: ActorEntry): number => natural.compare(a.id, b.id);

/** The tone of a state text (its first segment): colours the state. */
export function stateTone(state: string): 'ok' | 'warn' | 'bad' | 'idle' | 'none' {
  const first = state.split(/[.,\s]/, 1)[0] ?? '';
  switch (first) {
    case 'running':
    case 'ready':
    case 'open':
    case 'idle':
    case 'connected':
    case 'watching':
    case 'monitoring':
      return 'ok';
    case 'starting':
    case 'registered':
    case 'restarting':
    case 'signaling':
    case 'draining':
    case 'busy':
    case 'retrying':
    case 'waiting':
    case 'degraded':
      return 'warn';
    case 'failed':
    case 'forced':
    case 'closing':
    case 'crashed':
    case 'escalated':
      return 'bad';
    case 'stopped':
    case 'closed':
    case 'done':
      return 'idle';
    default:
      return 'none';
  }
}

function actorRow(actor: ActorEntry, depth: number, kind: string, name: string, note = ''): Row {
  return {
    key: `a:${actor.id}`,
    depth,
    kind,
    name,
    actor,
    note,
    text: actor.state,
    title: `${actor.id}\n${actor.state}\nstatus: ${actor.status}\nmachine: ${actor.machineId}`,
    header: false,
  };
}

/** A line that is not an actor (a resource known only from the registry, a thread without its resource). */
function plainRow(
  key: string,
  depth: number,
  kind: string,
  name: string,
  text: string,
  title: string,
  note = '',
): Row {
  return { key, depth, kind, name, actor: null, note, text, title, header: false };
}

interface Thread {
  resource: ActorEntry | null;
  readonly channels: ActorEntry[];
  readonly parts: { readonly actor: ActorEntry; readonly name: string }[];
}

function headerRow(key: string, depth: number, name: string, note = ''): Row {
  return { key, depth, kind: '', name, actor: null, note, text: '', title: name, header: true };
}

function dependencies(info: ResourceInfo | undefined): string {
  if (info === undefined) return '';
  const parts: string[] = [];
  if (info.dependsOn.length > 0) parts.push(`→ ${info.dependsOn.join(', ')}`);
  if (info.dependents.length > 0) parts.push(`← ${info.dependents.join(', ')}`);
  return parts.join('  ');
}

/** The rows of the tree, in order. */
export function treeRows(
  nodeId: string,
  actors: ReadonlyMap<string, ActorEntry>,
  resources: readonly ResourceInfo[],
): Row[] {
  const rows: Row[] = [];
  const placed = new Set<string>();
  const all = [...actors.values()].sort(byId);
  const children = new Map<string, ActorEntry[]>();
  for (const actor of all) {
    if (actor.parent === null || !actors.has(actor.parent)) continue;
    const list = children.get(actor.parent) ?? [];
    list.push(actor);
    children.set(actor.parent, list);
  }
  const infos = new Map(resources.map((r) => [r.id, r]));

  const place = (actor: ActorEntry, depth: number, kind: string, name: string, note = ''): void => {
    if (placed.has(actor.id)) return;
    placed.add(actor.id);
    rows.push(actorRow(actor, depth, kind, name, note));
    // Invoked (or spawned) actors under their parent.
    for (const child of children.get(actor.id) ?? []) {
      if (!placed.has(child.id)) place(child, depth + 1, kindOf(child.id), child.id);
    }
  };

  rows.push(headerRow('root', 0, `troupe ${nodeId}`));

  // Runners, each with its own resource, its threads (`resource:<runner>/thread-N`),
  // what belongs to each thread (`resource:<runner>/thread-N/channel`, `channel:<runner>/N`).
  const runners = all.filter((a) => a.id.startsWith('runner:'));
  const runnerNames = new Set(runners.map((r) => r.id.slice('runner:'.length)));
  const ownedBy = (id: string): boolean => {
    for (const name of runnerNames) if (id === name || id.startsWith(`${name}/`)) return true;
    return false;
  };
  for (const runner of runners) {
    const name = runner.id.slice('runner:'.length);
    place(runner, 1, 'runner', name);
    const own = actors.get(`resource:${name}`);
    if (own !== undefined) {
      // Its dependencies are its threads: listed below it.
      place(own, 2, 'resource', name);
    }
    const threads = new Map<string, Thread>();
    const thread = (key: string): Thread => {
      let entry = threads.get(key);
      if (entry === undefined) {
        entry = { resource: null, channels: [], parts: [] };
        threads.set(key, entry);
      }
      return entry;
    };
    for (const actor of all) {
      if (actor.id.startsWith(`resource:${name}/`)) {
        const rest = actor.id.slice(`resource:${name}/`.length);
        const slash = rest.indexOf('/');
        if (slash < 0) thread(rest).resource = actor;
        else thread(rest.slice(0, slash)).parts.push({ actor, name: rest.slice(slash + 1) });
      } else if (actor.id.startsWith(`channel:${name}/`)) {
        const rest = actor.id.slice(`channel:${name}/`.length);
        thread(rest.startsWith('thread-') ? rest : `thread-${rest}`).channels.push(actor);
      }
    }
    for (const key of [...threads.keys()].sort(natural.compare)) {
      const entry = threads.get(key);
      if (entry === undefined) continue;
      if (entry.resource !== null) place(entry.resource, 2, 'thread', key);
      else
        rows.push(plainRow(`t:${name}/${key}`, 2, 'thread', key, '', `thread ${key} of ${name}`));
      for (const channel of entry.channels) place(channel, 3, 'channel', 'channel');
      for (const part of entry.parts) {
        place(part.actor, 3, 'resource', part.name);
      }
    }
    // Anything else the runner invoked is already placed under it by `place`.
  }

  // Shared resources (not a runner's), with their dependency edges.
  const resourceIds = new Set<string>();
  for (const actor of all) {
    if (!actor.id.startsWith('resource:') || placed.has(actor.id)) continue;
    const id = actor.id.slice('resource:'.length);
    if (!ownedBy(id)) resourceIds.add(id);
  }
  for (const info of resources) {
    // A runner's threads (and the runner itself) register as resources too; a gone runner's left over.
    if (!ownedBy(info.id) && !/\/thread-[^/]+(\/|$)/.test(info.id)) resourceIds.add(info.id);
  }
  if (resourceIds.size > 0) {
    rows.push(headerRow('resources', 1, 'resources', String(resourceIds.size)));
    for (const id of [...resourceIds].sort(natural.compare)) {
      const actor = actors.get(`resource:${id}`);
      const info = infos.get(id);
      const note = dependencies(info);
      if (actor !== undefined) place(actor, 2, info?.kind ?? 'resource', id, note);
      else if (info !== undefined) {
        rows.push(
          plainRow(`r:${id}`, 2, info.kind, id, info.state, `resource ${id}\n${info.state}`, note),
        );
      }
    }
  }

  // The shutdown, the supervisor, then everything else.
  for (const id of ['shutdown', 'supervisor']) {
    const actor = actors.get(id);
    if (actor !== undefined) place(actor, 1, id, id);
  }
  for (const actor of all) {
    if (placed.has(actor.id)) continue;
    if (actor.parent !== null && actors.has(actor.parent)) continue;
    place(actor, 1, kindOf(actor.id), displayName(actor.id));
  }
  // Left over: children of a parent that is itself a descendant of them (a cycle).
  for (const actor of all) {
    if (!placed.has(actor.id)) place(actor, 1, kindOf(actor.id), displayName(actor.id));
  }
  return rows;
}

function kindOf(id: string): string {
  const colon = id.indexOf(':');
  return colon > 0 ? id.slice(0, colon) : 'actor';
}

function displayName(id: string): string {
  const colon = id.indexOf(':');
  return colon > 0 ? id.slice(colon + 1) : id;
}

/** The tree view. */
export class TreeView {
  readonly #list: HTMLElement;
  readonly #count: HTMLElement;
  readonly #rows = new Map<string, HTMLElement>();
  #selected: string | null = null;

  constructor(list: HTMLElement, count: HTMLElement, onSelect: (id: string) => void) {
    this.#list = list;
    this.#count = count;
    list.setAttribute('role', 'tree');
    list.addEventListener('click', (event) => {
      const row = (event.target as Element | null)?.closest<HTMLElement>('[data-actor]');
      const id = row?.dataset.actor;
      if (id !== undefined) onSelect(id);
    });
    list.addEventListener('keydown', (event) => {
      const row = (event.target as Element | null)?.closest<HTMLElement>('[data-actor]');
      if (row === null || row === undefined) return;
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        const id = row.dataset.actor;
        if (id !== undefined) onSelect(id);
      } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const rows = [...list.querySelectorAll<HTMLElement>('[data-actor]')];
        const next = rows[rows.indexOf(row) + (event.key === 'ArrowDown' ? 1 : -1)];
        next?.focus();
        const id = next?.dataset.actor;
        if (id !== undefined) onSelect(id);
      }
    });
  }

  render(
    nodeId: string,
    actors: ReadonlyMap<string, ActorEntry>,
    resources: readonly ResourceInfo[],
    selected: string | null,
  ): void {
    this.#selected = selected;
    const rows = treeRows(nodeId, actors, resources);
    this.#count.textContent = String(actors.size);
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const row of rows) {
      seen.add(row.key);
      let element = this.#rows.get(row.key);
      if (element === undefined) {
        element = this.#create(row);
        this.#rows.set(row.key, element);
      }
      this.#update(element, row);
      const expected: Element | null =
        previous === null ? this.#list.firstElementChild : previous.nextElementSibling;
      if (expected !== element) this.#list.insertBefore(element, expected);
      previous = element;
    }
    for (const [key, element] of this.#rows) {
      if (seen.has(key)) continue;
      element.remove();
      this.#rows.delete(key);
    }
  }

  /** Moves the highlight only. */
  select(selected: string | null): void {
    this.#selected = selected;
    for (const element of this.#rows.values()) {
      const on = element.dataset.actor !== undefined && element.dataset.actor === selected;
      element.classList.toggle('selected', on);
      if (element.dataset.actor !== undefined) element.setAttribute('aria-selected', String(on));
    }
  }

  #create(row: Row): HTMLElement {
    const element = document.createElement('div');
    element.className = row.header ? 'row header' : 'row';
    element.setAttribute('role', 'treeitem');
    const dot = document.createElement('span');
    dot.className = 'dot';
    const kind = document.createElement('span');
    kind.className = 'kind';
    const name = document.createElement('span');
    name.className = 'name';
    const state = document.createElement('span');
    state.className = 'state';
    const note = document.createElement('span');
    note.className = 'note';
    element.append(dot, kind, name, note, state);
    if (row.actor !== null) {
      element.dataset.actor = row.actor.id;
      element.tabIndex = 0;
      state.dataset.testid = 'actor-state';
    }
    return element;
  }

  #update(element: HTMLElement, row: Row): void {
    const [, kind, name, note, state] = element.children as unknown as HTMLElement[];
    element.style.setProperty('--depth', String(row.depth));
    element.title = row.title;
    if (kind !== undefined && kind.textContent !== row.kind) kind.textContent = row.kind;
    if (kind !== undefined) kind.dataset.kind = row.kind;
    if (name !== undefined && name.textContent !== row.name) name.textContent = row.name;
    if (note !== undefined && note.textContent !== row.note) note.textContent = row.note;
    if (state !== undefined && state.textContent !== row.text) {
      state.textContent = row.text;
      state.dataset.tone = stateTone(row.text);
    }
    if (row.actor !== null) {
      element.dataset.status = row.actor.status;
      const on = row.actor.id === this.#selected;
      element.classList.toggle('selected', on);
      element.setAttribute('aria-selected', String(on));
    } else if (!row.header) {
      element.dataset.status = 'registry';
    }
  }
}
