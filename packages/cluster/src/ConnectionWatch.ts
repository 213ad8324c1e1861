import type { NatsConnection } from '@nats-io/transport-node';

/**
 * Follows a NATS connection's status: whether it is connected now, how many
 * times it dropped, and who wants to know when it is back. The NATS client
 * silently drops what is published while it is disconnected (FIELD-NOTES),
 * so whoever published across a drop must check what became of it.
 */
export class ConnectionWatch {
  readonly #reconnect = new Set<() => void>();
  #connected = true;
  #drops = 0;
  #droppedAt = 0;
  #reconnectedAt = 0;

  constructor(nc: NatsConnection, onError: (error: unknown) => void) {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') {
          this.#connected = false;
          this.#drops += 1;
          this.#droppedAt = Date.now();
        } else if (status.type === 'reconnect') {
          this.#connected = true;
          this.#reconnectedAt = Date.now();
          for (const listener of [...this.#reconnect]) {
            try {
              listener();
            } catch (error) {
              onError(error);
            }
          }
        }
      }
    })().catch(onError);
  }

  /** Connected to a broker now. */
  get connected(): boolean {
    return this.#connected;
  }

  /** How many times the connection dropped so far. */
  get drops(): number {
    return this.#drops;
  }

  /** Epoch ms of the last drop (0: none). */
  get droppedAt(): number {
    return this.#droppedAt;
  }

  /** Epoch ms of the last reconnect (0: none). */
  get reconnectedAt(): number {
    return this.#reconnectedAt;
  }

  /** Called each time the connection is back. Returns the unsubscribe. */
  onReconnect(listener: () => void): () => void {
    this.#reconnect.add(listener);
    return () => this.#reconnect.delete(listener);
  }

  /** Resolves once connected (at once if it is), or `false` after `withinMs`. */
  reconnected(withinMs: number): Promise<boolean> {
    if (this.#connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        off();
        resolve(false);
      }, withinMs);
      const off = this.onReconnect(() => {
        clearTimeout(timer);
        off();
        resolve(true);
      });
    });
  }
}
