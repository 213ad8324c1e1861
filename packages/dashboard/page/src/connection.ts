// The WebSocket to the troupe: `<page>/live`, reconnected with backoff
// (250 ms doubling to 2 s) until the troupe says it stopped (close 1001).
import type { ConnectionStatus } from './store.js';

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 2_000;
/** The server closes with "going away" once the troupe stopped. */
const TROUPE_STOPPED = 1001;

export interface ConnectionEvents {
  /** A message arrived. Return false to close for good (a protocol the page cannot read). */
  readonly message: (message: unknown) => boolean;
  readonly status: (status: ConnectionStatus, detail: string) => void;
}

/** The live URL next to the page: `http://h/x/dashboard/` gives `ws://h/x/dashboard/live`. */
export function liveUrl(href: string = location.href): string {
  const url = new URL('live', href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.hash = '';
  url.search = '';
  return url.toString();
}

export class Connection {
  readonly #url: string;
  readonly #events: ConnectionEvents;
  #socket: WebSocket | null = null;
  #delay = FIRST_DELAY_MS;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;

  constructor(url: string, events: ConnectionEvents) {
    this.#url = url;
    this.#events = events;
  }

  /** The socket now (null between attempts and once closed for good). */
  get socket(): WebSocket | null {
    return this.#socket;
  }

  start(): void {
    if (this.#stopped || this.#socket !== null) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#url);
    } catch (error) {
      this.#retry(`cannot connect: ${String(error)}`);
      return;
    }
    this.#socket = socket;
    socket.addEventListener('open', () => {
      if (this.#socket !== socket) return;
      this.#events.status('reconnecting', 'waiting for hello…');
    });
    socket.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (this.#socket !== socket || typeof event.data !== 'string') return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      let keep = true;
      try {
        keep = this.#events.message(message);
      } catch (error) {
        console.error('troupe dashboard: cannot apply a message', error, message);
      }
      if (!keep) this.stop('(protocol mismatch)');
      else if (
        typeof message === 'object' &&
        message !== null &&
        (message as { type?: unknown }).type === 'hello'
      ) {
        this.#delay = FIRST_DELAY_MS;
        this.#events.status('live', '');
      }
    });
    socket.addEventListener('close', (event: CloseEvent) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (event.code === TROUPE_STOPPED) {
        this.#stopped = true;
        this.#events.status('closed', '(the troupe stopped)');
        return;
      }
      this.#retry(event.reason === '' ? '' : `(${event.reason})`);
    });
    // An error is always followed by a close: nothing to do here.
    socket.addEventListener('error', () => undefined);
  }

  /** Closes for good. */
  stop(detail = ''): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close(1000, 'page closed');
    this.#events.status('closed', detail);
  }

  #retry(detail: string): void {
    if (this.#stopped) return;
    const delay = this.#delay;
    this.#delay = Math.min(MAX_DELAY_MS, this.#delay * 2);
    this.#events.status('reconnecting', detail === '' ? `retry in ${String(delay)} ms` : detail);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.start();
    }, delay);
  }
}
