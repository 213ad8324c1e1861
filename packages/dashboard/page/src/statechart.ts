// The statechart panel: the selected actor's machine, laid out once per
// machine with elkjs (layered, hierarchical: compound and parallel states
// are nodes with children, edges cross levels), drawn in SVG, then only
// recoloured as the actor moves (its active state nodes light up).
import type { ELK, ElkExtendedEdge, ElkLabel, ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { StatechartGraph } from '@troupe/core';
import type { ActorEntry } from '../../src/protocol.js';

const SVG = 'http://www.w3.org/2000/svg';
const LEAF_HEIGHT = 28;
const TITLE_HEIGHT = 22;
const NODE_FONT = '12px ui-sans-serif, system-ui, sans-serif';
const LABEL_FONT = '10px ui-sans-serif, system-ui, sans-serif';
const LABEL_MAX = 26;

type NodeType = StatechartGraph['nodes'][number]['type'];

interface Point {
  readonly x: number;
  readonly y: number;
}

/** A state node, placed. */
interface PlacedNode {
  readonly id: string;
  readonly label: string;
  readonly type: NodeType;
  readonly depth: number;
  readonly leaf: boolean;
  /** Its parent is parallel: a region (drawn dashed). */
  readonly region: boolean;
  /** The initial child of its parent. */
  readonly initial: boolean;
  readonly tags: readonly string[];
  /** Transitions that stay in it (not laid out: listed in its tooltip). */
  readonly internal: readonly string[];
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A transition (all of one source and target, merged), routed. */
interface PlacedEdge {
  readonly source: string;
  readonly target: string;
  readonly label: string;
  /** Every original label (the tooltip). */
  readonly labels: readonly string[];
  readonly points: readonly Point[];
  /** Top-left of the label box (null: draw it at the middle of the route). */
  readonly labelAt: Point | null;
  readonly labelWidth: number;
}

export interface Layout {
  readonly machineId: string;
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly ms: number;
  /** Set when elk could not lay out everything (the fallback used). */
  readonly note: string;
}

// ---- text measure ---------------------------------------------------------------

let context: CanvasRenderingContext2D | null | undefined;

function textWidth(text: string, font: string, perChar: number): number {
  if (context === undefined) {
    try {
      context = document.createElement('canvas').getContext('2d');
    } catch {
      context = null;
    }
  }
  if (context === null) return text.length * perChar;
  context.font = font;
  return context.measureText(text).width;
}

// ---- the graph, for elk ---------------------------------------------------------

/** `threadFailed [stopping]` → `threadFailed`; `force [in x] (reenter)` → `force`. */
export function eventOf(label: string): string {
  const cut = label.replace(/\s*\[[^\]]*\]/g, '').replace(/\s*\((reenter|internal)\)/g, '');
  return cut.trim() === '' ? label.trim() : cut.trim();
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

interface MergedEdge {
  readonly source: string;
  readonly target: string;
  readonly events: string[];
  readonly labels: string[];
}

function mergeEdges(
  graph: StatechartGraph,
  known: ReadonlySet<string>,
): {
  edges: MergedEdge[];
  internal: Map<string, string[]>;
} {
  const merged = new Map<string, MergedEdge>();
  const internal = new Map<string, string[]>();
  for (const edge of graph.edges) {
    if (!known.has(edge.source) || !known.has(edge.target)) continue;
    if (edge.source === edge.target) {
      const list = internal.get(edge.source) ?? [];
      list.push(edge.label);
      internal.set(edge.source, list);
      continue;
    }
    const key = `${edge.source}\u0000${edge.target}`;
    let entry = merged.get(key);
    if (entry === undefined) {
      entry = { source: edge.source, target: edge.target, events: [], labels: [] };
      merged.set(key, entry);
    }
    const event = eventOf(edge.label);
    if (!entry.events.includes(event)) entry.events.push(event);
    entry.labels.push(edge.label);
  }
  return { edges: [...merged.values()], internal };
}

interface Attempt {
  readonly labels: boolean;
  /** Keep the edges between a state and one of its descendants. */
  readonly nested: boolean;
  readonly edges: boolean;
  readonly note: string;
}

const ATTEMPTS: readonly Attempt[] = [
  { labels: true, nested: true, edges: true, note: '' },
  { labels: false, nested: true, edges: true, note: 'edge labels at midpoints' },
  { labels: false, nested: false, edges: true, note: 'edges into own children omitted' },
  { labels: false, nested: false, edges: false, note: 'edges omitted (layout failed)' },
];

/** On the root and on every compound node (elk reads spacing per graph). */
const LAYOUT_OPTIONS: Readonly<Record<string, string>> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.layered.spacing.nodeNodeBetweenLayers': '18',
  'elk.spacing.nodeNode': '10',
  'elk.spacing.edgeNode': '6',
  'elk.spacing.edgeEdge': '4',
  'elk.layered.spacing.edgeNodeBetweenLayers': '6',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '4',
  'elk.spacing.edgeLabel': '1',
  'elk.spacing.labelLabel': '1',
  'elk.spacing.componentComponent': '14',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  // The initial state first, not whatever breaks the cycles best.
  'elk.layered.cycleBreaking.strategy': 'DEPTH_FIRST',
};

/** On the root only. */
const ROOT_OPTIONS: Readonly<Record<string, string>> = {
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.json.shapeCoords': 'ROOT',
  'elk.json.edgeCoords': 'ROOT',
  'elk.padding': '[top=8,left=8,bottom=8,right=8]',
};

/** elk (1.5 MB) comes in its own chunk: the rest of the page draws while it loads. */
let elkPromise: Promise<ELK> | null = null;
function loadElk(): Promise<ELK> {
  elkPromise ??= import('elkjs/lib/elk.bundled.js').then((module) => new module.default());
  elkPromise.catch(() => {
    elkPromise = null;
  });
  return elkPromise;
}

async function runElk(graph: StatechartGraph, attempt: Attempt): Promise<Layout> {
  const elk = await loadElk();
  const started = performance.now();
  const nodes = graph.nodes;
  const known = new Set(nodes.map((n) => n.id));
  const byParent = new Map<string | null, StatechartGraph['nodes'][number][]>();
  for (const node of nodes) {
    const parent = node.parent !== null && known.has(node.parent) ? node.parent : null;
    const list = byParent.get(parent) ?? [];
    list.push(node);
    byParent.set(parent, list);
  }
  const parentOf = new Map(nodes.map((n) => [n.id, n.parent]));
  const isAncestor = (a: string, b: string): boolean => {
    let p = parentOf.get(b) ?? null;
    for (let guard = 0; p !== null && guard < 1000; guard += 1) {
      if (p === a) return true;
      p = parentOf.get(p) ?? null;
    }
    return false;
  };

  const seen = new Set<string>();
  const toElk = (node: StatechartGraph['nodes'][number]): ElkNode => {
    seen.add(node.id);
    const kids = (byParent.get(node.id) ?? []).filter((k) => !seen.has(k.id));
    const title = textWidth(node.label, `600 ${NODE_FONT}`, 7.2);
    if (kids.length === 0) {
      const history = node.type === 'history';
      return {
        id: node.id,
        width: history ? LEAF_HEIGHT : Math.max(56, Math.ceil(title) + 26),
        height: LEAF_HEIGHT + (node.type === 'final' ? 4 : 0),
      };
    }
    return {
      id: node.id,
      children: kids.map(toElk),
      layoutOptions: {
        ...LAYOUT_OPTIONS,
        'elk.padding': `[top=${String(TITLE_HEIGHT + 8)},left=10,bottom=10,right=10]`,
        'elk.nodeSize.constraints': 'MINIMUM_SIZE',
        'elk.nodeSize.minimum': `(${String(Math.ceil(title) + 40)},${String(TITLE_HEIGHT + 30)})`,
      },
    };
  };
  const roots = byParent.get(null) ?? [];
  const children = roots.map(toElk);

  const { edges: merged, internal } = mergeEdges(graph, known);
  const kept = merged.filter(
    (e) =>
      attempt.edges &&
      (attempt.nested || (!isAncestor(e.source, e.target) && !isAncestor(e.target, e.source))),
  );
  const elkEdges: ElkExtendedEdge[] = kept.map((edge, i) => {
    const text = shorten(edge.events.join(', '), LABEL_MAX);
    const result: ElkExtendedEdge = {
      id: `e${String(i)}`,
      sources: [edge.source],
      targets: [edge.target],
    };
    if (attempt.labels) {
      const label: ElkLabel = {
        text,
        width: Math.ceil(textWidth(text, LABEL_FONT, 5.6)) + 6,
        height: 13,
      };
      result.labels = [label];
    }
    return result;
  });

  const root: ElkNode = {
    id: '__root__',
    layoutOptions: { ...LAYOUT_OPTIONS, ...ROOT_OPTIONS },
    children,
    edges: elkEdges,
  };
  const out = await elk.layout(root);

  const placed: PlacedNode[] = [];
  const typeOf = new Map(nodes.map((n) => [n.id, n]));
  const visit = (node: ElkNode, depth: number): void => {
    const info = typeOf.get(node.id);
    if (info !== undefined) {
      const parent = info.parent === null ? undefined : typeOf.get(info.parent);
      placed.push({
        id: node.id,
        label: info.label,
        type: info.type,
        depth,
        leaf: (node.children ?? []).length === 0,
        region: parent?.type === 'parallel',
        initial: parent !== undefined && parent.initial === node.id,
        tags: info.tags,
        internal: internal.get(node.id) ?? [],
        x: node.x ?? 0,
        y: node.y ?? 0,
        width: node.width ?? 0,
        height: node.height ?? 0,
      });
    }
    for (const child of node.children ?? []) visit(child, depth + 1);
  };
  for (const child of out.children ?? []) visit(child, 0);

  const edgeById = new Map((out.edges ?? []).map((e) => [e.id, e]));
  const placedEdges: PlacedEdge[] = [];
  kept.forEach((edge, i) => {
    const routed = edgeById.get(`e${String(i)}`);
    const points: Point[] = [];
    for (const section of routed?.sections ?? []) {
      points.push(section.startPoint, ...(section.bendPoints ?? []), section.endPoint);
    }
    if (points.length < 2) return;
    const label = routed?.labels?.[0];
    placedEdges.push({
      source: edge.source,
      target: edge.target,
      label: shorten(edge.events.join(', '), LABEL_MAX),
      labels: edge.labels,
      points,
      labelAt: label?.x !== undefined && label.y !== undefined ? { x: label.x, y: label.y } : null,
      labelWidth: label?.width ?? 0,
    });
  });

  return {
    machineId: graph.machineId,
    width: Math.max(40, out.width ?? 0),
    height: Math.max(40, out.height ?? 0),
    nodes: placed,
    edges: placedEdges,
    ms: performance.now() - started,
    note: attempt.note,
  };
}

/** Resolves after the next paint (elk runs on this thread: let the page draw first). */
function afterPaint(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof requestAnimationFrame !== 'function') {
      setTimeout(resolve, 0);
      return;
    }
    requestAnimationFrame(() => setTimeout(resolve, 0));
  });
}

