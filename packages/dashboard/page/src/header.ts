// The header bar: the troupe, its shutdown phase, readiness, health and
// the connection.
import type { Store } from './store.js';

function byId(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page lacks #${id}`);
  return element;
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

export class HeaderView {
  readonly #node = byId('node-id');
  readonly #phase = byId('phase');
  readonly #ready = byId('ready');
  readonly #score = byId('score');
  readonly #connection = byId('connection');
  readonly #connectionDetail = byId('connection-detail');
  readonly #updated = byId('updated');
  readonly #banner = byId('banner');

  render(store: Store): void {
    setText(this.#node, store.hello ? store.nodeId : '—');
    document.title = store.hello ? `Troupe dashboard · ${store.nodeId}` : 'Troupe dashboard';

    const phase = store.hello ? store.shutdown.phase : '';
    setText(this.#phase, phase === '' ? '—' : phase);
    this.#phase.dataset.phase = phase;

    setText(this.#ready, store.hello ? (store.ready ? 'ready' : 'not ready') : '—');
    this.#ready.dataset.tone = !store.hello ? 'none' : store.ready ? 'ok' : 'bad';

    const score = store.lastSample()?.score ?? null;
    setText(this.#score, score === null ? '—' : score.toFixed(2));
    this.#score.dataset.tone =
      score === null ? 'none' : score >= 0.8 ? 'ok' : score >= 0.5 ? 'warn' : 'bad';

    setText(this.#connection, store.connection);
    this.#connection.dataset.status = store.connection;
    setText(this.#connectionDetail, store.connectionDetail);

    const last = store.lastSample()?.at ?? store.at;
    setText(this.#updated, last > 0 ? new Date(last).toLocaleTimeString() : '—');

    this.#banner.hidden = store.error === null;
    setText(this.#banner, store.error ?? '');
    document.body.dataset.connection = store.connection;
  }
}
