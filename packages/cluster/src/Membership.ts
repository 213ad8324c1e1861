import type { KV } from '@nats-io/kv';
import { ClusterNodeEventTypes, clusterNodeMachine, type ClusterNodeState } from '@troupe/core';
import { createActor, type Actor } from 'xstate';
import type { NodeEntry } from './wire.js';

/** One member as this node sees it. */
export interface ClusterNodeView {
  readonly nodeId: string;
  readonly state: ClusterNodeState;
  /** Its last heartbeat. */
  readonly entry: NodeEntry;
}

interface Member {
  readonly actor: Actor<typeof clusterNodeMachine>;
  readonly incarnation: string;
  entry: NodeEntry;
}

const decoder = new TextDecoder();

/**
 * The cluster's membership as this node sees it: its own heartbeat, put in
 * the KV bucket every `heartbeatMs` (the bucket's TTL, about three
 * heartbeats, drops a dead node's entry), and a {@link clusterNodeMachine}
 * actor per member fed by a watch of the bucket. The actor decides: a
 * member whose heartbeat is not seen for `ttlMs` is `down` (on NATS 2.9 a
 * key that expires gives watchers no event; the statechart's own deadline
 * does not need one), one that deleted its entry is `removed`.
 */
export class Membership {
  readonly #kv: KV;
  readonly #heartbeatMs: number;
  readonly #ttlMs: number;
  readonly #entry: () => NodeEntry;
  readonly #members = new Map<string, Member>();
  readonly #listeners = new Set<(view: ClusterNodeView) => void>();
  readonly #onError: (error: unknown) => void;
  readonly #track: (actor: Actor<typeof clusterNodeMachine>) => void;
  #timer: ReturnType<typeof setInterval> | null = null;
  #watch: { stop(): void } | null = null;
  #stopped = false;

  constructor(options: {
    kv: KV;
    heartbeatMs: number;
    ttlMs: number;
    entry: () => NodeEntry;
    onError: (error: unknown) => void;
    /** Each member's actor, before it starts (the troupe's inspection follows it). */
    track?: (actor: Actor<typeof clusterNodeMachine>) => void;
  }) {
    this.#kv = options.kv;
    this.#heartbeatMs = options.heartbeatMs;
    this.#ttlMs = options.ttlMs;
    this.#entry = options.entry;
    this.#onError = options.onError;
    this.#track = options.track ?? (() => {});
  }

  /** Puts the first heartbeat, then follows the bucket. */
  async start(): Promise<void> {
    await this.beat();
    const watch = await this.#kv.watch();
    this.#watch = watch;
    void (async () => {
      try {
        for await (const change of watch) {
          if (change.operation === 'PUT') {
            this.#seen(JSON.parse(decoder.decode(change.value)) as NodeEntry);
          } else {
            this.#members.get(change.key)?.actor.send({ type: ClusterNodeEventTypes.deleted });
          }
        }
      } catch (error) {
        if (!this.#stopped) this.#onError(error);
      }
    })();
    this.#timer = setInterval(() => {
      this.beat().catch((error: unknown) => {
        if (!this.#stopped) this.#onError(error);
      });
    }, this.#heartbeatMs);
    this.#timer.unref();
  }

  /** Puts this node's entry now (a heartbeat). */
  async beat(): Promise<void> {
    const entry = this.#entry();
    await this.#kv.put(entry.nodeId, JSON.stringify(entry));
  }

  /** Every member that is not down or removed. */
  nodes(): ClusterNodeView[] {
    return [...this.#members.entries()].map(([nodeId, member]) => ({
      nodeId,
      state: member.actor.getSnapshot().value,
      entry: member.entry,
    }));
  }

  /** Called on every member state change. Returns the unsubscribe. */
  onChange(listener: (view: ClusterNodeView) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The connection is back after a drop: this node was deaf, not the others
   * silent. Every member's deadline starts again (as a heartbeat of the
   * state it last reported would), and this node beats at once.
   */
  reconnected(): void {
    if (this.#stopped) return;
    for (const member of this.#members.values()) {
      member.actor.send({ type: ClusterNodeEventTypes.heartbeat, state: member.entry.state });
    }
    this.beat().catch((error: unknown) => {
      if (!this.#stopped) this.#onError(error);
    });
  }

  /** Deletes this node's entry (a graceful leave: the others see it removed). */
  async remove(nodeId: string): Promise<void> {
    await this.#kv.delete(nodeId);
  }

  /** Stops the heartbeat, the watch and every member actor. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#watch?.stop();
    for (const member of this.#members.values()) member.actor.stop();
    this.#members.clear();
  }

  #seen(entry: NodeEntry): void {
    let member = this.#members.get(entry.nodeId);
    if (member !== undefined && member.incarnation !== entry.incarnation) {
      // The process restarted under the same id: the old incarnation is gone.
      member.actor.stop();
      this.#members.delete(entry.nodeId);
      member = undefined;
    }
    if (member === undefined) {
      if (this.#stopped) return;
      const actor = createActor(clusterNodeMachine, {
        id: `node:${entry.nodeId}`,
        input: { nodeId: entry.nodeId, ttlMs: this.#ttlMs },
      });
      const created: Member = { actor, incarnation: entry.incarnation, entry };
      member = created;
      this.#members.set(entry.nodeId, created);
      let last: string | null = null;
      actor.subscribe({
        next: (snapshot) => {
          if (snapshot.value === last) return;
          last = snapshot.value;
          const view = { nodeId: entry.nodeId, state: snapshot.value, entry: created.entry };
          for (const listener of this.#listeners) listener(view);
          if (snapshot.status === 'done' && this.#members.get(entry.nodeId) === created) {
            this.#members.delete(entry.nodeId);
          }
        },
        error: (error: unknown) => {
          this.#onError(error);
        },
      });
      this.#track(actor);
      actor.start();
    }
    member.entry = entry;
    member.actor.send({ type: ClusterNodeEventTypes.heartbeat, state: entry.state });
  }
}
