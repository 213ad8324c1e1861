import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { NoNodeError, PayloadTooLargeError, toErrorData } from '@troupe/core';
import type { Troupe } from '@troupe/runtime';
import type { ConnectionWatch } from './ConnectionWatch.js';
import type { Subjects } from './subjects.js';
import {
  encode,
  type TaskOutcome,
  type TaskReply,
  type TaskRequest,
  type TaskStatusReply,
  type TaskStatusRequest,
} from './wire.js';

const decoder = new TextDecoder();
/** Outcomes kept for a status question after a broker outage: this many, this long. */
const KEEP_OUTCOMES = 5_000;
const KEEP_OUTCOMES_MS = 60_000;
/** Outcomes sent this long before a drop was noticed may have been lost too. */
const DROP_MARGIN_MS = 2_000;
/** A task still running after this is acked; one done before says so in its outcome (one message, not two). */
const ACK_AFTER_MS = 1;

/** Events kept per task for a caller that missed some (the latest this many). */
const KEEP_EVENTS = 10_000;
/** …and for this long after the task settled. */
const KEEP_EVENTS_MS = 10_000;

interface TaskRecord {
  readonly inbox: string;
  outcome: TaskOutcome | null;
  settledAt: number;
  /** The latest events, the first of them numbered `firstSeq`. */
  events: unknown[];
  firstSeq: number;
}

/**
 * Serves this node's runners to the cluster: one queue-group subscription
 * per runner it hosts (NATS gives each task to one member of the group),
 * and for each task an ack (which node took it), its events in order, then
 * its result or its error as data, all on the task's inbox. A node never
 * runs work for a runner it does not host. What it publishes while the
 * broker connection is down is lost, so it keeps recent outcomes: sent
 * again once the connection is back, and given to a caller who asks.
 */
export class NodeServer {
  readonly #nc: NatsConnection;
  readonly #subjects: Subjects;
  readonly #troupe: Troupe;
  readonly #nodeId: string;
  readonly #subs = new Map<string, Subscription>();
  readonly #idle = new Set<() => void>();
  readonly #tasks = new Map<string, TaskRecord>();
  #serving = true;
  #stopped: Promise<void> | null = null;
  inFlight = 0;

