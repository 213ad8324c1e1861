// The page's state: what the server sent (hello, then the changes), kept
// as the server describes it, plus what the page itself knows (the
// connection, the selection). Each part has a version number so a view
// redraws only what changed.
import type { StatechartGraph } from '@troupe/core';
import type { ResourceInfo, ShutdownReport } from '@troupe/runtime';
import {
  DASHBOARD_PROTOCOL,
  type ActorEntry,
  type DashboardMessage,
  type ErrorEntry,
  type PhaseEntry,
  type Sample,
  type ShutdownView,
} from '../../src/protocol.js';

export const SAMPLES_KEPT = 300;
export const ERRORS_KEPT = 200;

export type ConnectionStatus = 'live' | 'reconnecting' | 'closed';

/** What changed since the views last drew (each a counter). */
export interface Versions {
  actors: number;
  machines: number;
  resources: number;
  samples: number;
  errors: number;
  shutdown: number;
  header: number;
  selection: number;
}

/** The plain, JSON-friendly view of the state (what `window.__troupeDashboard.state` returns). */
export interface StateSnapshot {
  readonly connection: ConnectionStatus;
  readonly connectionDetail: string;
  readonly error: string | null;
  readonly hello: boolean;
  readonly controls: boolean;
  readonly nodeId: string;
  readonly at: number;
  readonly ready: boolean;
  readonly actors: readonly ActorEntry[];
  readonly machines: Readonly<Record<string, StatechartGraph>>;
  readonly resources: readonly ResourceInfo[];
  readonly samples: readonly Sample[];
  readonly errors: readonly ErrorEntry[];
  readonly shutdown: ShutdownView;
  readonly selected: string | null;
}

const NO_SHUTDOWN: ShutdownView = {
  phase: 'running',
  reason: null,
  timeline: [],
  now: null,
  report: null,
};

const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

type Loose = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function isGraph(value: unknown): value is StatechartGraph {
  return (
    isObject(value) &&
    typeof value.machineId === 'string' &&
    list(value.nodes).every(
      (n) => isObject(n) && typeof n.id === 'string' && typeof n.label === 'string',
    ) &&
    list(value.edges).every(
      (e) => isObject(e) && typeof e.source === 'string' && typeof e.target === 'string',
    ) &&
    Array.isArray(value.nodes) &&
    Array.isArray(value.edges)
  );
}

function isActor(value: unknown): value is ActorEntry {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.machineId === 'string' &&
    typeof value.state === 'string' &&
    typeof value.status === 'string' &&
    Array.isArray(value.active) &&
    (value.parent === null || typeof value.parent === 'string')
  );
}

function isSample(value: unknown): value is Sample {
  return (
    isObject(value) &&
    typeof value.at === 'number' &&
    list(value.runners).every((r) => isObject(r) && typeof r.id === 'string') &&
    Array.isArray(value.runners)
  );
}

function isError(value: unknown): value is ErrorEntry {
  return (
    isObject(value) &&
    typeof value.id === 'number' &&
    typeof value.code === 'string' &&
    typeof value.severity === 'string' &&
    typeof value.action === 'string' &&
    typeof value.message === 'string'
  );
}

function isResource(value: unknown): value is ResourceInfo {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.state === 'string' &&
    Array.isArray(value.dependsOn) &&
    Array.isArray(value.dependents)
  );
}

function isPhaseEntry(value: unknown): value is PhaseEntry {
  return (
    isObject(value) &&
    typeof value.phase === 'string' &&
    typeof value.at === 'number' &&
    typeof value.tasksLeft === 'number' &&
    typeof value.resourcesLeft === 'number'
  );
}

const PHASES: ReadonlySet<string> = new Set([
  'running',
  'signaling',
  'draining',
  'closing',
  'stopped',
]);

function isReport(value: unknown): value is ShutdownReport {
  return (
    isObject(value) &&
    typeof value.durationMs === 'number' &&
    typeof value.forced === 'boolean' &&
    isObject(value.phases) &&
    isObject(value.tasks) &&
    isObject(value.tasks.drained) &&
    isObject(value.resources) &&
    isObject(value.threads)
  );
}

/** The shutdown view, each part checked (a part that does not fit is left out). */
function shutdownView(value: unknown): ShutdownView {
  if (!isObject(value)) return NO_SHUTDOWN;
  return {
    phase:
      typeof value.phase === 'string' && PHASES.has(value.phase)
        ? (value.phase as ShutdownView['phase'])
        : 'running',
    reason: typeof value.reason === 'string' ? value.reason : null,
    timeline: list(value.timeline).filter(isPhaseEntry),
    now: isPhaseEntry(value.now) ? value.now : null,
    report: isReport(value.report) ? value.report : null,
  };
}

/** Keeps the last `n` items of `list`. */
function keepLast<T>(list: T[], n: number): T[] {
  return list.length > n ? list.slice(list.length - n) : list;
}

export class Store {
  connection: ConnectionStatus = 'reconnecting';
  /** Shown next to the connection status: `(the troupe stopped)`, `connecting…`. */
  connectionDetail = 'connecting…';
  /** A fatal problem (wrong protocol): shown as a banner. */
  error: string | null = null;
  /** A hello arrived (the state below is the server's). */
  hello = false;
  controls = false;
  nodeId = '';
  at = 0;
  ready = false;
  readonly actors = new Map<string, ActorEntry>();
  readonly machines = new Map<string, StatechartGraph>();
  resources: readonly ResourceInfo[] = [];
  samples: Sample[] = [];
  errors: ErrorEntry[] = [];
  shutdown: ShutdownView = NO_SHUTDOWN;
  /** The actor drawn in the statechart panel (null: the default one). */
  selected: string | null = null;
  readonly versions: Versions = {
    actors: 0,
    machines: 0,
    resources: 0,
    samples: 0,
    errors: 0,
    shutdown: 0,
    header: 0,
    selection: 0,
  };

