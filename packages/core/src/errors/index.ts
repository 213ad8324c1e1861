// The error model on its own (`@troupe/core/errors`): what a worker thread
// needs to build and ship errors, without the statecharts.
export { ErrorCodes, isErrorCode, type ErrorCode } from './codes.js';
export {
  TroupeError,
  isTroupeError,
  type Operation,
  type TroupeErrorContext,
  type TroupeErrorOptions,
} from './TroupeError.js';
export {
  ChannelClosedError,
  DataCloneError,
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
  UnhealthyError,
  UnknownError,
  UnknownHandlerError,
  WorkerCrashedError,
  WorkerUnresponsiveError,
  NodeLostError,
  NoNodeError,
  PayloadTooLargeError,
  ClusterUnavailableError,
  createTroupeError,
} from './subclasses.js';
export {
  fromErrorData,
  isErrorData,
  toErrorData,
  toTroupeError,
  troupeErrorData,
  type ErrorData,
} from './errorData.js';
