import type { Msg, NatsConnection } from '@nats-io/transport-node';
import {
  ClusterUnavailableError,
  ErrorCodes,
  fromErrorData,
  NodeLostError,
  NoNodeError,
  isTroupeError,
} from '@troupe/core';
import type { ConnectionWatch } from './ConnectionWatch.js';
import type { Membership } from './Membership.js';
import type { ReplyRouter } from './ReplyRouter.js';
import type { Subjects } from './subjects.js';
import {
  encode,
  type TaskOutcome,
  type TaskReply,
  type TaskRequest,
  type TaskStatusReply,
} from './wire.js';

/** Options of {@link ClusterRunner.run}. */
export interface ClusterRunOptions {
  readonly handler?: string;
  readonly timeoutMs?: number;
  /** Each event the task emits, in order, before the result. */
  readonly onEvent?: (event: unknown) => void;
  /**
   * The task may run twice: if its node is lost (`ERR_NODE_LOST`), no node
   * acknowledged it within `ackTimeoutMs` (the chosen node died as it got
   * it), or the broker connection dropped before a node took it
   * (`ERR_CLUSTER_UNAVAILABLE`), it is retried, on another node when there
   * is one (up to `retries` times, default 2), instead of rejecting.
   */
  readonly idempotent?: boolean;
  readonly retries?: number;
  /** Called once a node took the task (each attempt), with its id. */
  readonly onPlaced?: (nodeId: string) => void;
}

const decoder = new TextDecoder();
let sequence = 0;
/** Errors of a task that no node acknowledged in time: an idempotent task tries again. */
const unacknowledged = new WeakSet<object>();
/** How often, and how many times, a caller asks a node what became of its task after an outage. */
const STATUS_RETRY_MS = 200;
const STATUS_ATTEMPTS = 25;
/** "No responders" just after a reconnect: the task is sent again this soon. */
const RESEND_AFTER_503_MS = 100;

/**
 * A runner of the cluster: `run()` sends the task to one of the nodes that
 * host a runner of that name and resolves with its result, with the same
 * typed errors as a local runner, plus `ERR_NO_NODE` (no node hosts it),
 * `ERR_NODE_LOST` (its node died before it finished; an idempotent task is
 * retried first), `ERR_PAYLOAD_TOO_LARGE` and `ERR_CLUSTER_UNAVAILABLE`
 * (the broker connection is down, or dropped before a node took the task:
 * it may or may not have run). When the connection drops while a node runs
 * the task, the caller asks that node, once back, what became of it: the
 * outcome is never lost (events emitted during the outage are).
 */
export class ClusterRunner {
  readonly name: string;
  readonly #nc: NatsConnection;
  readonly #subjects: Subjects;
  readonly #membership: Membership;
  readonly #nodeId: string;
  readonly #ackTimeoutMs: number;
  readonly #watch: ConnectionWatch;
  readonly #replies: ReplyRouter;

  constructor(options: {
    name: string;
    nc: NatsConnection;
    subjects: Subjects;
    membership: Membership;
    nodeId: string;
    ackTimeoutMs: number;
    watch: ConnectionWatch;
    replies: ReplyRouter;
  }) {
    this.name = options.name;
    this.#nc = options.nc;
    this.#subjects = options.subjects;
    this.#membership = options.membership;
    this.#nodeId = options.nodeId;
    this.#ackTimeoutMs = options.ackTimeoutMs;
    this.#watch = options.watch;
    this.#replies = options.replies;
  }

