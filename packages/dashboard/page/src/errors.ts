// The errors panel: the troupe's error stream, newest first, coloured by
// severity. Rows are keyed by the error's id: a new error adds one row.
import type { ErrorEntry } from '../../src/protocol.js';

const MESSAGE_MAX = 240;

export function clock(at: number, millis = true): string {
  if (!Number.isFinite(at) || at <= 0) return '—';
  const d = new Date(at);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const base = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return millis ? `${base}.${pad(d.getMilliseconds(), 3)}` : base;
}

function cell(className: string, text: string): HTMLSpanElement {
  const element = document.createElement('span');
  element.className = className;
  element.textContent = text;
  return element;
}

function row(error: ErrorEntry): HTMLElement {
  const element = document.createElement('div');
  element.className = 'error-row';
  element.dataset.errorCode = error.code;
  const severity = error.severity.toUpperCase();
  element.dataset.severity = severity;
  const message = error.message;
  element.title = [
    `${error.code} · ${severity} · ${error.action}`,
    new Date(error.at).toISOString(),
    error.runnerId === null ? '' : `runner ${error.runnerId}`,
    error.component === null ? '' : `component ${error.component}`,
    message,
  ]
    .filter((s) => s !== '')
    .join('\n');
  element.append(
    cell('e-time', clock(error.at)),
    cell('e-sev', severity),
    cell('e-code', error.code),
    cell('e-action', error.action),
    cell('e-runner', error.runnerId ?? error.component ?? '—'),
    cell('e-msg', message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX - 1)}…` : message),
  );
  return element;
}

export class ErrorList {
  readonly #count: HTMLElement;
  readonly #rows = new Map<number, HTMLElement>();
  readonly #empty: HTMLElement;

  constructor(host: HTMLElement, count: HTMLElement) {
    this.#count = count;
    this.#empty = document.createElement('div');
    this.#empty.className = 'empty-note';
    this.#empty.textContent = 'no errors';
    host.append(this.#empty);
  }

  render(errors: readonly ErrorEntry[]): void {
    this.#count.textContent = String(errors.length);
    this.#empty.hidden = errors.length > 0;
    const seen = new Set<number>();
    // Newest first: walk from the newest, each row placed after the previous one.
    let previous: Element = this.#empty;
    for (let i = errors.length - 1; i >= 0; i -= 1) {
      const error = errors[i];
      if (error === undefined || seen.has(error.id)) continue;
      seen.add(error.id);
      let element = this.#rows.get(error.id);
      if (element === undefined) {
        element = row(error);
        this.#rows.set(error.id, element);
      }
      if (previous.nextElementSibling !== element) previous.after(element);
      previous = element;
    }
    for (const [id, element] of this.#rows) {
      if (seen.has(id)) continue;
      element.remove();
      this.#rows.delete(id);
    }
  }
}