  constructor(options: {
    nc: NatsConnection;
    subjects: Subjects;
    troupe: Troupe;
    nodeId: string;
    watch: ConnectionWatch;
  }) {
    this.#nc = options.nc;
    this.#subjects = options.subjects;
    this.#troupe = options.troupe;
    this.#nodeId = options.nodeId;
    const { watch } = options;
    // What became of a task I took: asked by its caller after an outage.
    this.#nc.subscribe(this.#subjects.taskStatus(this.#nodeId), {
      callback: (error, msg) => {
        if (error === null) this.#status(msg);
      },
    });
    // Back after an outage: outcomes sent around the drop may never have arrived.
    watch.onReconnect(() => {
      const since = watch.droppedAt - DROP_MARGIN_MS;
      for (const record of this.#tasks.values()) {
        if (record.outcome !== null && record.settledAt >= since) {
          this.#send(record.inbox, record.outcome);
        }
      }
    });
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

  /** Takes no new task from now on (tasks taken go on). Every call gets the same promise. */
  stopServing(): Promise<void> {
    this.#serving = false;
    this.#stopped ??= (async () => {
      const subs = [...this.#subs.values()];
      this.#subs.clear();
      await Promise.all(subs.map((sub) => sub.drain()));
    })();
    return this.#stopped;
  }

  /** Resolves once no task taken from the cluster runs here. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  #status(msg: Msg): void {
    let request: TaskStatusRequest;
    try {
      request = JSON.parse(decoder.decode(msg.data)) as TaskStatusRequest;
    } catch {
      return;
    }
    const record = this.#tasks.get(request.taskId);
    let reply: TaskStatusReply;
    if (record === undefined) reply = { state: 'unknown' };
    else {
      const from = Math.max(0, (request.afterSeq ?? -1) + 1 - record.firstSeq);
      const events = record.events
        .slice(from)
        .map((event, i) => ({ seq: record.firstSeq + from + i, event }));
      reply =
        record.outcome === null
          ? { state: 'running', events }
          : { state: 'done', outcome: record.outcome, events };
    }
    try {
      msg.respond(JSON.stringify(reply));
    } catch {
      // The connection is gone: the caller's question times out and it asks again.
    }
  }

  #settled(taskId: string, outcome: TaskOutcome): void {
    const record = this.#tasks.get(taskId);
    if (record === undefined) return;
    record.outcome = outcome;
    record.settledAt = Date.now();
    if (record.events.length > 0) {
      setTimeout(() => {
        record.events = [];
      }, KEEP_EVENTS_MS).unref();
    }
    // Forget the oldest outcomes: past the count, or the age.
    const old = Date.now() - KEEP_OUTCOMES_MS;
    for (const [id, kept] of this.#tasks) {
      const young = kept.outcome === null || kept.settledAt >= old;
      if (this.#tasks.size <= KEEP_OUTCOMES && young) break;
      if (kept.outcome !== null) this.#tasks.delete(id);
    }
  }

  #reply(msg: Msg, reply: TaskReply): void {
    if (msg.reply === undefined) return;
    this.#send(msg.reply, reply);
  }

  #send(inbox: string, reply: TaskReply): void {
    let data: Uint8Array;
    try {
      data = encode(reply, this.#nc.info?.max_payload ?? 1024 * 1024, `the ${reply.t} of a task`);
    } catch (error) {
      if (!(error instanceof PayloadTooLargeError) || reply.t === 'err') return;
      data = encode(
        { t: 'err', error: toErrorData(error), nodeId: this.#nodeId },
        Number.MAX_SAFE_INTEGER,
        'an error',
      );
    }
    try {
      this.#nc.publish(inbox, data);
    } catch {
      // Closed: the caller learns it from the membership (this node is gone).
    }
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
        nodeId: this.#nodeId,
      });
      return;
    }
    this.inFlight += 1;
    let record: TaskRecord | null = null;
    if (msg.reply !== undefined) {
      // A record in insertion order: the oldest settled ones are forgotten first.
      record = { inbox: msg.reply, outcome: null, settledAt: 0, events: [], firstSeq: 0 };
      this.#tasks.delete(request.taskId);
      this.#tasks.set(request.taskId, record);
    }
    let seq = 0;
    let acked = false;
    const ack = (): void => {
      if (acked) return;
      acked = true;
      clearTimeout(ackTimer);
      this.#reply(msg, { t: 'ack', nodeId: this.#nodeId });
    };
    const ackTimer = setTimeout(ack, ACK_AFTER_MS);
    const settle = (outcome: TaskOutcome): void => {
      clearTimeout(ackTimer);
      this.#settled(request.taskId, outcome);
      this.#reply(msg, outcome);
    };
    runner
      .run(request.payload, {
        ...(request.handler === undefined ? {} : { handler: request.handler }),
        ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
        onEvent: (event) => {
          ack();
          if (record !== null) {
            record.events.push(event);
            // Between KEEP_EVENTS and twice that are kept (dropped in halves: no shift per event).
            if (record.events.length >= 2 * KEEP_EVENTS) {
              record.events.splice(0, KEEP_EVENTS);
              record.firstSeq += KEEP_EVENTS;
            }
          }
          this.#reply(msg, { t: 'event', seq: seq++, event });
        },
      })
      .then(
        (value) => {
          settle({ t: 'ok', value, nodeId: this.#nodeId, ...(seq > 0 ? { events: seq } : {}) });
        },
        (error: unknown) => {
          settle({
            t: 'err',
            error: toErrorData(error),
            nodeId: this.#nodeId,
            ...(seq > 0 ? { events: seq } : {}),
          });
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
