export { ErrorCodes, isErrorCode, type ErrorCode } from './errors/codes.js';
export {
  TroupeError,
  isTroupeError,
  type TroupeErrorContext,
  type TroupeErrorOptions,
} from './errors/TroupeError.js';
export {
  ShutdownInProgressError,
  RunnerStoppedError,
  RunnerStartupError,
  WorkerCrashedError,
  TaskTimeoutError,
  TaskAbortedError,
  QueueFullError,
  ChannelClosedError,
  ResourceCycleError,
  InvalidConfigError,
  DataCloneError,
  RestartLimitError,
  TaskFailedError,
  UnknownHandlerError,
  ResourceCloseError,
  ResourceCloseTimeoutError,
  UnhealthyError,
  UnknownError,
  createTroupeError,
} from './errors/subclasses.js';
export {
  toErrorData,
  fromErrorData,
  isErrorData,
  toTroupeError,
  type ErrorData,
} from './errors/errorData.js';
export { backoffCeiling, fullJitterDelay, type BackoffOptions } from './backoff.js';
export { addRestart, withinIntensity, type RestartIntensity } from './restartIntensity.js';
export { createNodeId, idSequence } from './ids.js';
export { mulberry32, randomSeed, seededDraw } from './prng.js';
export {
  builtInPolicies,
  classifyError,
  type Classification,
  type Classifier,
  type ErrorContext,
  type ErrorPolicies,
  type ErrorPolicy,
  type RecoveryAction,
  type Severity,
} from './errors/classify.js';
export {
  retryMachine,
  retryDelay,
  RetryEventTypes,
  type RetryContext,
  type RetryEvent,
  type RetryMachineInput,
  type RetryOutcome,
  type RetryOutput,
} from './machines/retryMachine.js';
export {
  runnerMachine,
  runnerStateOf,
  restartDelay,
  RunnerEventTypes,
  type RunnerContext,
  type RunnerEvent,
  type RunnerMachineInput,
  type RunnerOutput,
  type RunnerPoolInput,
  type RunnerCloseInput,
  type RunnerRestartConfig,
  type RunnerState,
  type RunnerStopReason,
  type RestartPolicy,
} from './machines/runnerMachine.js';
export {
  resourceMachine,
  ResourceEventTypes,
  type ResourceContext,
  type ResourceEvent,
  type ResourceMachineInput,
  type ResourceOutcome,
  type ResourceOutput,
  type ResourceState,
} from './machines/resourceMachine.js';
export {
  channelMachine,
  ChannelEventTypes,
  type ChannelContext,
  type ChannelEvent,
  type ChannelMachineInput,
  type ChannelState,
} from './machines/channelMachine.js';
export {
  shutdownMachine,
  shutdownPhaseOf,
  ShutdownEventTypes,
  type ShutdownContext,
  type ShutdownDeadlines,
  type ShutdownEvent,
  type ShutdownOutput,
  type ShutdownPhase,
  type ShutdownPhaseInput,
  type TimedShutdownPhase,
} from './machines/shutdownMachine.js';
export {
  defaultHealthWeights,
  errorComponent,
  healthLevel,
  healthScore,
  statusComponent,
  type HealthComponents,
  type HealthLevel,
  type HealthThresholds,
  type HealthWeights,
} from './health/healthScore.js';
