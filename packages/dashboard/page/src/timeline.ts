// The shutdown panel: SIGNALING → DRAINING → CLOSING → stopped, each phase
// with when it began, how long it took (or has taken so far), the tasks
// left to drain and the resources left to close; then the report.
import type { PhaseTiming, ShutdownReport } from '@troupe/runtime';
import type { PhaseEntry, ShutdownView } from '../../src/protocol.js';
import { clock } from './errors.js';

const PHASES = ['signaling', 'draining', 'closing', 'stopped'] as const;
type Phase = (typeof PHASES)[number];

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${String(m)} m ${((ms % 60_000) / 1000).toFixed(0)} s`;
}

function el(tag: string, className: string, text = ''): HTMLElement {
  const element = document.createElement(tag);
  element.className = className;
  if (text !== '') element.textContent = text;
  return element;
}

function line(label: string, value: string, tone = ''): HTMLElement {
  const element = el('div', 'kv');
  const v = el('span', 'v', value);
  if (tone !== '') v.dataset.tone = tone;
  element.append(el('span', 'k', label), v);
  return element;
}

function wide(label: string, value: string): HTMLElement {
  const element = line(label, value);
  element.classList.add('wide');
  return element;
}

function flow(from: number, to: number | null): string {
  return to === null || to === from ? String(from) : `${String(from)} → ${String(to)}`;
}

export class ShutdownTimeline {
  readonly #status: HTMLElement;
  readonly #timeline: HTMLElement;
  readonly #report: HTMLElement;
  readonly #boxes = new Map<Phase, HTMLElement>();

  constructor(host: HTMLElement) {
    this.#status = el('div', 'shutdown-status', 'running — no shutdown yet');
    this.#timeline = el('div', 'timeline');
    this.#timeline.dataset.testid = 'timeline';
    PHASES.forEach((phase, i) => {
      if (i > 0) this.#timeline.append(el('div', 'arrow', '→'));
      const box = el('div', 'phase-box');
      box.dataset.phase = phase;
      box.dataset.entered = 'false';
      this.#timeline.append(box);
      this.#boxes.set(phase, box);
    });
    this.#report = el('div', 'report-host');
    host.append(this.#status, this.#timeline, this.#report);
  }

  render(view: ShutdownView): void {
    const timeline: readonly PhaseEntry[] = view.timeline;
    const report = view.report;
    const now = view.now;
    const first = (phase: Phase): PhaseEntry | undefined => timeline.find((e) => e.phase === phase);
    const current = view.phase;

    if (current === 'running' && timeline.length === 0) {
      this.#status.textContent = 'running — no shutdown yet';
      this.#status.dataset.tone = 'ok';
    } else {
      const reason = view.reason === null || view.reason === '' ? '' : ` · reason: ${view.reason}`;
      const started = timeline[0];
      const liveAt = now?.at ?? started?.at ?? 0;
      const total =
        report !== null ? report.durationMs : started === undefined ? 0 : liveAt - started.at;
      this.#status.textContent = `${current === 'stopped' ? 'stopped' : `shutting down: ${current}`}${reason} · ${duration(total)}${started === undefined ? '' : ` since ${clock(started.at, false)}`}`;
      this.#status.dataset.tone = current === 'stopped' ? 'idle' : 'warn';
    }

    PHASES.forEach((phase, i) => {
      const box = this.#boxes.get(phase);
      if (box === undefined) return;
      const entry = first(phase);
      const next = PHASES.slice(i + 1)
        .map((p) => first(p))
        .find((e) => e !== undefined);
      const isCurrent = current === phase;
      box.dataset.entered = String(entry !== undefined);
      box.dataset.current = String(isCurrent);
      box.replaceChildren(el('div', 'phase-name', phase.toUpperCase()));
      if (entry === undefined) {
        box.append(el('div', 'phase-wait', 'not yet'));
        return;
      }
      box.append(line('at', clock(entry.at)));
      if (phase === 'stopped') {
        const startedAt = timeline[0]?.at ?? entry.at;
        box.append(
          line('total', duration(report === null ? entry.at - startedAt : report.durationMs)),
        );
        box.append(line('tasks left', String(entry.tasksLeft), entry.tasksLeft > 0 ? 'bad' : 'ok'));
        box.append(
          line('resources', String(entry.resourcesLeft), entry.resourcesLeft > 0 ? 'bad' : 'ok'),
        );
        return;
      }
      // A report from another version may lack a phase: checked, not trusted.
      const timing =
        report === null ? undefined : (report.phases[phase] as PhaseTiming | undefined);
      const live = isCurrent && now !== null && now.phase === phase ? now : null;
      const end = next?.at ?? live?.at ?? null;
      const took = timing !== undefined ? timing.durationMs : end === null ? null : end - entry.at;
      const label = next !== undefined || timing !== undefined ? 'took' : 'so far';
      const missed = timing !== undefined && timing.timedOut;
      box.append(line(label, took === null ? '—' : duration(took), missed ? 'bad' : ''));
      if (missed) box.append(el('div', 'phase-flag', 'deadline missed'));
      const tasksEnd = next?.tasksLeft ?? live?.tasksLeft ?? null;
      const resourcesEnd = next?.resourcesLeft ?? live?.resourcesLeft ?? null;
      box.append(
        line(
          'tasks left',
          flow(entry.tasksLeft, tasksEnd),
          (tasksEnd ?? entry.tasksLeft) > 0 ? 'warn' : 'ok',
        ),
      );
      box.append(
        line(
          'resources',
          flow(entry.resourcesLeft, resourcesEnd),
          (resourcesEnd ?? entry.resourcesLeft) > 0 ? 'warn' : 'ok',
        ),
      );
    });

    if (report === null) {
      this.#report.replaceChildren();
      return;
    }
    const summary = el('div', 'report');
    summary.dataset.testid = 'report';
    summary.dataset.forced = String(report.forced);
    const { tasks, resources, threads } = report;
    const count = (label: string, value: unknown, tone: 'bad' | 'warn' | '' = ''): HTMLElement =>
      line(
        label,
        typeof value === 'number' ? String(value) : '—',
        typeof value === 'number' && value > 0 ? tone : '',
      );
    const drained = tasks.drained as Partial<ShutdownReport['tasks']['drained']>;
    summary.append(
      el('div', 'report-title', report.forced ? 'report · FORCED' : 'report · clean'),
      line(
        'forced',
        report.forced ? `yes${report.forceRequested ? ' (requested)' : ''}` : 'no',
        report.forced ? 'bad' : 'ok',
      ),
      line('duration', duration(report.durationMs)),
      count('tasks completed', tasks.completed),
      count('tasks aborted', tasks.aborted, 'bad'),
      count('tasks failed', tasks.failed, 'warn'),
      wide(
        'drained',
        `${String(drained.completed ?? '—')} ok · ${String(drained.failed ?? '—')} failed · ${String(drained.aborted ?? '—')} aborted`,
      ),
      count('resources closed', resources.closed),
      count('resources forced', resources.forced, 'bad'),
      count('resources failed', resources.failed, 'bad'),
      line(
        'threads',
        `${String(threads.exited)}/${String(threads.started)} exited${threads.leaked > 0 ? ` · ${String(threads.leaked)} leaked` : ''}`,
        threads.leaked > 0 ? 'bad' : '',
      ),
    );
    this.#report.replaceChildren(summary);
  }
}
