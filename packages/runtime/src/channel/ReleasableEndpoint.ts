import type * as Comlink from 'comlink';

type Listener = Parameters<Comlink.Endpoint['addEventListener']>[1];
type TransferList = Parameters<Comlink.Endpoint['postMessage']>[1];

/**
 * The endpoint Comlink is given instead of the port itself. Comlink keeps
 * every endpoint it wraps in a FinalizationRegistry as the held value of
 * its proxy, and the port's listeners reach back to that proxy: the proxy
 * can never be collected, and with it everything its channel reaches (a
 * whole runner per closed channel). Released, this endpoint drops the port
 * and the listeners, which breaks the cycle.
 */
export class ReleasableEndpoint implements Comlink.Endpoint {
  #port: Comlink.Endpoint | null;
  readonly #listeners: [string, Listener][] = [];

  constructor(port: Comlink.Endpoint) {
    this.#port = port;
  }

  postMessage(message: unknown, transfer?: TransferList): void {
    this.#port?.postMessage(message, transfer);
  }

  addEventListener(type: string, listener: Listener, options?: object): void {
    if (this.#port === null) return;
    this.#listeners.push([type, listener]);
    this.#port.addEventListener(type, listener, options);
  }

  removeEventListener(type: string, listener: Listener, options?: object): void {
    const at = this.#listeners.findIndex(([t, l]) => t === type && l === listener);
    if (at >= 0) this.#listeners.splice(at, 1);
    this.#port?.removeEventListener(type, listener, options);
  }

  start(): void {
    this.#port?.start?.();
  }

  /** Detaches Comlink from the port for good. */
  release(): void {
    const port = this.#port;
    if (port === null) return;
    for (const [type, listener] of this.#listeners) port.removeEventListener(type, listener);
    this.#listeners.length = 0;
    this.#port = null;
  }
}
