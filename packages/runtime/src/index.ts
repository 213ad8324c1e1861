// The public surface of @troupe/runtime, by name. The statecharts, backoff
// and health math live in @troupe/core; the error model is re-exported here
// because every caller of run() handles its errors.
export { createTroupe } from './createTroupe.js';
export { Troupe } from './Troupe.js';
export type {
  RunnerStateEvent,
  ShutdownOptions,
  ShutdownPhaseEvent,
  TroupeEvents,
} from './events/TroupeEvents.js';
export type {
  ErrorOptions,
  HealthOptions,
  MetricsOptions,
  RestartOptions,
  RunnerDefaults,
  RunnerSpec,
  ShutdownDeadlineOptions,
  TroupeOptions,
} from './options/TroupeOptions.js';
export type { Runner, RunnerEvents, RunnerSnapshot } from './runner/Runner.js';
export type { RunnerStats } from './runner/types.js';
export type { RunOptions, TaskEventMeta, TaskSettledEvent } from './task/types.js';
export type { Alert } from './supervision/Supervisor.js';
export type { ShutdownReport, ShutdownTaskCounts } from './shutdown/shutdownReport.js';
export type {
  PhaseTiming,
  ShutdownGate,
  ShutdownSnapshot,
} from './shutdown/ShutdownCoordinator.js';
export { Channel, type ChannelEndpoint, type ChannelOptions } from './channel/Channel.js';
export type {
  ResourceCloseRecord,
  ResourceCloseReport,
  ResourceInfo,
  ResourceKind,
  ResourceRegistry,
  ResourceSpec,
} from './resources/ResourceManager.js';
export type { ErrorRecord, ErrorRegistry, ErrorStats, Resolution } from './errors/ErrorHandler.js';
export type {
  HealthReport,
  HealthStatus,
  LatencyFigures,
  RunnerHealth,
} from './health/HealthMonitor.js';
export type { TroupeMetrics } from './metrics/TroupeMetrics.js';
export type { ActorView } from './inspection/ActorView.js';
export type { InspectOption } from './inspection/InspectOption.js';
export {
  LOG_LEVELS,
  silentLogger,
  type LogFn,
  type LogLevel,
  type Logger,
  type LoggerLike,
} from './logger.js';
export {
  ChannelClosedError,
  DataCloneError,
  ErrorCodes,
  InvalidConfigError,
  ListenerFailedError,
  QueueFullError,
  ResourceCloseFailedError,
  ResourceCloseTimeoutError,
  ResourceCycleError,
  RestartLimitError,
  RunnerStartupError,
  RunnerStoppedError,
  ShutdownInProgressError,
  ShutdownTimeoutError,
  TaskAbortedError,
  TaskFailedError,
  TaskTimeoutError,
  ThreadStartupError,
  TroupeError,
  UnhealthyError,
  UnknownError,
  UnknownHandlerError,
  WorkerCrashedError,
  WorkerUnresponsiveError,
  NodeLostError,
  NoNodeError,
  PayloadTooLargeError,
  ClusterUnavailableError,
  isTroupeError,
  type ErrorCode,
  type ErrorData,
  type Operation,
  type RecoveryAction,
  type RestartPolicy,
  type RunnerState,
  type Severity,
  type ShutdownPhase,
  type TroupeErrorContext,
} from '@troupe/core';
