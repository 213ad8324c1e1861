import { randomUUID } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  ClusterUnavailableError,
  PayloadTooLargeError,
  type TimedShutdownPhase,
} from '@troupe/core';
import type { ShutdownReport, Troupe } from '@troupe/runtime';
import type {
  ClusterShutdownNode,
  ClusterShutdownOptions,
  ClusterShutdownReport,
  ClusterShutdownStep,
} from './ClusterShutdownReport.js';
import type { ClusterNodeView, Membership } from './Membership.js';
import type { Subjects } from './subjects.js';
import { encode, type ShutdownBegin, type ShutdownProgress } from './wire.js';

const STEPS: readonly ClusterShutdownStep[] = ['signaling', 'draining', 'closing', 'stopped'];
const DEFAULT_TIMEOUT_MS = 60_000;
const decoder = new TextDecoder();

/** One cluster shutdown as this node follows it. */
interface Round {
  readonly begin: ShutdownBegin;
  readonly participants: Set<string>;
  /** Per node, how many steps it finished (1 = signaling … 4 = stopped). */
  readonly reached: Map<string, number>;
  readonly reports: Map<string, ShutdownReport>;
  /** Per step, when the initiator heard the last live node finish it (ms after the start). */
  readonly stepDoneAt: Map<ClusterShutdownStep, number>;
  /** Members seen down or removed since the round began. */
  readonly gone: Map<string, 'down' | 'removed'>;
  readonly wake: Set<() => void>;
  readonly sub: Subscription;
  readonly offMembers: () => void;
  /** Set on the initiator: resolves once every participant reported or is gone. */
  collecting: Promise<void> | null;
}

/**
 * The cluster-wide shutdown: steps every node's shutdown coordinator
 * through SIGNALING → DRAINING → CLOSING in unison. The initiator announces
 * it with the members it sees live; each node calls its troupe's
 * `shutdown({ gate })`, and its gate for a phase tells the others it
 * finished the phase and waits until every participant has, or is down or
 * gone (so a node that dies mid-shutdown holds the others no longer than
 * the heartbeat TTL; each phase's own deadline bounds the wait too). Once
 * stopped, each node sends its report; the initiator merges them. Only
 * then does a node leave the cluster and close its connection: the broker
 * connection is the last thing it closes.
 */
export class ClusterShutdown {
  readonly #nc: NatsConnection;
  readonly #subjects: Subjects;
  readonly #troupe: Troupe;
  readonly #nodeId: string;
  readonly #membership: Membership;
  readonly #stopServing: () => Promise<void>;
  readonly #leave: () => Promise<void>;
  readonly #onError: (error: unknown) => void;
  #round: Round | null = null;
  #initiated: Promise<ClusterShutdownReport> | null = null;
  #sub: Subscription | null = null;

  constructor(options: {
    nc: NatsConnection;
    subjects: Subjects;
    troupe: Troupe;
    nodeId: string;
    membership: Membership;
    stopServing: () => Promise<void>;
    leave: () => Promise<void>;
    onError: (error: unknown) => void;
  }) {
    this.#nc = options.nc;
    this.#subjects = options.subjects;
    this.#troupe = options.troupe;
    this.#nodeId = options.nodeId;
    this.#membership = options.membership;
    this.#stopServing = options.stopServing;
    this.#leave = options.leave;
    this.#onError = options.onError;
  }

  /** A cluster shutdown is under way here: the troupe's stop must not leave on its own. */
  get active(): boolean {
    return this.#round !== null;
  }

