// The runners panel: a card per runner of the last sample, with its figures
// and four small area charts over the last five minutes (health score,
// throughput, queue depth, latency), hand-drawn in SVG.
import type { RunnerSample, Sample } from '../../src/protocol.js';
import { stateTone } from './tree.js';

const SVG = 'http://www.w3.org/2000/svg';
const WINDOW_MS = 5 * 60_000;
const MIN_SPAN_MS = 30_000;
const W = 100;
const H = 32;

export interface Point {
  readonly t: number;
  readonly v: number | null;
}

type ChartKind = 'score' | 'throughput' | 'queue' | 'latency';

interface ChartSpec {
  readonly kind: ChartKind;
  readonly name: string;
  readonly unit: string;
  /** A fixed range (the score), else 0..max. */
  readonly fixed: readonly [number, number] | null;
  readonly value: (r: RunnerSample) => number | null;
  readonly format: (v: number) => string;
}

function figure(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (a >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

const CHARTS: readonly ChartSpec[] = [
  {
    kind: 'score',
    name: 'health',
    unit: '',
    fixed: [0, 1],
    value: (r) => r.score,
    format: (v) => v.toFixed(2),
  },
  {
    kind: 'throughput',
    name: 'throughput',
    unit: '/s',
    fixed: null,
    value: (r) => r.throughput,
    format: figure,
  },
  {
    kind: 'queue',
    name: 'queue',
    unit: '',
    fixed: null,
    value: (r) => r.queued,
    format: (v) => v.toFixed(0),
  },
  {
    kind: 'latency',
    name: 'latency',
    unit: ' ms',
    fixed: null,
    value: (r) => r.latencyMs,
    format: figure,
  },
];

function svg<K extends keyof SVGElementTagNameMap>(
  name: K,
  attributes: Readonly<Record<string, string>> = {},
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

function div(className: string, text = ''): HTMLDivElement {
  const element = document.createElement('div');
  element.className = className;
  if (text !== '') element.textContent = text;
  return element;
}

function span(className: string, text = ''): HTMLSpanElement {
  const element = document.createElement('span');
  element.className = className;
  if (text !== '') element.textContent = text;
  return element;
}

/** The `d` of the line and of the area under it, breaking at gaps (null values). */
export function chartPaths(
  points: readonly Point[],
  from: number,
  to: number,
  low: number,
  high: number,
): { line: string; area: string } {
  const span_ = Math.max(1, to - from);
  const range = high - low || 1;
  const x = (t: number): number => ((t - from) / span_) * W;
  const y = (v: number): number =>
    H - ((Math.min(high, Math.max(low, v)) - low) / range) * (H - 1) - 0.5;
  let line = '';
  let area = '';
  let run: { x: number; y: number }[] = [];
  const flush = (): void => {
    const first = run[0];
    const last = run[run.length - 1];
    if (first === undefined || last === undefined) return;
    // A lone point still shows (a short flat step).
    const pts = run.length === 1 ? [first, { x: Math.min(W, first.x + 0.8), y: first.y }] : run;
    line += pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(2)},${p.y.toFixed(2)}`).join('');
    area += `M${(pts[0]?.x ?? 0).toFixed(2)},${String(H)}`;
    area += pts.map((p) => `L${p.x.toFixed(2)},${p.y.toFixed(2)}`).join('');
    area += `L${(pts[pts.length - 1]?.x ?? 0).toFixed(2)},${String(H)}Z`;
    run = [];
  };
  for (const point of points) {
    if (point.v === null || !Number.isFinite(point.v) || point.t < from) {
      flush();
      continue;
    }
    run.push({ x: x(point.t), y: y(point.v) });
  }
  flush();
  return { line, area };
}

interface ChartParts {
  readonly value: HTMLElement;
  readonly area: SVGPathElement;
  readonly line: SVGPathElement;
  readonly max: HTMLElement;
  readonly min: HTMLElement;
}

interface Card {
  readonly element: HTMLElement;
  readonly state: HTMLElement;
  readonly threads: HTMLElement;
  readonly inFlight: HTMLElement;
  readonly queued: HTMLElement;
  readonly restarts: HTMLElement;
  readonly crashes: HTMLElement;
  readonly charts: Map<ChartKind, ChartParts>;
}

function stat(label: string, testid?: string): { element: HTMLElement; value: HTMLElement } {
  const element = span('stat');
  const value = span('stat-value', '0');
  if (testid !== undefined) value.dataset.testid = testid;
  element.append(span('stat-label', label), value);
  return { element, value };
}

function createCard(id: string, onSelect: (runnerId: string) => void): Card {
  const element = div('runner-card');
  element.dataset.testid = 'runner-card';
  element.dataset.runner = id;
  element.title = `runner ${id}: click to draw its statechart`;
  element.addEventListener('click', () => onSelect(id));
  const head = div('card-head');
  const name = span('card-name', id);
  const state = span('card-state');
  const badges = div('card-badges');
  const restarts = stat('restarts', 'runner-restarts');
  const crashes = stat('crashes', 'runner-crashes');
  badges.append(restarts.element, crashes.element);
  head.append(name, badges, state);
  const stats = div('card-stats');
  const threads = stat('threads');
  const inFlight = stat('in flight');
  const queued = stat('queued');
  stats.append(threads.element, inFlight.element, queued.element);
  const grid = div('card-charts');
  const charts = new Map<ChartKind, ChartParts>();
  for (const spec of CHARTS) {
    const box = div(`chart chart-${spec.kind}`);
    const top = div('chart-head');
    const value = span('chart-value', '—');
    top.append(span('chart-name', spec.name), value);
    const body = div('chart-body');
    const drawing = svg('svg', {
      viewBox: `0 0 ${String(W)} ${String(H)}`,
      preserveAspectRatio: 'none',
      'data-chart': spec.kind,
      role: 'img',
      'aria-label': `${spec.name} of ${id} over the last five minutes`,
    });
    const area = svg('path', { class: 'area' });
    const line = svg('path', { class: 'line', 'vector-effect': 'non-scaling-stroke' });
    drawing.append(area, line);
    const max = span('chart-max');
    const min = span('chart-min');
    body.append(drawing, max, min);
    box.append(top, body);
    grid.append(box);
    charts.set(spec.kind, { value, area, line, max, min });
  }
  element.append(head, stats, grid);
  return {
    element,
    state,
    threads: threads.value,
    inFlight: inFlight.value,
    queued: queued.value,
    restarts: restarts.value,
    crashes: crashes.value,
    charts,
  };
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

export class RunnerCards {
  readonly #count: HTMLElement;
  readonly #onSelect: (runnerId: string) => void;
  readonly #cards = new Map<string, Card>();
  readonly #empty: HTMLElement;

  constructor(host: HTMLElement, count: HTMLElement, onSelect: (runnerId: string) => void) {
    this.#count = count;
    this.#onSelect = onSelect;
    this.#empty = div('empty-note', 'no runners in the last sample');
    host.append(this.#empty);
  }

  render(samples: readonly Sample[], selectedRunner: string | null): void {
    const last = samples[samples.length - 1];
    const runners = last?.runners ?? [];
    this.#count.textContent = String(runners.length);
    this.#empty.hidden = runners.length > 0;
    const to = last?.at ?? 0;
    const window = samples.filter((s) => s.at >= to - WINDOW_MS);
    // The last five minutes, or what there is of them (a young troupe: at least MIN_SPAN_MS wide).
    const first = window[0]?.at ?? to;
    const from = Math.max(to - WINDOW_MS, Math.min(first, to - MIN_SPAN_MS));
    const seen = new Set<string>();
    let previous: Element = this.#empty;
    for (const runner of runners) {
      seen.add(runner.id);
      let card = this.#cards.get(runner.id);
      if (card === undefined) {
        card = createCard(runner.id, this.#onSelect);
        this.#cards.set(runner.id, card);
      }
      if (previous.nextElementSibling !== card.element) previous.after(card.element);
      previous = card.element;
      this.#fill(card, runner, window, from, to);
      card.element.classList.toggle('selected', selectedRunner === runner.id);
    }
    for (const [id, card] of this.#cards) {
      if (seen.has(id)) continue;
      card.element.remove();
      this.#cards.delete(id);
    }
  }

  #fill(
    card: Card,
    runner: RunnerSample,
    window: readonly Sample[],
    from: number,
    to: number,
  ): void {
    setText(card.state, runner.state);
    card.state.dataset.tone = stateTone(runner.state === 'busy' ? 'running' : runner.state);
    setText(card.threads, String(runner.threads));
    setText(card.inFlight, String(runner.inFlight));
    setText(card.queued, String(runner.queued));
    setText(card.restarts, String(runner.restarts));
    setText(card.crashes, String(runner.crashes));
    card.restarts.classList.toggle('warn', runner.restarts > 0);
    card.crashes.classList.toggle('bad', runner.crashes > 0);
    for (const spec of CHARTS) {
      const parts = card.charts.get(spec.kind);
      if (parts === undefined) continue;
      const points: Point[] = window.map((s) => {
        const r = s.runners.find((x) => x.id === runner.id);
        return { t: s.at, v: r === undefined ? null : spec.value(r) };
      });
      const values = points
        .map((p) => p.v)
        .filter((v): v is number => v !== null && Number.isFinite(v));
      const current = spec.value(runner);
      setText(
        parts.value,
        current === null || !Number.isFinite(current) ? '—' : `${spec.format(current)}${spec.unit}`,
      );
      if (spec.kind === 'score')
        parts.value.dataset.tone =
          current === null ? 'none' : current >= 0.8 ? 'ok' : current >= 0.5 ? 'warn' : 'bad';
      const min = values.length > 0 ? Math.min(...values) : 0;
      const max = values.length > 0 ? Math.max(...values) : 0;
      const [low, high] = spec.fixed ?? [0, max > 0 ? max * 1.08 : 1];
      const { line, area } = chartPaths(points, from, to, low, high);
      parts.line.setAttribute('d', line);
      parts.area.setAttribute('d', area);
      setText(parts.max, values.length > 0 ? spec.format(max) : '');
      setText(parts.min, values.length > 0 ? spec.format(min) : '');
      parts.max.title = `max over the window: ${spec.format(max)}${spec.unit}`;
      parts.min.title = `min over the window: ${spec.format(min)}${spec.unit}`;
    }
  }
}
