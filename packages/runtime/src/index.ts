export { createTroupe, type TroupeOptions } from './createTroupe.js';
export {
  Troupe,
  type Alert,
  type RunnerStateEvent,
  type ShutdownOptions,
  type ShutdownPhaseEvent,
  type ShutdownReport,
  type ShutdownTaskCounts,
  type TroupeEvents,
} from './Troupe.js';
export { Runner, type RunnerEvents } from './runner/Runner.js';
export type { RunOptions, RunnerStats, TaskEventMeta, TaskSettledEvent } from './runner/types.js';
export type { RunnerSpec } from './options/resolveRunnerSpec.js';
export { Channel, type ChannelEndpoint, type ChannelOptions } from './channel/Channel.js';
export type {
  ResourceCloseRecord,
  ResourceCloseReport,
  ResourceInfo,
  ResourceKind,
  ResourceRegistry,
  ResourceSpec,
} from './resources/ResourceManager.js';
export type { ErrorRecord, ErrorRegistry, ErrorStats } from './errors/ErrorHandler.js';
export type { PhaseTiming } from './shutdown/ShutdownCoordinator.js';
export type {
  HealthReport,
  HealthStatus,
  LatencyFigures,
  RunnerHealth,
} from './health/HealthMonitor.js';
export { silentLogger, type Logger } from './logger.js';
export type { InspectOption } from './inspect.js';
export * from '@troupe/core';