  /** Touches every part (after a hello). */
  #all(): void {
    for (const key of Object.keys(this.versions) as (keyof Versions)[]) this.versions[key] += 1;
  }

  setConnection(status: ConnectionStatus, detail = ''): void {
    if (status === this.connection && detail === this.connectionDetail) return;
    this.connection = status;
    this.connectionDetail = detail;
    this.versions.header += 1;
  }

  setError(message: string | null): void {
    this.error = message;
    this.versions.header += 1;
  }

  select(id: string | null): void {
    if (id === this.selected) return;
    this.selected = id;
    this.versions.selection += 1;
  }

  /** The actor the statechart shows: the selection if it is live, else the first runner, else `shutdown`. */
  shown(): ActorEntry | null {
    if (this.selected !== null) {
      const entry = this.actors.get(this.selected);
      if (entry !== undefined) return entry;
    }
    const runners = [...this.actors.values()]
      .filter((a) => a.id.startsWith('runner:'))
      .sort((a, b) => natural.compare(a.id, b.id));
    return runners[0] ?? this.actors.get('shutdown') ?? null;
  }

  /** The last sample, if any. */
  lastSample(): Sample | null {
    return this.samples[this.samples.length - 1] ?? null;
  }

  /**
   * Applies one message from the server (parsed JSON, checked here: a part
   * that does not fit the protocol is dropped, never thrown on). Returns
   * false for a hello of another protocol (the connection should stop: the
   * page cannot read it).
   */
  apply(message: unknown): boolean {
    if (!isObject(message) || typeof message.type !== 'string') return true;
    const type = message.type as DashboardMessage['type'];
    switch (type) {
      case 'hello': {
        if (message.protocol !== DASHBOARD_PROTOCOL) {
          this.setError(
            `This page speaks dashboard protocol ${String(DASHBOARD_PROTOCOL)}, the server ${message.protocol === undefined ? 'none' : JSON.stringify(message.protocol)}: reload the page (or update the package).`,
          );
          return false;
        }
        this.#hello(message);
        return true;
      }
      case 'actors': {
        for (const entry of list(message.actors)) {
          if (isActor(entry)) this.actors.set(entry.id, entry);
        }
        for (const id of list(message.gone)) {
          if (typeof id === 'string') this.actors.delete(id);
        }
        this.versions.actors += 1;
        return true;
      }
      case 'machine': {
        if (isGraph(message.machine)) {
          this.machines.set(message.machine.machineId, message.machine);
          this.versions.machines += 1;
        }
        return true;
      }
      case 'sample': {
        if (isSample(message.sample)) {
          this.samples.push(message.sample);
          this.samples = keepLast(this.samples, SAMPLES_KEPT);
          this.at = message.sample.at;
        }
        if (typeof message.ready === 'boolean') this.ready = message.ready;
        this.versions.samples += 1;
        this.versions.header += 1;
        return true;
      }
      case 'resources': {
        this.resources = list(message.resources).filter(isResource);
        this.versions.resources += 1;
        return true;
      }
      case 'error': {
        if (isError(message.error)) {
          this.errors.push(message.error);
          this.errors = keepLast(this.errors, ERRORS_KEPT);
          this.versions.errors += 1;
        }
        return true;
      }
      case 'shutdown': {
        this.shutdown = shutdownView(message.shutdown);
        // Readiness is false from SIGNALING on (the next sample would say so a second later).
        if (this.shutdown.phase !== 'running') this.ready = false;
        this.versions.shutdown += 1;
        this.versions.header += 1;
        return true;
      }
      case 'controlResult':
        // Controls are not part of this page.
        return true;
      default:
        // Something newer: nothing to show.
        return true;
    }
  }

  #hello(message: Loose): void {
    const state = isObject(message.state) ? message.state : {};
    this.hello = true;
    this.error = null;
    this.controls = message.controls === true;
    this.nodeId = typeof state.nodeId === 'string' ? state.nodeId : '';
    this.at = typeof state.at === 'number' ? state.at : 0;
    this.ready = state.ready === true;
    this.actors.clear();
    for (const entry of list(state.actors)) {
      if (isActor(entry)) this.actors.set(entry.id, entry);
    }
    this.machines.clear();
    for (const graph of Object.values(isObject(message.machines) ? message.machines : {})) {
      if (isGraph(graph)) this.machines.set(graph.machineId, graph);
    }
    this.resources = list(state.resources).filter(isResource);
    this.samples = keepLast(list(state.samples).filter(isSample), SAMPLES_KEPT);
    this.errors = keepLast(list(state.errors).filter(isError), ERRORS_KEPT);
    this.shutdown = shutdownView(state.shutdown);
    this.#all();
  }

  /** A plain copy, for tests and the console. */
  snapshot(): StateSnapshot {
    return {
      connection: this.connection,
      connectionDetail: this.connectionDetail,
      error: this.error,
      hello: this.hello,
      controls: this.controls,
      nodeId: this.nodeId,
      at: this.at,
      ready: this.ready,
      actors: [...this.actors.values()],
      machines: Object.fromEntries(this.machines),
      resources: this.resources,
      samples: this.samples,
      errors: this.errors,
      shutdown: this.shutdown,
      selected: this.shown()?.id ?? null,
    };
  }
}
