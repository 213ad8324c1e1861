import type { ResourceLimits } from 'node:worker_threads';
import type {
  Classifier,
  ErrorCode,
  ErrorPolicy,
  EscalationPolicy,
  HealthRecovery,
  RestartPolicy,
} from '@troupe/core';
import type { InspectOption } from '../inspection/InspectOption.js';
import type { LoggerLike } from '../logger.js';

/** Per-phase deadlines of the three-phase shutdown, in ms. */
export interface ShutdownDeadlineOptions {
  /** SIGNALING: admission closed, runners told; ends when all acknowledged. Default 1000. */
  readonly signalingMs?: number;
  /** DRAINING: accepted tasks finish; then aborted. Default 10000. */
  readonly drainingMs?: number;
  /** CLOSING: teardown, resources close, threads exit; then force-closed. Default 5000. */
  readonly closingMs?: number;
  /** Bound of each forced path (abort and terminate, force-close). Default 2000. */
  readonly forceMs?: number;
  /** Between a cooperative abort (`ctx.signal`) and terminating the thread. Default 1000. */
  readonly abortGraceMs?: number;
  /**
   * SIGNALING turns readiness off (`/readyz` 503) at once, but keeps
   * admitting and serving work for this long, while a load balancer stops
   * routing here; then admission closes. Part of SIGNALING: its
   * `signalingMs` counts from the delay's end. A second signal cuts it.
   * Default 0.
   */
  readonly readinessDelayMs?: number;
}

/** How the troupe watches its runners. */
export interface HealthOptions {
  /** Probe on an interval. Default true. */
  readonly enabled?: boolean;
  /** Default 1000. */
  readonly intervalMs?: number;
  /** A thread that does not answer a probe within this is silent. Default 500. */
  readonly probeTimeoutMs?: number;
  /** Weights of the score's components (normalized by their sum). Default 0.4 / 0.15 / 0.15 / 0.15 / 0.15. */
  readonly weights?: {
    readonly process?: number;
    readonly status?: number;
    readonly resource?: number;
    readonly error?: number;
    /** Saturation: how long queued tasks wait for a thread. */
    readonly tasks?: number;
  };
  readonly thresholds?: {
    /** Score at or above: healthy. Default 0.9. */
    readonly healthy?: number;
    /** Score at or above: degraded (below: unhealthy). Default 0.7. */
    readonly degraded?: number;
    /** Errors per minute at which the error component reaches 0. Default 30. */
    readonly errorRatePerMin?: number;
    /** Consecutive unhealthy probes before recovery acts. Default 3. */
    readonly unhealthyProbes?: number;
    /**
     * A thread that answers no probe for this long while running a task is
     * hung: its task fails with `ERR_WORKER_UNRESPONSIVE` and the thread is
     * replaced (counted against the restart budget). Default 30000.
     */
    readonly hungAfterMs?: number;
    /** Queue wait (oldest queued task, or p90 since the last probe) at which the task component reaches 0. Default 500. */
    readonly queueWaitMs?: number;
  };
  /** What to do with a runner that stays unhealthy. Default 'restart'. */
  readonly recovery?: HealthRecovery;
}

/** How errors are classified, retried and escalated. */
export interface ErrorOptions {
  /** Error records kept. Default 1000. */
  readonly ringSize?: number;
  /** Window of the error rate. Default 60000. */
  readonly windowMs?: number;
  /** Per-code overrides of severity and recovery action. */
  readonly policies?: Readonly<Partial<Record<ErrorCode, ErrorPolicy>>>;
  /** A custom classifier, applied after the policies. */
  readonly classify?: Classifier;
  /** Backoff of task retries (`run(..., { retries })`). Default `{ baseMs: 100, capMs: 10000 }`. */
  readonly retry?: {
    readonly baseMs?: number;
    readonly capMs?: number;
    readonly maxAttempts?: number;
  };
  /** What an escalated CRITICAL error does. Default 'degrade'. */
  readonly escalation?: EscalationPolicy;
}

