import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';

/**
 * One wildcard subscription for the replies of every task this node sends
 * (as `nc.request()` does), instead of a subscription per task: a task
 * costs one publish, not a SUB, a publish and an UNSUB.
 */
export class ReplyRouter {
  readonly #prefix: string;
  readonly #routes = new Map<string, (error: Error | null, msg: Msg | null) => void>();
  #next = 0;

  constructor(nc: NatsConnection) {
    this.#prefix = createInbox();
    // Closed with the connection (a leave drains it).
    nc.subscribe(`${this.#prefix}.*`, {
      callback: (error, msg) => {
        if (error !== null) {
          // The subscription failed (permissions, the connection closed): every task learns it.
          for (const route of [...this.#routes.values()]) route(error, null);
          this.#routes.clear();
          return;
        }
        this.#routes.get(msg.subject)?.(null, msg);
      },
    });
  }

  /** A new inbox whose replies go to `route` until `release`. */
  open(route: (error: Error | null, msg: Msg | null) => void): {
    inbox: string;
    release: () => void;
  } {
    const inbox = `${this.#prefix}.${(++this.#next).toString(36)}`;
    this.#routes.set(inbox, route);
    return { inbox, release: () => this.#routes.delete(inbox) };
  }
}
