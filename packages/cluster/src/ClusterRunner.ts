import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import {
  ClusterUnavailableError,
  ErrorCodes,
  fromErrorData,
  NodeLostError,
  NoNodeError,
  isTroupeError,
} from '@troupe/core';
import type { Membership } from './Membership.js';
import type { Subjects } from './subjects.js';
import { encode, type TaskReply, type TaskRequest } from './wire.js';

/** Options of {@link ClusterRunner.run}. */
export interface ClusterRunOptions {
  readonly handler?: string;
  readonly timeoutMs?: number;
  /** Each event the task emits, in order, before the result. */
  readonly onEvent?: (event: unknown) => void;
  /**
   * The task may run twice: if its node is lost, it is retried on another
   * node (up to `retries` times, default 2) instead of rejecting.
   */
  readonly idempotent?: boolean;
  readonly retries?: number;
  /** Called once a node took the task (each attempt), with its id. */
  readonly onPlaced?: (nodeId: string) => void;
}

const decoder = new TextDecoder();
let sequence = 0;

/**
 * A runner of the cluster: `run()` sends the task to one of the nodes that
 * host a runner of that name and resolves with its result, with the same
 * typed errors as a local runner, plus `ERR_NO_NODE` (no node hosts it),
 * `ERR_NODE_LOST` (its node died before it finished; an idempotent task is
 * retried first), `ERR_PAYLOAD_TOO_LARGE` and `ERR_CLUSTER_UNAVAILABLE`.
 */
export class ClusterRunner {
  readonly name: string;
  readonly #nc: NatsConnection;
  readonly #subjects: Subjects;
  readonly #membership: Membership;
  readonly #nodeId: string;
  readonly #ackTimeoutMs: number;

  constructor(options: {
    name: string;
    nc: NatsConnection;
    subjects: Subjects;
    membership: Membership;
    nodeId: string;
    ackTimeoutMs: number;
  }) {
    this.name = options.name;
    this.#nc = options.nc;
    this.#subjects = options.subjects;
    this.#membership = options.membership;
    this.#nodeId = options.nodeId;
    this.#ackTimeoutMs = options.ackTimeoutMs;
  }

  /** Runs a task on a node that hosts this runner. */
  async run(payload: unknown, options: ClusterRunOptions = {}): Promise<unknown> {
    const attempts = options.idempotent === true ? (options.retries ?? 2) + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(payload, options);
      } catch (error) {
        const lost = isTroupeError(error) && error.code === ErrorCodes.NODE_LOST;
        if (!lost || attempt >= attempts) throw error;
      }
    }
  }

  #once(payload: unknown, options: ClusterRunOptions): Promise<unknown> {
    if (this.#nc.isClosed()) {
      return Promise.reject(
        new ClusterUnavailableError('the cluster connection is closed', {
          context: { runnerId: this.name, operation: 'run' },
        }),
      );
    }
    const taskId = `${this.#nodeId}/${this.name}#${++sequence}`;
    const request: TaskRequest = {
      taskId,
      from: this.#nodeId,
      payload,
      ...(options.handler === undefined ? {} : { handler: options.handler }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    };
    let data: Uint8Array;
    try {
      data = encode(request, this.#nc.info?.max_payload ?? 1024 * 1024, `the payload of ${taskId}`);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<unknown>((resolve, reject) => {
      const inbox = createInbox();
      let servedBy: string | null = null;
      let done = false;
      const context = { runnerId: this.name, taskId, operation: 'run' as const };
      const finish = (outcome: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(ackTimer);
        offMembers();
        sub.unsubscribe();
        outcome();
      };
      const noNode = (why: string): void => {
        finish(() => {
          reject(new NoNodeError(`no node serves runner "${this.name}": ${why}`, { context }));
        });
      };
      const offMembers = this.#membership.onChange((view) => {
        if (servedBy === null || view.nodeId !== servedBy) return;
        if (view.state !== 'down' && view.state !== 'removed') return;
        finish(() => {
          reject(
            new NodeLostError(
              `node "${view.nodeId}" ${view.state === 'down' ? 'stopped answering (its heartbeat lapsed)' : 'left the cluster'} before task ${taskId} finished`,
              { context: { ...context, nodeId: view.nodeId } },
            ),
          );
        });
      });
      const ackTimer = setTimeout(() => {
        if (servedBy === null) noNode(`no node took the task within ${this.#ackTimeoutMs} ms`);
      }, this.#ackTimeoutMs);
      const sub = this.#nc.subscribe(inbox, {
        callback: (error, msg: Msg) => {
          if (error !== null) {
            finish(() => {
              reject(
                new ClusterUnavailableError(`the cluster connection failed: ${error.message}`, {
                  cause: error,
                  context,
                }),
              );
            });
            return;
          }
          // The broker's "no responders" status: nobody subscribes to the runner's subject.
          if (msg.headers?.code === 503) {
            noNode('no node hosts it');
            return;
          }
          let reply: TaskReply;
          try {
            reply = JSON.parse(decoder.decode(msg.data)) as TaskReply;
          } catch {
            return;
          }
          switch (reply.t) {
            case 'ack':
              servedBy = reply.nodeId;
              clearTimeout(ackTimer);
              try {
                options.onPlaced?.(reply.nodeId);
              } catch {
                // A listener's bug must not lose the task.
              }
              return;
            case 'event':
              try {
                options.onEvent?.(reply.event);
              } catch {
                // A listener's bug must not lose the task.
              }
              return;
            case 'ok':
              finish(() => {
                resolve(reply.value);
              });
              return;
            case 'err':
              finish(() => {
                reject(fromErrorData(reply.error));
              });
              return;
          }
        },
      });
      this.#nc.publish(this.#subjects.run(this.name), data, { reply: inbox });
    });
  }
}