/** How a runner is supervised (OTP style). */
export interface RestartOptions {
  /** Default 'permanent'. */
  readonly policy?: RestartPolicy;
  /** At most this many restarts within `windowMs`, else the runner fails. Default 3. */
  readonly maxRestarts?: number;
  /** Default 10000. */
  readonly windowMs?: number;
  /** Full-jitter backoff before a pool restart. Default `{ baseMs: 100, capMs: 10000 }`. */
  readonly backoff?: { readonly baseMs?: number; readonly capMs?: number };
  /** The backoff starts over after this long without a restart. Default 30000. */
  readonly resetAfterMs?: number;
}

/** What `troupe.spawnRunner()` takes. */
export interface RunnerSpec {
  /** The worker module: a path, a `file:` URL string or a `URL`. */
  readonly worker: string | URL;
  /** Unique among runners and resources. Default `<nodeId>/runner-<n>`. */
  readonly id?: string;
  /** Threads kept warm (a crashed one is replaced). Default half the cores, at least 1. */
  readonly threads?: number;
  /** Tasks accepted beyond `threads` before `ERR_QUEUE_FULL`. Default 1000. */
  readonly maxQueue?: number;
  /** Default `timeoutMs` of every task. */
  readonly taskTimeoutMs?: number;
  /** Every thread must be ready within this once the pool starts loading. Default 10000. */
  readonly startupTimeoutMs?: number;
  /** Deadline of each thread's teardown. Default 5000. */
  readonly closeTimeoutMs?: number;
  /** Cooperative-abort grace before a thread is terminated. Default: the troupe's. */
  readonly abortGraceMs?: number;
  readonly restart?: RestartOptions;
  /** Resources this runner uses: they close after it. */
  readonly dependsOn?: readonly string[];
  /** Cloned into each thread: `getWorkerData()` or `setup({ workerData })`. */
  readonly workerData?: unknown;
  readonly resourceLimits?: ResourceLimits;
  readonly env?: Readonly<Record<string, string>>;
  readonly execArgv?: readonly string[];
  /** piscina's idle-wait mode; 'sync' is not offered (it would starve the message plane). Default 'disabled'. */
  readonly atomics?: 'disabled' | 'async';
}

/** Defaults for every `spawnRunner` spec of a troupe. */
export interface RunnerDefaults {
  readonly threads?: number;
  readonly maxQueue?: number;
  readonly taskTimeoutMs?: number;
  readonly startupTimeoutMs?: number;
  readonly restart?: RestartOptions;
}

/** Prometheus metrics (`troupe.metrics`, in a registry of the troupe's own). */
export interface MetricsOptions {
  /** Also collect prom-client's default process metrics (`process_*`, `nodejs_*`) in the troupe's registry. Default false. */
  readonly defaultMetrics?: boolean;
}

/** What `createTroupe()` takes. Every field is optional. */
export interface TroupeOptions {
  /** Prefixes generated runner ids so they stay unique beyond one process. Default `n-<random>`. */
  readonly nodeId?: string;
  readonly shutdown?: ShutdownDeadlineOptions;
  /**
   * Shut down gracefully on these signals. A second one during the
   * shutdown forces it (`shutdown({ force: true })`). Default none.
   */
  readonly signals?: readonly ('SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT' | 'SIGUSR2')[];
  /**
   * What a shutdown begun or forced by one of `signals` does to the
   * process once it is over: `'exitCode'` (default) sets `process.exitCode`
   * to 0 for a clean shutdown and 1 for a forced one (a deadline missed, a
   * second signal, something left running), and the process exits once
   * nothing else keeps it alive; `'exit'` then also calls `process.exit()`;
   * `'none'` leaves the process alone (you handle the exit).
   */
  readonly signalExit?: 'exitCode' | 'exit' | 'none';
  /**
   * A pino instance (or anything of pino's shape: `trace`…`fatal(obj, msg)`,
   * `child(bindings)`), or at least `debug`, `info`, `warn` and `error`.
   * Each actor logs on a child carrying its ids. Default: silent.
   */
  readonly logger?: LoggerLike;
  /** An XState inspection observer, given every actor's events. */
  readonly inspect?: InspectOption;
  readonly health?: HealthOptions;
  readonly errors?: ErrorOptions;
  readonly runnerDefaults?: RunnerDefaults;
  /** Runner pools that load at once (every thread start competes for the cores). Default 4 per core (at least 4). */
  readonly maxConcurrentStarts?: number;
  /** Prometheus metrics (`troupe.metrics`). Default `{ defaultMetrics: false }`. */
  readonly metrics?: MetricsOptions;
}
