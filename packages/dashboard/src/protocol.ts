// What the dashboard's WebSocket carries, server to page (and, with
// controls enabled, page to server). Plain JSON; shared by the server
// (src/) and the page (page/), so both are typed end to end with the
// runtime's own types.
import type { StatechartGraph } from '@troupe/core';
import type { ResourceInfo, RunnerState, ShutdownPhase, ShutdownReport } from '@troupe/runtime';

/** The protocol's version: the page refuses another one. */
export const DASHBOARD_PROTOCOL = 1;

/** One live actor of the troupe, as the page shows it. */
export interface ActorEntry {
  /** Readable and unique while live: `runner:llm-0`, `resource:db`, `channel:llm-0/thread-1`, `shutdown`, `supervisor`. */
  readonly id: string;
  /** XState's session id (unique over the troupe's life). */
  readonly sessionId: string;
  /** The parent actor's `id` (an invoked machine), or null for a root actor. */
  readonly parent: string | null;
  /** Which of `hello.machines` draws it. */
  readonly machineId: string;
  /** Its state value. */
  readonly value: unknown;
  /** The state value as text: `running.load.busy, running.threads.full`. */
  readonly state: string;
  /** The state node ids active now (`runner.running.load.busy`…), for highlighting. */
  readonly active: readonly string[];
  readonly status: 'active' | 'done' | 'error' | 'stopped';
  /** When it last changed (epoch ms). */
  readonly at: number;
}

/** One runner's figures at one instant (one point of each chart). */
export interface RunnerSample {
  readonly id: string;
  readonly state: RunnerState;
  /** The health score, 0..1 (null when health monitoring is off). */
  readonly score: number | null;
  /** Tasks completed per second since the previous sample. */
  readonly throughput: number;
  readonly queued: number;
  readonly inFlight: number;
  readonly threads: number;
  /** Mean task duration over the interval, ms (null: no task settled). */
  readonly latencyMs: number | null;
  readonly restarts: number;
  readonly crashes: number;
}

/** A sample of the whole troupe. */
export interface Sample {
  readonly at: number;
  readonly score: number | null;
  readonly runners: readonly RunnerSample[];
}

/** An error of the troupe's error stream. */
export interface ErrorEntry {
  readonly id: number;
  readonly at: number;
  readonly code: string;
  readonly severity: string;
  readonly action: string;
  readonly message: string;
  readonly runnerId: string | null;
  readonly component: string | null;
}

/** One step of the shutdown timeline. */
export interface PhaseEntry {
  readonly phase: ShutdownPhase;
  readonly at: number;
  /** Tasks accepted and not settled yet (running or queued). */
  readonly tasksLeft: number;
  /** Resources not closed yet. */
  readonly resourcesLeft: number;
}

/** The shutdown as the page draws it. */
export interface ShutdownView {
  readonly phase: ShutdownPhase;
  readonly reason: string | null;
  /** Each phase entered, in order, with what was left then. */
  readonly timeline: readonly PhaseEntry[];
  /** Updated while shutting down (every 250 ms). */
  readonly now: PhaseEntry | null;
  readonly report: ShutdownReport | null;
}

/** Everything the page shows: sent whole on connect (and after a reconnect). */
export interface DashboardState {
  readonly nodeId: string;
  /** Epoch ms of this state. */
  readonly at: number;
  readonly ready: boolean;
  readonly actors: readonly ActorEntry[];
  readonly resources: readonly ResourceInfo[];
  /** The last samples (one per second, the last five minutes). */
  readonly samples: readonly Sample[];
  /** The last errors, oldest first (at most 200). */
  readonly errors: readonly ErrorEntry[];
  readonly shutdown: ShutdownView;
}

/** Server → page. */
export type DashboardMessage =
  | {
      readonly type: 'hello';
      readonly protocol: typeof DASHBOARD_PROTOCOL;
      /** The statecharts, by machine id: laid out by the page. */
      readonly machines: Readonly<Record<string, StatechartGraph>>;
      /** Controls are enabled (and this client is on loopback). */
      readonly controls: boolean;
      readonly state: DashboardState;
    }
  /** Actors that appeared or changed since the last message (coalesced, at most every 100 ms). */
  | {
      readonly type: 'actors';
      readonly actors: readonly ActorEntry[];
      readonly gone: readonly string[];
    }
  /** A machine first seen after hello. */
  | { readonly type: 'machine'; readonly machine: StatechartGraph }
  | { readonly type: 'sample'; readonly sample: Sample; readonly ready: boolean }
  | { readonly type: 'resources'; readonly resources: readonly ResourceInfo[] }
  | { readonly type: 'error'; readonly error: ErrorEntry }
  | { readonly type: 'shutdown'; readonly shutdown: ShutdownView }
  /** The answer to a control. */
  | {
      readonly type: 'controlResult';
      readonly id: number;
      readonly ok: boolean;
      readonly message: string;
    };

/** Page → server: only with controls enabled, only from loopback. */
export type DashboardControl =
  | { readonly type: 'stopRunner'; readonly id: number; readonly runnerId: string }
  | { readonly type: 'restartRunner'; readonly id: number; readonly runnerId: string }
  | { readonly type: 'shutdown'; readonly id: number; readonly reason: string };
