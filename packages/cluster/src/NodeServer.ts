import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { NoNodeError, PayloadTooLargeError, toErrorData } from '@troupe/core';
import type { Troupe } from '@troupe/runtime';
import type { Subjects } from './subjects.js';
import { encode, type TaskReply, type TaskRequest } from './wire.js';

const decoder = new TextDecoder();

/**
 * Serves this node's runners to the cluster: one queue-group subscription
 * per runner it hosts (NATS gives each task to one member of the group),
 * and for each task an ack (which node took it), its events in order, then
 * its result or its error as data, all on the task's inbox. A node never
 * runs work for a runner it does not host.
 */
export class NodeServer {
  readonly #nc: NatsConnection;
  readonly #subjects: Subjects;
  readonly #troupe: Troupe;
  readonly #nodeId: string;
  readonly #subs = new Map<string, Subscription>();
  readonly #idle = new Set<() => void>();
  #serving = true;
  inFlight = 0;

  constructor(options: { nc: NatsConnection; subjects: Subjects; troupe: Troupe; nodeId: string }) {
    this.#nc = options.nc;
    this.#subjects = options.subjects;
    this.#troupe = options.troupe;
    this.#nodeId = options.nodeId;
  }

  /** The runners this node serves now. */
  get hosted(): string[] {
    return [...this.#subs.keys()];
  }

  /** Subscribes for every live runner, unsubscribes for those gone. */
  sync(): void {
    if (!this.#serving) return;
    const live = new Set(
      this.#troupe.runners
        .filter((r) => r.state !== 'stopped' && r.state !== 'failed')
        .map((r) => r.id),
    );
    for (const [id, sub] of this.#subs) {
      if (live.has(id)) continue;
      sub.unsubscribe();
      this.#subs.delete(id);
    }
    for (const id of live) {
      if (this.#subs.has(id)) continue;
      this.#subs.set(
        id,
        this.#nc.subscribe(this.#subjects.run(id), {
          queue: this.#subjects.queue,
          callback: (error, msg) => {
            if (error === null) this.#handle(id, msg);
          },
        }),
      );
    }
  }

  /** Takes no new task from now on (tasks taken go on). */
  async stopServing(): Promise<void> {
    this.#serving = false;
    const subs = [...this.#subs.values()];
    this.#subs.clear();
    await Promise.all(subs.map((sub) => sub.drain()));
  }

  /** Resolves once no task taken from the cluster runs here. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  #reply(msg: Msg, reply: TaskReply): void {
    if (msg.reply === undefined) return;
    let data: Uint8Array;
    try {
      data = encode(reply, this.#nc.info?.max_payload ?? 1024 * 1024, `the ${reply.t} of a task`);
    } catch (error) {
      if (!(error instanceof PayloadTooLargeError) || reply.t === 'err') return;
      data = encode({ t: 'err', error: toErrorData(error) }, Number.MAX_SAFE_INTEGER, 'an error');
    }
    this.#nc.publish(msg.reply, data);
  }

  #handle(runnerId: string, msg: Msg): void {
    let request: TaskRequest;
    try {
      request = JSON.parse(decoder.decode(msg.data)) as TaskRequest;
    } catch {
      return;
    }
    const runner = this.#troupe.runner(runnerId);
    if (runner === undefined) {
      this.#reply(msg, {
        t: 'err',
        error: toErrorData(
          new NoNodeError(`node "${this.#nodeId}" does not host runner "${runnerId}"`, {
            context: { runnerId, nodeId: this.#nodeId, operation: 'run' },
          }),
        ),
      });
      return;
    }
    this.inFlight += 1;
    this.#reply(msg, { t: 'ack', nodeId: this.#nodeId });
    runner
      .run(request.payload, {
        ...(request.handler === undefined ? {} : { handler: request.handler }),
        ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
        onEvent: (event) => {
          this.#reply(msg, { t: 'event', event });
        },
      })
      .then(
        (value) => {
          this.#reply(msg, { t: 'ok', value });
        },
        (error: unknown) => {
          this.#reply(msg, { t: 'err', error: toErrorData(error) });
        },
      )
      .finally(() => {
        this.inFlight -= 1;
        if (this.inFlight === 0) {
          for (const resolve of this.#idle) resolve();
          this.#idle.clear();
        }
      });
  }
}
