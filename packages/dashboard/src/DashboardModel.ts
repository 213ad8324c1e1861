import { stateValueText, statechartGraph, type StatechartGraph } from '@troupe/core';
import type { ErrorRecord, ShutdownPhase, Troupe } from '@troupe/runtime';
import type { AnyActorRef, AnyStateMachine, InspectionEvent } from 'xstate';
import { activeStateIds } from './activeStateIds.js';
import type {
  ActorEntry,
  DashboardMessage,
  DashboardState,
  ErrorEntry,
  PhaseEntry,
  RunnerSample,
  Sample,
  ShutdownView,
} from './protocol.js';

const SAMPLE_MS = 1_000;
const SAMPLES_KEPT = 300;
const ERRORS_KEPT = 200;
const FLUSH_MS = 100;
const SHUTDOWN_TICK_MS = 250;
/** An actor that is done stays visible this long. */
const GONE_AFTER_MS = 10_000;
/** Bound of the actor list (the oldest done ones go first). */
const ACTORS_KEPT = 5_000;
const DURATION_METRIC = 'troupe_task_duration_seconds';

interface Tracked {
  entry: ActorEntry;
  readonly ref: AnyActorRef;
  doneAt: number | null;
}

function isMachine(logic: unknown): logic is AnyStateMachine {
  return typeof logic === 'object' && logic !== null && 'root' in logic && 'id' in logic;
}

/**
 * What the dashboard shows, kept current from the troupe's public surface:
 * its actors from `troupe.inspect()` (subscribed only while a page
 * watches), its runners' figures sampled once a second (always, so a page
 * that connects late sees the last minutes), its error stream and its
 * shutdown. Changes go to `broadcast` as {@link DashboardMessage}s:
 * actors coalesced every 100 ms, the rest as they happen.
 */
export class DashboardModel {
  readonly #troupe: Troupe;
  readonly #broadcast: (message: DashboardMessage) => void;
  readonly #actors = new Map<string, Tracked>();
  readonly #machines = new Map<string, StatechartGraph>();
  readonly #changed = new Set<string>();
  readonly #gone = new Set<string>();
  readonly #samples: Sample[] = [];
  readonly #errors: ErrorEntry[] = [];
  readonly #timeline: PhaseEntry[] = [];
  readonly #previous = new Map<string, { completed: number; sum: number; count: number }>();
  readonly #offs: (() => void)[] = [];
  #lastSampleAt = performance.now();
  #resourcesJson = '';
  #shutdownNow: PhaseEntry | null = null;
  #reason: string | null = null;
  #report: ShutdownView['report'] = null;
  #unsubscribe: (() => void) | null = null;
  #flushTimer: ReturnType<typeof setTimeout> | null = null;
  #sampleTimer: ReturnType<typeof setInterval> | null = null;
  #shutdownTimer: ReturnType<typeof setInterval> | null = null;
  #closed = false;
  /** Inspection events processed (the dashboard's own figure). */
  events = 0;