  /** Runs a task on a node that hosts this runner. */
  async run(payload: unknown, options: ClusterRunOptions = {}): Promise<unknown> {
    const attempts = options.idempotent === true ? (options.retries ?? 2) + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(payload, options);
      } catch (error) {
        const again =
          isTroupeError(error) &&
          (error.code === ErrorCodes.NODE_LOST ||
            error.code === ErrorCodes.CLUSTER_UNAVAILABLE ||
            unacknowledged.has(error));
        if (!again || attempt >= attempts || this.#nc.isClosed()) throw error;
        // After a drop, wait for the connection before trying again.
        await this.#watch.reconnected(this.#ackTimeoutMs);
      }
    }
  }

  async #once(payload: unknown, options: ClusterRunOptions): Promise<unknown> {
    // Reconnecting: the task waits for the broker (up to ackTimeoutMs) rather than being lost.
    if (!this.#nc.isClosed() && !this.#watch.connected) {
      await this.#watch.reconnected(this.#ackTimeoutMs);
    }
    if (this.#nc.isClosed() || !this.#watch.connected) {
      throw new ClusterUnavailableError(
        this.#nc.isClosed()
          ? 'the cluster connection is closed'
          : `the broker connection is down (reconnecting for ${this.#ackTimeoutMs} ms now): the task was not sent`,
        { context: { runnerId: this.name, operation: 'run' } },
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
    const data = encode(
      request,
      this.#nc.info?.max_payload ?? 1024 * 1024,
      `the payload of ${taskId}`,
    );
    return new Promise<unknown>((resolve, reject) => {
      let servedBy: string | null = null;
      let done = false;
      const context = { runnerId: this.name, taskId, operation: 'run' as const };
      const drops = this.#watch.drops;
      const finish = (outcome: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(ackTimer);
        offMembers();
        offReconnect();
        route.release();
        outcome();
      };
      const unavailable = (why: string): void => {
        finish(() => {
          reject(
            new ClusterUnavailableError(why, {
              context: { ...context, nodeId: servedBy ?? undefined },
            }),
          );
        });
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
      const onAckTimeout = (): void => {
        if (servedBy !== null) return;
        if (this.#watch.drops !== drops || !this.#watch.connected) {
          unavailable(
            `the broker connection dropped before a node took task ${taskId} (it may or may not have run)`,
          );
        } else {
          // A node was chosen but never said so: it died as the task reached it.
          finish(() => {
            const error = new NoNodeError(
              `no node serves runner "${this.name}": no node took task ${taskId} within ${this.#ackTimeoutMs} ms`,
              { context },
            );
            unacknowledged.add(error);
            reject(error);
          });
        }
      };
      let ackTimer = setTimeout(onAckTimeout, this.#ackTimeoutMs);
      // Events in order: `expected` is the next one to deliver; any that came
      // early wait in `early`; an outcome that came before all its events
      // waits in `final` while the missing ones are asked for.
      let expected = 0;
      const early = new Map<number, unknown>();
      let final: TaskOutcome | null = null;
      let recovering = false;
      // (Read through a call: `advance()` may have finished the task meanwhile.)
      const isDone = (): boolean => done;
      const deliver = (event: unknown): void => {
        try {
          options.onEvent?.(event);
        } catch {
          // A listener's bug must not lose the task.
        }
      };
      const advance = (): void => {
        while (early.has(expected)) {
          const event = early.get(expected);
          early.delete(expected);
          expected += 1;
          deliver(event);
        }
        if (final !== null && expected >= (final.events ?? 0)) {
          const outcome = final;
          finish(() => {
            if (outcome.t === 'ok') resolve(outcome.value);
            else reject(fromErrorData(outcome.error));
          });
        }
      };
      const lostEvents = (firstKept: number): void => {
        unavailable(
          `events ${expected}-${firstKept - 1} of task ${taskId} were lost while the broker connection was down, and node "${String(servedBy)}" no longer keeps them`,
        );
      };
      // What the node kept of this task: the events this caller missed, its outcome.
      const recover = (): void => {
        if (recovering || done || servedBy === null) return;
        recovering = true;
        const node = servedBy;
        void this.#askStatus(node, taskId, expected - 1, () => done).then((status) => {
          recovering = false;
          if (done) return;
          if (status === null) {
            unavailable(
              `node "${node}" did not say what became of task ${taskId} after the broker connection dropped`,
            );
            return;
          }
          if (status.state === 'unknown') {
            finish(() => {
              reject(
                new NodeLostError(`node "${node}" no longer knows task ${taskId} (it restarted)`, {
                  context: { ...context, nodeId: node },
                }),
              );
            });
            return;
          }
          for (const { seq, event } of status.events ?? []) {
            if (seq >= expected) early.set(seq, event);
          }
          const first = Math.min(...early.keys());
          if (early.size > 0 && first > expected) {
            lostEvents(first);
            return;
          }
          if (status.state === 'done') final ??= status.outcome;
          advance();
          if (isDone()) return;
          // Done, yet not every event came: the node no longer has them.
          if (status.state === 'done') {
            lostEvents(final?.events ?? 0);
            return;
          }
          // Running: what came meanwhile may still miss some (asked again); else the rest is to come.
          if (early.size > 0 || final !== null) recover();
        });
      };
      // The connection is back: what was sent during the drop is lost. Ask the node.
      const offReconnect = this.#watch.onReconnect(() => {
        if (done) return;
        if (servedBy === null) {
          // The ack may be lost: wait for it (or the outcome) once more.
          clearTimeout(ackTimer);
          ackTimer = setTimeout(onAckTimeout, this.#ackTimeoutMs);
          return;
        }
        recover();
      });
      // The ack, or the outcome of a task that finished before its node acked it.
      const placed = (nodeId: string | undefined): void => {
        if (servedBy !== null || nodeId === undefined) return;
        servedBy = nodeId;
        clearTimeout(ackTimer);
        try {
          options.onPlaced?.(nodeId);
        } catch {
          // A listener's bug must not lose the task.
        }
      };
      const handle = (reply: TaskReply): void => {
        switch (reply.t) {
          case 'ack':
            placed(reply.nodeId);
            return;
          case 'event':
            if (reply.seq < expected) return; // sent again: already delivered
            early.set(reply.seq, reply.event);
            advance();
            if (early.size > 0) recover(); // a gap: some were lost
            return;
          case 'ok':
          case 'err':
            placed(reply.nodeId);
            final ??= reply;
            advance();
            if (!done) recover(); // it emitted more than came
            return;
        }
      };
      const route = this.#replies.open((error, msg: Msg | null) => {
        if (error !== null || msg === null) {
          finish(() => {
            reject(
              new ClusterUnavailableError(
                `the cluster connection failed: ${error?.message ?? 'closed'}`,
                { cause: error, context },
              ),
            );
          });
          return;
        }
        // The broker's "no responders" status: nobody subscribes to the runner's subject.
        if (msg.headers?.code === 503) {
          // Just after a reconnect the nodes may not have subscribed again yet: send it again.
          const sinceReconnect = Date.now() - this.#watch.reconnectedAt;
          if (this.#watch.reconnectedAt > 0 && sinceReconnect < this.#ackTimeoutMs) {
            setTimeout(send, RESEND_AFTER_503_MS);
            return;
          }
          noNode('no node hosts it');
          return;
        }
        let reply: TaskReply;
        try {
          reply = JSON.parse(decoder.decode(msg.data)) as TaskReply;
        } catch {
          return;
        }
        handle(reply);
      });
      const send = (): void => {
        if (done) return;
        try {
          this.#nc.publish(this.#subjects.run(this.name), data, { reply: route.inbox });
        } catch (error) {
          unavailable(`the task could not be sent: ${(error as Error).message}`);
        }
      };
      send();
    });
  }

  /** Asks `nodeId` what became of `taskId`, until it answers (`null`: it never did). */
  async #askStatus(
    nodeId: string,
    taskId: string,
    afterSeq: number,
    settled: () => boolean,
  ): Promise<TaskStatusReply | null> {
    for (let attempt = 0; attempt < STATUS_ATTEMPTS && !settled(); attempt++) {
      try {
        const msg = await this.#nc.request(
          this.#subjects.taskStatus(nodeId),
          JSON.stringify({ taskId, afterSeq }),
          { timeout: this.#ackTimeoutMs },
        );
        return JSON.parse(decoder.decode(msg.data)) as TaskStatusReply;
      } catch {
        // Not back yet (no responders) or slow: ask again; the membership decides if it is gone.
        if (this.#nc.isClosed()) return null;
        await new Promise((resolve) => setTimeout(resolve, STATUS_RETRY_MS));
      }
    }
    return null;
  }
}
