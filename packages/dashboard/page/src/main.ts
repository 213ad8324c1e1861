// The dashboard page: one store fed by the WebSocket, drawn at most once
// per animation frame (each view only when its part of the state changed).
import './style.css';
import { RunnerCards } from './charts.js';
import { Connection, liveUrl } from './connection.js';
import { ErrorList } from './errors.js';
import { HeaderView } from './header.js';
import { StatechartView } from './statechart.js';
import { Store, type StateSnapshot, type Versions } from './store.js';
import { ShutdownTimeline } from './timeline.js';
import { TreeView } from './tree.js';

declare global {
  interface Window {
    __troupeDashboard?: {
      readonly socket: WebSocket | null;
      readonly state: StateSnapshot;
    };
  }
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page lacks #${id}`);
  return element as T;
}

const store = new Store();
const drawn: Versions = {
  actors: -1,
  machines: -1,
  resources: -1,
  samples: -1,
  errors: -1,
  shutdown: -1,
  header: -1,
  selection: -1,
};

const select = (id: string): void => {
  store.select(id);
  schedule();
};

const header = new HeaderView();
const tree = new TreeView(byId('actors'), byId('actors-count'), select);
const chart = new StatechartView(
  byId('statechart'),
  byId('chart-actor'),
  byId('chart-state'),
  byId('chart-info'),
  { fit: byId<HTMLButtonElement>('chart-fit'), focus: byId<HTMLButtonElement>('chart-focus') },
);
const runners = new RunnerCards(byId('runners'), byId('runners-count'), (runnerId) => {
  if (store.actors.has(`runner:${runnerId}`)) select(`runner:${runnerId}`);
});
const errors = new ErrorList(byId('errors'), byId('errors-count'));
const timeline = new ShutdownTimeline(byId('shutdown'));

/** What the statechart showed last (actor, its state, its machine). */
let charted: { id: string | null; at: number; state: string; graph: unknown } = {
  id: null,
  at: -1,
  state: '',
  graph: null,
};

function changed(key: keyof Versions): boolean {
  return drawn[key] !== store.versions[key];
}

function render(): void {
  const v = store.versions;
  try {
    if (changed('header') || changed('samples') || changed('shutdown')) header.render(store);
    const shown = store.shown();
    const shownId = shown?.id ?? null;
    if (changed('actors') || changed('resources') || changed('selection')) {
      tree.render(store.nodeId, store.actors, store.resources, shownId);
    }
    const graph = shown === null ? undefined : store.machines.get(shown.machineId);
    if (
      shownId !== charted.id ||
      (shown !== null && (shown.state !== charted.state || shown.at !== charted.at)) ||
      graph !== charted.graph
    ) {
      chart.show(shown, graph);
      charted = { id: shownId, at: shown?.at ?? -1, state: shown?.state ?? '', graph };
    }
    if (changed('samples') || changed('selection') || changed('actors')) {
      const runnerId =
        shownId !== null && shownId.startsWith('runner:') ? shownId.slice('runner:'.length) : null;
      runners.render(store.samples, runnerId);
    }
    if (changed('machines')) {
      // The shown machine first (above), then the others while idle.
      const first = graph;
      const waiting = first === undefined ? Promise.resolve() : chart.ready(first);
      void waiting.then(() => chart.prefetch(store.machines.values()));
    }
    if (changed('errors')) errors.render(store.errors);
    if (changed('shutdown')) timeline.render(store.shutdown);
  } catch (error) {
    console.error('troupe dashboard: render failed', error);
  }
  Object.assign(drawn, v);
}

let frame: number | null = null;
function schedule(): void {
  if (frame !== null) return;
  frame = requestAnimationFrame(() => {
    frame = null;
    render();
  });
}

const connection = new Connection(liveUrl(), {
  message: (message) => {
    const ok = store.apply(message);
    schedule();
    return ok;
  },
  status: (status, detail) => {
    store.setConnection(status, detail);
    schedule();
  },
});

window.__troupeDashboard = {
  get socket() {
    return connection.socket;
  },
  get state() {
    return store.snapshot();
  },
};

render();
connection.start();