  /** Follows announcements of cluster shutdowns. */
  listen(): void {
    this.#sub = this.#nc.subscribe(this.#subjects.shutdown, {
      callback: (error, msg) => {
        if (error !== null) return;
        try {
          this.#join(JSON.parse(decoder.decode(msg.data)) as ShutdownBegin);
        } catch (failure) {
          this.#onError(failure);
        }
      },
    });
  }

  /** Stops following announcements (this node leaves). */
  unlisten(): void {
    this.#sub?.unsubscribe();
    this.#sub = null;
  }

  /** Announces a cluster shutdown, takes part in it, and resolves with the merged report. */
  initiate(options: ClusterShutdownOptions = {}): Promise<ClusterShutdownReport> {
    this.#initiated ??= this.#initiate(options);
    return this.#initiated;
  }

  async #initiate(options: ClusterShutdownOptions): Promise<ClusterShutdownReport> {
    if (this.#nc.isClosed() || this.#round !== null) {
      throw new ClusterUnavailableError(
        this.#round === null
          ? 'this node has left the cluster: it cannot shut the cluster down'
          : 'a cluster shutdown announced by another node is under way here',
        { context: { nodeId: this.#nodeId, operation: 'shutdown' } },
      );
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const participants = this.#membership
      .nodes()
      .filter((n) => n.state !== 'down' && n.state !== 'removed')
      .map((n) => n.nodeId);
    const begin: ShutdownBegin = {
      id: randomUUID(),
      reason: options.reason ?? 'cluster shutdown',
      initiator: this.#nodeId,
      participants: [...new Set([...participants, this.#nodeId])].sort(),
      at: Date.now(),
    };
    // Follow the progress before anyone can publish any, then announce.
    const round = this.#join(begin, false);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    round.collecting = Promise.race([
      this.#until(round, () => [...round.participants].every((p) => this.#settled(round, p))),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true;
          resolve();
        }, timeoutMs);
      }),
    ]).finally(() => {
      clearTimeout(timer);
    });
    try {
      this.#nc.publish(this.#subjects.shutdown, JSON.stringify(begin));
    } catch (error) {
      // This node still shuts down; the others are waited for until they are gone or the timeout.
      this.#onError(error);
    }
    this.#run(round);
    await round.collecting;
    return this.#merge(round, timedOut);
  }

  /** Takes part in cluster shutdown `begin` (once; a second announcement is ignored). */
  #join(begin: ShutdownBegin, run = true): Round {
    if (this.#round !== null) return this.#round;
    const sub = this.#nc.subscribe(this.#subjects.shutdownProgress(begin.id), {
      callback: (error, msg) => {
        if (error !== null) return;
        try {
          this.#progress(round, JSON.parse(decoder.decode(msg.data)) as ShutdownProgress);
        } catch (failure) {
          this.#onError(failure);
        }
      },
    });
    const round: Round = {
      begin,
      participants: new Set([...begin.participants, this.#nodeId]),
      reached: new Map(),
      reports: new Map(),
      stepDoneAt: new Map(),
      gone: new Map(),
      wake: new Set(),
      sub,
      offMembers: this.#membership.onChange((view: ClusterNodeView) => {
        if (view.state !== 'down' && view.state !== 'removed') return;
        round.gone.set(view.nodeId, view.state);
        this.#wake(round);
      }),
      collecting: null,
    };
    this.#round = round;
    // Whoever published before this node followed answers this with where it is.
    this.#publish(round, { t: 'hello', nodeId: this.#nodeId });
    if (run) this.#run(round);
    return round;
  }

  #run(round: Round): void {
    void (async () => {
      const report = await this.#troupe.shutdown({
        reason: round.begin.reason,
        gate: (phase) => this.#gate(round, phase),
      });
      round.reached.set(this.#nodeId, STEPS.length);
      round.reports.set(this.#nodeId, report);
      this.#wake(round);
      this.#publishReport(round, report);
      if (round.collecting !== null) await round.collecting;
      round.offMembers();
      round.wake.clear();
      await this.#nc.flush().catch(() => {});
      round.sub.unsubscribe();
      await this.#leave();
    })().catch(this.#onError);
  }

  async #gate(round: Round, phase: TimedShutdownPhase): Promise<void> {
    // No new cluster task from SIGNALING on: every node stops taking them before any drains.
    if (phase === 'signaling') await this.#stopServing().catch(this.#onError);
    const step = STEPS.indexOf(phase) + 1;
    round.reached.set(this.#nodeId, Math.max(round.reached.get(this.#nodeId) ?? 0, step));
    this.#publish(round, { t: 'phase', nodeId: this.#nodeId, phase });
    this.#wake(round);
    await this.#until(round, () =>
      [...round.participants].every(
        (p) => (round.reached.get(p) ?? 0) >= step || this.#goneWhy(round, p) !== null,
      ),
    );
  }

  #progress(round: Round, message: ShutdownProgress): void {
    if (message.nodeId === this.#nodeId) return;
    switch (message.t) {
      case 'hello': {
        const mine = round.reports.get(this.#nodeId);
        if (mine !== undefined) this.#publishReport(round, mine);
        else {
          const step = round.reached.get(this.#nodeId) ?? 0;
          if (step > 0) {
            this.#publish(round, {
              t: 'phase',
              nodeId: this.#nodeId,
              phase: STEPS[step - 1] as TimedShutdownPhase,
            });
          }
        }
        return;
      }
      case 'phase':
        this.#reach(round, message.nodeId, STEPS.indexOf(message.phase) + 1);
        return;
      case 'report':
        round.reports.set(message.nodeId, message.report);
        this.#reach(round, message.nodeId, STEPS.length);
        return;
    }
  }

  #reach(round: Round, nodeId: string, step: number): void {
    // A node that joined the shutdown late is in it from now on.
    round.participants.add(nodeId);
    if ((round.reached.get(nodeId) ?? 0) < step) round.reached.set(nodeId, step);
    this.#wake(round);
  }

  #wake(round: Round): void {
    const at = Date.now() - round.begin.at;
    for (let step = 1; step <= STEPS.length; step++) {
      const key = STEPS[step - 1] as ClusterShutdownStep;
      if (round.stepDoneAt.has(key)) continue;
      const live = [...round.participants].filter((p) => this.#goneWhy(round, p) === null);
      if (live.length > 0 && live.every((p) => (round.reached.get(p) ?? 0) >= step)) {
        round.stepDoneAt.set(key, at);
      }
    }
    for (const wake of [...round.wake]) wake();
  }

  /** Why `nodeId` no longer takes part (`null`: it does). Its own node always does. */
  #goneWhy(round: Round, nodeId: string): 'down' | 'removed' | null {
    if (nodeId === this.#nodeId) return null;
    const gone = round.gone.get(nodeId);
    if (gone !== undefined) return gone;
    const view = this.#membership.nodes().find((n) => n.nodeId === nodeId);
    if (view === undefined) return 'removed';
    return view.state === 'down' || view.state === 'removed' ? view.state : null;
  }

  #settled(round: Round, nodeId: string): boolean {
    return round.reports.has(nodeId) || this.#goneWhy(round, nodeId) !== null;
  }

  #until(round: Round, done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        round.wake.delete(check);
        resolve();
      };
      round.wake.add(check);
    });
  }

  #publish(round: Round, message: ShutdownProgress): void {
    try {
      this.#nc.publish(this.#subjects.shutdownProgress(round.begin.id), JSON.stringify(message));
    } catch (error) {
      this.#onError(error);
    }
  }

  /** A report too large for the broker goes without its per-resource details and with its first 20 errors. */
  #publishReport(round: Round, report: ShutdownReport): void {
    const limit = this.#nc.info?.max_payload ?? 1024 * 1024;
    let data: Uint8Array;
    try {
      data = encode({ t: 'report', nodeId: this.#nodeId, report }, limit, 'a shutdown report');
    } catch (error) {
      if (!(error instanceof PayloadTooLargeError)) throw error;
      const trimmed: ShutdownReport = {
        ...report,
        resources: { ...report.resources, details: [] },
        errors: report.errors.slice(0, 20),
      };
      data = encode(
        { t: 'report', nodeId: this.#nodeId, report: trimmed },
        limit,
        'a shutdown report',
      );
    }
    try {
      this.#nc.publish(this.#subjects.shutdownProgress(round.begin.id), data);
    } catch (error) {
      this.#onError(error);
    }
  }

  #merge(round: Round, timedOut: boolean): ClusterShutdownReport {
    const nodes: ClusterShutdownNode[] = [...round.participants].sort().map((nodeId) => {
      const step = round.reached.get(nodeId) ?? 0;
      const lastPhase = step === 0 ? null : (STEPS[step - 1] as ClusterShutdownStep);
      const report = round.reports.get(nodeId);
      if (report !== undefined) return { nodeId, outcome: 'stopped', lastPhase, report };
      const why = this.#goneWhy(round, nodeId) ?? (timedOut ? 'timeout' : 'removed');
      return { nodeId, outcome: 'lost', why, lastPhase, report: null };
    });
    const lost = nodes.filter((n) => n.outcome === 'lost').map((n) => n.nodeId);
    const phase = (step: TimedShutdownPhase): number | null => round.stepDoneAt.get(step) ?? null;
    return {
      id: round.begin.id,
      reason: round.begin.reason,
      initiator: round.begin.initiator,
      startedAt: round.begin.at,
      durationMs: Date.now() - round.begin.at,
      forced: lost.length > 0 || nodes.some((n) => n.report?.forced === true),
      lost,
      phases: {
        signaling: phase('signaling'),
        draining: phase('draining'),
        closing: phase('closing'),
      },
      nodes,
    };
  }
}