  constructor(troupe: Troupe, broadcast: (message: DashboardMessage) => void) {
    this.#troupe = troupe;
    this.#broadcast = broadcast;
    const onError = (record: ErrorRecord): void => {
      this.#addError(record);
    };
    const onPhase = ({ phase, reason }: { phase: ShutdownPhase; reason: string }): void => {
      this.#reason = reason;
      this.#phase(phase);
    };
    troupe.on('error', onError);
    troupe.on('shutdown:phase', onPhase);
    this.#offs.push(
      () => troupe.off('error', onError),
      () => troupe.off('shutdown:phase', onPhase),
    );
    this.#sampleTimer = setInterval(() => {
      this.#sampleSafely();
    }, SAMPLE_MS);
    this.#sampleTimer.unref();
    this.#sampleSafely();
  }

  /** A sample that failed (a metric read) is skipped: the next one comes a second later. */
  #sampleSafely(): void {
    this.#sample().catch(() => {});
  }

  /** Watches the troupe's actors (a page connected): resolves once the current ones are in. */
  async watch(): Promise<void> {
    if (this.#unsubscribe === null && !this.#closed) {
      this.#unsubscribe = this.#troupe.inspect((event) => {
        this.#inspect(event);
      });
    }
    // The replay is delivered on the next turn, before this.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** No page watches: stop the subscription (costs nothing again). */
  unwatch(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#actors.clear();
    this.#changed.clear();
    this.#gone.clear();
  }

  get machines(): Readonly<Record<string, StatechartGraph>> {
    return Object.fromEntries(this.#machines);
  }

  /** Everything, for a page that just connected. */
  state(): DashboardState {
    return {
      nodeId: this.#troupe.nodeId,
      at: Date.now(),
      ready: this.#troupe.ready,
      actors: [...this.#actors.values()].map((t) => t.entry),
      resources: this.#troupe.resources.list(),
      samples: [...this.#samples],
      errors: [...this.#errors],
      shutdown: this.#shutdownView(),
    };
  }

  /** Stops every timer and listener. */
  close(): void {
    this.#closed = true;
    this.unwatch();
    for (const off of this.#offs) off();
    if (this.#sampleTimer !== null) clearInterval(this.#sampleTimer);
    if (this.#shutdownTimer !== null) clearInterval(this.#shutdownTimer);
    if (this.#flushTimer !== null) clearTimeout(this.#flushTimer);
    this.#sampleTimer = null;
    this.#shutdownTimer = null;
    this.#flushTimer = null;
  }

  // ---- actors -------------------------------------------------------------------

  #inspect(event: InspectionEvent): void {
    this.events += 1;
    const ref = event.actorRef as AnyActorRef;
    if (event.type === '@xstate.actor') {
      this.#track(ref);
      return;
    }
    if (event.type !== '@xstate.snapshot') return;
    const tracked = this.#actors.get(ref.id);
    if (tracked === undefined || tracked.ref !== ref) {
      // An actor whose @xstate.actor we did not see (or a new one with a reused id).
      if (!this.#track(ref)) return;
    }
    this.#update(ref, event.snapshot);
  }

  /** Starts following an actor that runs a machine; false for other logic (promises, callbacks). */
  #track(ref: AnyActorRef): boolean {
    const logic = (ref as { logic?: unknown }).logic;
    if (!isMachine(logic)) return false;
    const machineId = logic.id;
    if (!this.#machines.has(machineId)) {
      const graph = statechartGraph(logic);
      this.#machines.set(machineId, graph);
      if (this.#unsubscribe !== null) this.#broadcast({ type: 'machine', machine: graph });
    }
    const parent = (ref as { _parent?: AnyActorRef })._parent;
    this.#actors.set(ref.id, {
      ref,
      doneAt: null,
      entry: {
        id: ref.id,
        sessionId: ref.sessionId,
        parent: parent?.id ?? null,
        machineId,
        value: null,
        state: '',
        active: [],
        status: 'active',
        at: Date.now(),
      },
    });
    this.#gone.delete(ref.id);
    this.#update(ref, ref.getSnapshot() as { value?: unknown; status?: string });
    if (this.#actors.size > ACTORS_KEPT) this.#prune(true);
    return true;
  }

  #update(ref: AnyActorRef, snapshot: { value?: unknown; status?: string }): void {
    const tracked = this.#actors.get(ref.id);
    if (tracked === undefined) return;
    const status = (snapshot.status ?? 'active') as ActorEntry['status'];
    const value = snapshot.value ?? null;
    const machineId = tracked.entry.machineId;
    tracked.entry = {
      ...tracked.entry,
      value,
      state: value === null ? '' : stateValueText(value),
      active: value === null ? [] : activeStateIds(machineId, value),
      status,
      at: Date.now(),
    };
    if (status !== 'active' && tracked.doneAt === null) tracked.doneAt = Date.now();
    this.#changed.add(ref.id);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== null || this.#closed) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      this.#flush();
    }, FLUSH_MS);
    this.#flushTimer.unref();
  }

  #flush(): void {
    const actors: ActorEntry[] = [];
    for (const id of this.#changed) {
      const tracked = this.#actors.get(id);
      if (tracked !== undefined) actors.push(tracked.entry);
    }
    this.#changed.clear();
    const gone = [...this.#gone];
    this.#gone.clear();
    if (actors.length > 0 || gone.length > 0) this.#broadcast({ type: 'actors', actors, gone });
  }

  /** Drops actors done for long enough (or, over the bound, the oldest done ones). */
  #prune(overBound = false): void {
    const now = Date.now();
    const done = [...this.#actors.values()]
      .filter((t) => t.doneAt !== null)
      .sort((a, b) => (a.doneAt ?? 0) - (b.doneAt ?? 0));
    for (const tracked of done) {
      const expired = now - (tracked.doneAt ?? now) >= GONE_AFTER_MS;
      if (!expired && !(overBound && this.#actors.size > ACTORS_KEPT)) continue;
      this.#actors.delete(tracked.entry.id);
      this.#changed.delete(tracked.entry.id);
      this.#gone.add(tracked.entry.id);
    }
    if (this.#gone.size > 0) this.#scheduleFlush();
  }

  // ---- samples ------------------------------------------------------------------

  async #sample(): Promise<void> {
    if (this.#closed) return;
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.#lastSampleAt) / 1000);
    this.#lastSampleAt = now;
    const durations = await this.#durations();
    const health = this.#troupe.health();
    const scores = new Map(health.runners.map((r) => [r.id, r.score]));
    const runners: RunnerSample[] = this.#troupe.runners.map((runner) => {
      const stats = runner.stats();
      const previous = this.#previous.get(runner.id);
      const duration = durations.get(runner.id) ?? { sum: 0, count: 0 };
      const counted = duration.count - (previous?.count ?? 0);
      this.#previous.set(runner.id, {
        completed: stats.completed,
        sum: duration.sum,
        count: duration.count,
      });
      return {
        id: runner.id,
        state: stats.state,
        score: scores.get(runner.id) ?? null,
        throughput:
          Math.max(0, stats.completed - (previous?.completed ?? stats.completed)) / seconds,
        queued: stats.queued,
        inFlight: stats.inFlight,
        threads: stats.threads,
        latencyMs: counted > 0 ? ((duration.sum - (previous?.sum ?? 0)) / counted) * 1000 : null,
        restarts: stats.restarts,
        crashes: stats.crashes,
      };
    });
    const sample: Sample = {
      at: Date.now(),
      score: health.runners.length === 0 ? null : health.score,
      runners,
    };
    this.#samples.push(sample);
    if (this.#samples.length > SAMPLES_KEPT) this.#samples.shift();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- it may have closed while #durations() was awaited
    if (this.#closed) return;
    this.#broadcast({ type: 'sample', sample, ready: this.#troupe.ready });
    this.#resourcesChanged();
    this.#prune();
  }

  /** Sum and count of each runner's task durations, from the troupe's own histogram. */
  async #durations(): Promise<Map<string, { sum: number; count: number }>> {
    const byRunner = new Map<string, { sum: number; count: number }>();
    const metric = this.#troupe.metrics.registry.getSingleMetric(DURATION_METRIC);
    if (metric === undefined) return byRunner;
    const { values } = await metric.get();
    for (const { metricName, labels, value } of values as {
      metricName?: string;
      labels: Record<string, string | number | undefined>;
      value: number;
    }[]) {
      const runner = String(labels.runner ?? '');
      const entry = byRunner.get(runner) ?? { sum: 0, count: 0 };
      if (metricName === `${DURATION_METRIC}_sum`) entry.sum = value;
      else if (metricName === `${DURATION_METRIC}_count`) entry.count = value;
      else continue;
      byRunner.set(runner, entry);
    }
    return byRunner;
  }

  #resourcesChanged(): void {
    const resources = this.#troupe.resources.list();
    const json = JSON.stringify(resources);
    if (json === this.#resourcesJson) return;
    this.#resourcesJson = json;
    this.#broadcast({ type: 'resources', resources });
  }

  // ---- errors and shutdown --------------------------------------------------------

  #addError(record: ErrorRecord): void {
    const context = record.context as { runnerId?: unknown; component?: unknown };
    const entry: ErrorEntry = {
      id: record.id,
      at: record.at,
      code: record.code,
      severity: record.severity,
      action: record.action,
      message: record.message,
      runnerId: typeof context.runnerId === 'string' ? context.runnerId : null,
      component: typeof context.component === 'string' ? context.component : null,
    };
    this.#errors.push(entry);
    if (this.#errors.length > ERRORS_KEPT) this.#errors.shift();
    this.#broadcast({ type: 'error', error: entry });
  }

  #left(phase: ShutdownPhase): PhaseEntry {
    let tasksLeft = 0;
    for (const runner of this.#troupe.runners) {
      const stats = runner.stats();
      tasksLeft += stats.inFlight + stats.queued;
    }
    const resourcesLeft = this.#troupe.resources
      .list()
      .filter((r) => r.state !== 'closed' && r.state !== 'failed' && r.state !== 'forced').length;
    return { phase, at: Date.now(), tasksLeft, resourcesLeft };
  }

  #phase(phase: ShutdownPhase): void {
    this.#timeline.push(this.#left(phase));
    this.#shutdownNow = this.#left(phase);
    if (phase !== 'stopped' && this.#shutdownTimer === null) {
      this.#shutdownTimer = setInterval(() => {
        this.#shutdownNow = this.#left(this.#troupe.phase);
        this.#broadcast({ type: 'shutdown', shutdown: this.#shutdownView() });
      }, SHUTDOWN_TICK_MS);
      this.#shutdownTimer.unref();
    }
    this.#broadcast({ type: 'shutdown', shutdown: this.#shutdownView() });
    if (phase === 'stopped') {
      if (this.#shutdownTimer !== null) clearInterval(this.#shutdownTimer);
      this.#shutdownTimer = null;
    }
  }

  /** The report, once the troupe stopped (the same promise every caller gets). */
  async report(): Promise<void> {
    this.#report = await this.#troupe.shutdown();
    // The last snapshots (the last resources closed) arrive from the
    // inspection stream on the next turn: in, before the pages are closed.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    this.#flush();
    this.#broadcast({ type: 'shutdown', shutdown: this.#shutdownView() });
  }

  #shutdownView(): ShutdownView {
    return {
      phase: this.#troupe.phase,
      reason: this.#reason,
      timeline: [...this.#timeline],
      now: this.#shutdownNow,
      report: this.#report,
    };
  }
}