/** Lays a machine out (trying simpler layouts if elk refuses one). */
export async function layoutGraph(graph: StatechartGraph): Promise<Layout> {
  await afterPaint();
  let last: unknown = null;
  for (const attempt of ATTEMPTS) {
    try {
      return await runElk(graph, attempt);
    } catch (error) {
      last = error;
      console.warn(
        `troupe dashboard: elk failed on ${graph.machineId} (${attempt.note || 'full'})`,
        error,
      );
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}

// ---- drawing --------------------------------------------------------------------

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Readonly<Record<string, string | number>> = {},
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function title(text: string): SVGTitleElement {
  const t = el('title');
  t.textContent = text;
  return t;
}

/** A polyline with rounded corners. */
function routePath(points: readonly Point[]): string {
  const first = points[0];
  if (first === undefined) return '';
  let d = `M${first.x.toFixed(1)},${first.y.toFixed(1)}`;
  for (let i = 1; i < points.length; i += 1) {
    const p = points[i];
    const prev = points[i - 1];
    const next = points[i + 1];
    if (p === undefined || prev === undefined) continue;
    if (next === undefined) {
      d += ` L${p.x.toFixed(1)},${p.y.toFixed(1)}`;
      continue;
    }
    const r = Math.min(
      5,
      Math.hypot(p.x - prev.x, p.y - prev.y) / 2,
      Math.hypot(next.x - p.x, next.y - p.y) / 2,
    );
    const inLen = Math.hypot(p.x - prev.x, p.y - prev.y) || 1;
    const outLen = Math.hypot(next.x - p.x, next.y - p.y) || 1;
    const a = { x: p.x - ((p.x - prev.x) / inLen) * r, y: p.y - ((p.y - prev.y) / inLen) * r };
    const b = { x: p.x + ((next.x - p.x) / outLen) * r, y: p.y + ((next.y - p.y) / outLen) * r };
    d += ` L${a.x.toFixed(1)},${a.y.toFixed(1)} Q${p.x.toFixed(1)},${p.y.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`;
  }
  return d;
}

/** The middle of a route (by length). */
function midpoint(points: readonly Point[]): Point {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) {
    const a = points[i - 1];
    const b = points[i];
    if (a !== undefined && b !== undefined) total += Math.hypot(b.x - a.x, b.y - a.y);
  }
  let left = total / 2;
  for (let i = 1; i < points.length; i += 1) {
    const a = points[i - 1];
    const b = points[i];
    if (a === undefined || b === undefined) continue;
    const len = Math.hypot(b.x - a.x, b.y - a.y);
    if (len >= left && len > 0)
      return { x: a.x + ((b.x - a.x) * left) / len, y: a.y + ((b.y - a.y) * left) / len };
    left -= len;
  }
  return points[0] ?? { x: 0, y: 0 };
}

interface Drawing {
  readonly svg: SVGSVGElement;
  readonly key: string;
  readonly layout: Layout;
  readonly nodes: Map<string, SVGGElement>;
  readonly edges: { readonly element: SVGGElement; readonly source: string }[];
}

function draw(layout: Layout): Drawing {
  const key = layout.machineId.replace(/[^A-Za-z0-9_-]/g, '_');
  const svg = el('svg', {
    viewBox: `0 0 ${layout.width.toFixed(0)} ${layout.height.toFixed(0)}`,
    preserveAspectRatio: 'xMidYMid meet',
    'data-testid': 'statechart',
    'data-machine': layout.machineId,
    role: 'img',
  });
  svg.classList.add('chart-svg');
  svg.dataset.naturalWidth = layout.width.toFixed(0);
  svg.dataset.naturalHeight = layout.height.toFixed(0);
  const defs = el('defs');
  const marker = el('marker', {
    id: `arrow-${key}`,
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.append(el('path', { d: 'M0,1 L10,5 L0,9 z', class: 'arrowhead' }));
  const hot = el('marker', {
    id: `arrow-hot-${key}`,
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  hot.append(el('path', { d: 'M0,1 L10,5 L0,9 z', class: 'arrowhead hot' }));
  defs.append(marker, hot);
  svg.append(defs);

  const nodes = new Map<string, SVGGElement>();
  const compounds = el('g', { class: 'layer-compounds' });
  const edgeLayer = el('g', { class: 'layer-edges' });
  const leaves = el('g', { class: 'layer-leaves' });
  const labels = el('g', { class: 'layer-labels' });

  const ordered = [...layout.nodes].sort((a, b) => a.depth - b.depth);
  for (const node of ordered) {
    const g = el('g', {
      class: `sn sn-${node.type}${node.leaf ? ' leaf' : ' box'}${node.region ? ' region' : ''}`,
      'data-state-node': node.id,
      'data-active': 'false',
    });
    const tip = [
      node.id,
      `${node.type}${node.initial ? ' (initial)' : ''}`,
      node.tags.length > 0 ? `tags: ${node.tags.join(', ')}` : '',
      node.internal.length > 0 ? `internal: ${node.internal.join(' · ')}` : '',
    ].filter((s) => s !== '');
    g.append(title(tip.join('\n')));
    const { x, y, width: w, height: h } = node;
    if (node.type === 'history') {
      g.append(
        el('circle', { cx: x + w / 2, cy: y + h / 2, r: Math.min(w, h) / 2 - 1, class: 'shape' }),
      );
      const t = el('text', {
        x: x + w / 2,
        y: y + h / 2 + 4,
        class: 'label',
        'text-anchor': 'middle',
      });
      t.textContent = 'H';
      g.append(t);
    } else if (node.leaf) {
      g.append(el('rect', { x, y, width: w, height: h, rx: 7, class: 'shape' }));
      if (node.type === 'final') {
        g.append(
          el('rect', { x: x + 3, y: y + 3, width: w - 6, height: h - 6, rx: 5, class: 'inner' }),
        );
      }
      const t = el('text', {
        x: x + w / 2,
        y: y + h / 2 + 4,
        class: 'label',
        'text-anchor': 'middle',
      });
      t.textContent = node.label;
      g.append(t);
    } else {
      g.append(el('rect', { x, y, width: w, height: h, rx: 9, class: 'shape' }));
      if (node.type === 'final') {
        g.append(
          el('rect', { x: x + 3, y: y + 3, width: w - 6, height: h - 6, rx: 7, class: 'inner' }),
        );
      }
      g.append(
        el('line', { x1: x, y1: y + TITLE_HEIGHT, x2: x + w, y2: y + TITLE_HEIGHT, class: 'rule' }),
      );
      const t = el('text', { x: x + 10, y: y + 15, class: 'title' });
      t.textContent = node.type === 'parallel' ? `${node.label}  ∥` : node.label;
      g.append(t);
    }
    if (node.internal.length > 0 && node.type !== 'history') {
      const t = el('text', {
        x: x + w - 6,
        y: node.leaf ? y + 10 : y + 15,
        class: 'internal',
        'text-anchor': 'end',
      });
      t.textContent = '↻';
      g.append(t);
    }
    if (node.initial) {
      g.append(el('circle', { cx: x - 1, cy: y - 1, r: 3.5, class: 'initial' }));
    }
    nodes.set(node.id, g);
    (node.leaf ? leaves : compounds).append(g);
  }

  const edges: Drawing['edges'] = [];
  for (const edge of layout.edges) {
    const g = el('g', { class: 'edge', 'data-source': edge.source, 'data-target': edge.target });
    g.append(title(`${edge.source} → ${edge.target}\n${edge.labels.join('\n')}`));
    const path = el('path', { d: routePath(edge.points), class: 'route' });
    path.setAttribute('marker-end', `url(#arrow-${key})`);
    g.append(path);
    edgeLayer.append(g);
    edges.push({ element: g, source: edge.source });
    if (edge.label !== '') {
      const at = edge.labelAt;
      const mid =
        at === null ? midpoint(edge.points) : { x: at.x + edge.labelWidth / 2, y: at.y + 10 };
      const t = el('text', {
        x: mid.x.toFixed(1),
        y: (at === null ? mid.y + 3 : mid.y).toFixed(1),
        class: 'edge-label',
        'text-anchor': 'middle',
        'data-source': edge.source,
      });
      t.textContent = edge.label;
      labels.append(t);
    }
  }
  svg.append(compounds, edgeLayer, leaves, labels);
  return { svg, key, layout, nodes, edges };
}

function placeholder(text: string): SVGSVGElement {
  const svg = el('svg', { viewBox: '0 0 400 60', 'data-testid': 'statechart', role: 'img' });
  svg.classList.add('chart-svg', 'empty');
  const t = el('text', { x: 200, y: 34, 'text-anchor': 'middle', class: 'placeholder' });
  t.textContent = text;
  svg.append(t);
  return svg;
}

// ---- the view ---------------------------------------------------------------------

/** A machine's content as text: a machine sent again (after a reconnect) is not laid out again. */
const signatures = new WeakMap<StatechartGraph, string>();
function signature(graph: StatechartGraph): string {
  let text = signatures.get(graph);
  if (text === undefined) {
    text = JSON.stringify(graph);
    signatures.set(graph, text);
  }
  return text;
}

interface Cached {
  readonly signature: string;
  readonly drawing: Promise<Drawing>;
  done: Drawing | null;
}

/** The part of the layout shown (layout coordinates). */
interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** Fit mode never scales a small machine past this. */
const MAX_FIT_SCALE = 1.5;
const MIN_SCALE = 0.1;
const MAX_SCALE = 4;

export interface StatechartControls {
  readonly fit: HTMLButtonElement;
  readonly focus: HTMLButtonElement;
}

export class StatechartView {
  readonly #host: HTMLElement;
  readonly #heading: HTMLElement;
  readonly #state: HTMLElement;
  readonly #info: HTMLElement;
  readonly #cache = new Map<string, Cached>();
  #mounted: SVGSVGElement | null = null;
  #current: Drawing | null = null;
  #active: ReadonlySet<string> = new Set();
  /** Bumped on each show(), so a late layout does not mount over a newer choice. */
  #ticket = 0;
  /** null: fit the whole machine (follows the panel's size). */
  #view: Box | null = null;
  #drag: { id: number; x: number; y: number; view: Box } | null = null;

  constructor(
    host: HTMLElement,
    heading: HTMLElement,
    state: HTMLElement,
    info: HTMLElement,
    controls: StatechartControls,
  ) {
    this.#host = host;
    this.#heading = heading;
    this.#state = state;
    this.#info = info;
    controls.fit.addEventListener('click', () => this.fit());
    controls.focus.addEventListener('click', () => this.focus());
    host.addEventListener('dblclick', () => this.fit());
    host.addEventListener('wheel', (event) => this.#wheel(event), { passive: false });
    host.addEventListener('pointerdown', (event) => this.#pointerDown(event));
    host.addEventListener('pointermove', (event) => this.#pointerMove(event));
    host.addEventListener('pointerup', (event) => this.#pointerUp(event));
    host.addEventListener('pointercancel', (event) => this.#pointerUp(event));
    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(() => this.#applyView()).observe(host);
    }
    this.#mount(placeholder('waiting for the troupe…'), null);
  }

  /** Shows an actor (null: none) with its machine (undefined: not received). */
  show(entry: ActorEntry | null, graph: StatechartGraph | undefined): void {
    const ticket = ++this.#ticket;
    this.#heading.textContent = entry === null ? 'no actor' : entry.id;
    this.#state.textContent = entry === null ? '' : entry.state;
    this.#state.title = entry === null ? '' : `${entry.state}\nstatus: ${entry.status}`;
    this.#state.dataset.status = entry?.status ?? '';
    this.#active = new Set(entry?.active ?? []);
    if (entry === null) {
      this.#mount(placeholder('no actor to draw'), null);
      return;
    }
    if (graph === undefined) {
      this.#mount(placeholder(`machine "${entry.machineId}" not received yet`), null, entry.id);
      return;
    }
    const cached = this.#cached(graph);
    if (cached.done !== null) {
      this.#mount(cached.done.svg, cached.done, entry.id);
      this.#recolor(cached.done);
      return;
    }
    this.#mount(placeholder(`laying out ${graph.machineId}…`), null, entry.id);
    cached.drawing.then(
      (done) => {
        if (ticket !== this.#ticket) return;
        this.#mount(done.svg, done, entry.id);
        this.#recolor(done);
      },
      (error: unknown) => {
        if (ticket !== this.#ticket) return;
        this.#mount(
          placeholder(`cannot lay out ${graph.machineId}: ${String(error)}`),
          null,
          entry.id,
        );
      },
    );
  }

  /** The whole machine, scaled to the panel. */
  fit(): void {
    this.#view = null;
    this.#applyView();
  }

  /** The active leaf states at natural size (or fitted, if they do not fit). */
  focus(): void {
    const drawing = this.#current;
    if (drawing === null) return;
    const active = drawing.layout.nodes.filter((n) => n.leaf && this.#active.has(n.id));
    const nodes =
      active.length > 0 ? active : drawing.layout.nodes.filter((n) => this.#active.has(n.id));
    if (nodes.length === 0) return;
    const x0 = Math.min(...nodes.map((n) => n.x)) - 40;
    const y0 = Math.min(...nodes.map((n) => n.y)) - 40;
    const x1 = Math.max(...nodes.map((n) => n.x + n.width)) + 40;
    const y1 = Math.max(...nodes.map((n) => n.y + n.height)) + 40;
    const { width, height } = this.#hostSize();
    const scale = Math.min(1, width / (x1 - x0), height / (y1 - y0));
    const w = width / scale;
    const h = height / scale;
    this.#view = { x: (x0 + x1) / 2 - w / 2, y: (y0 + y1) / 2 - h / 2, w, h };
    this.#applyView();
  }

  /** Settles once the machine is laid out (or could not be). */
  ready(graph: StatechartGraph): Promise<void> {
    return this.#cached(graph).drawing.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Lays out, one by one when the page is idle, the machines not laid out yet (switching is then instant). */
  prefetch(graphs: Iterable<StatechartGraph>): void {
    const queue = [...graphs].filter(
      (g) => this.#cache.get(g.machineId)?.signature !== signature(g),
    );
    const idle = (run: () => void): void => {
      if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 5_000 });
      else setTimeout(run, 500);
    };
    const next = (): void => {
      const graph = queue.shift();
      if (graph === undefined) return;
      if (this.#cache.get(graph.machineId)?.signature === signature(graph)) {
        next();
        return;
      }
      this.#cached(graph).drawing.then(
        () => idle(next),
        () => idle(next),
      );
    };
    idle(next);
  }

  #cached(graph: StatechartGraph): Cached {
    const cached = this.#cache.get(graph.machineId);
    const text = signature(graph);
    if (cached !== undefined && cached.signature === text) return cached;
    const entry: Cached = { signature: text, drawing: layoutGraph(graph).then(draw), done: null };
    entry.drawing.then(
      (done) => {
        entry.done = done;
      },
      () => undefined,
    );
    this.#cache.set(graph.machineId, entry);
    return entry;
  }

  #mount(svg: SVGSVGElement, drawing: Drawing | null, actor = ''): void {
    svg.setAttribute('data-actor', actor);
    if (this.#mounted !== svg) {
      this.#mounted?.remove();
      this.#host.append(svg);
      this.#mounted = svg;
      // Another machine: start from the whole of it.
      if (drawing?.layout.machineId !== this.#current?.layout.machineId) this.#view = null;
    }
    this.#current = drawing;
    if (drawing === null) this.#info.textContent = '';
    else {
      const { layout } = drawing;
      const parts = [
        `${String(layout.nodes.length)} states`,
        `${String(layout.edges.length)} transitions`,
        `layout ${layout.ms.toFixed(0)} ms`,
      ];
      if (layout.note !== '') parts.push(layout.note);
      parts.push('wheel: zoom · drag: pan · double-click: fit');
      this.#info.textContent = parts.join(' · ');
    }
    this.#host.classList.toggle('zoomable', drawing !== null);
    this.#applyView();
  }

  #hostSize(): { width: number; height: number } {
    const style = getComputedStyle(this.#host);
    const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    return {
      width: Math.max(50, this.#host.clientWidth - (Number.isFinite(padX) ? padX : 0)),
      height: Math.max(50, this.#host.clientHeight - (Number.isFinite(padY) ? padY : 0)),
    };
  }

  /** The box fitting the whole layout into the panel (at most MAX_FIT_SCALE). */
  #fitBox(layout: Layout): Box {
    const { width, height } = this.#hostSize();
    const scale = Math.min(MAX_FIT_SCALE, width / layout.width, height / layout.height);
    const w = width / scale;
    const h = height / scale;
    return { x: layout.width / 2 - w / 2, y: layout.height / 2 - h / 2, w, h };
  }

  #applyView(): void {
    const svg = this.#mounted;
    if (svg === null) return;
    svg.setAttribute('width', '100%');
    svg.setAttribute('height', '100%');
    const drawing = this.#current;
    if (drawing === null) return;
    const box = this.#view ?? this.#fitBox(drawing.layout);
    svg.setAttribute(
      'viewBox',
      `${box.x.toFixed(1)} ${box.y.toFixed(1)} ${box.w.toFixed(1)} ${box.h.toFixed(1)}`,
    );
    svg.dataset.zoom = this.#view === null ? 'fit' : 'manual';
    // Edge labels below ~6 px are noise: hidden until zoomed in (their routes keep a tooltip).
    const scale = this.#hostSize().width / box.w;
    svg.classList.toggle('small', scale < 0.55);
  }

  #box(): Box | null {
    const drawing = this.#current;
    if (drawing === null) return null;
    return this.#view ?? this.#fitBox(drawing.layout);
  }

  #wheel(event: WheelEvent): void {
    const box = this.#box();
    const svg = this.#mounted;
    if (box === null || svg === null) return;
    event.preventDefault();
    const rect = svg.getBoundingClientRect();
    const { width } = this.#hostSize();
    const scale = width / box.w;
    const factor = Math.exp(
      Math.max(-1, Math.min(1, event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015))),
    );
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale / factor));
    const applied = scale / next;
    const px = box.x + ((event.clientX - rect.left) / Math.max(1, rect.width)) * box.w;
    const py = box.y + ((event.clientY - rect.top) / Math.max(1, rect.height)) * box.h;
    this.#view = {
      x: px - (px - box.x) * applied,
      y: py - (py - box.y) * applied,
      w: box.w * applied,
      h: box.h * applied,
    };
    this.#applyView();
  }

  #pointerDown(event: PointerEvent): void {
    const box = this.#box();
    if (box === null || event.button !== 0) return;
    event.preventDefault();
    this.#drag = { id: event.pointerId, x: event.clientX, y: event.clientY, view: box };
    this.#host.setPointerCapture(event.pointerId);
    this.#host.classList.add('dragging');
  }

  #pointerMove(event: PointerEvent): void {
    const drag = this.#drag;
    const svg = this.#mounted;
    if (drag === null || svg === null || drag.id !== event.pointerId) return;
    const rect = svg.getBoundingClientRect();
    const k = drag.view.w / Math.max(1, rect.width);
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (this.#view === null && Math.hypot(dx, dy) < 3) return;
    this.#view = { ...drag.view, x: drag.view.x - dx * k, y: drag.view.y - dy * k };
    this.#applyView();
  }

  #pointerUp(event: PointerEvent): void {
    if (this.#drag?.id !== event.pointerId) return;
    this.#drag = null;
    this.#host.classList.remove('dragging');
    if (this.#host.hasPointerCapture(event.pointerId))
      this.#host.releasePointerCapture(event.pointerId);
  }

  #recolor(drawing: Drawing): void {
    const on = this.#active;
    for (const [id, g] of drawing.nodes) {
      const value = on.has(id) ? 'true' : 'false';
      if (g.getAttribute('data-active') !== value) g.setAttribute('data-active', value);
    }
    for (const edge of drawing.edges) {
      const hot = on.has(edge.source);
      if (edge.element.classList.contains('hot') === hot) continue;
      edge.element.classList.toggle('hot', hot);
      edge.element
        .querySelector('path')
        ?.setAttribute('marker-end', `url(#arrow${hot ? '-hot' : ''}-${drawing.key})`);
    }
    for (const label of drawing.svg.querySelectorAll<SVGTextElement>('.edge-label')) {
      label.classList.toggle('hot', on.has(label.dataset.source ?? ''));
    }
  }
}
