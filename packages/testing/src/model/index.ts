export {
  coverageOf,
  eventFacts,
  modelPaths,
  simplePaths,
  type ModelAction,
  type ModelCoverage,
  type ModelPath,
  type ModelSpec,
  type ModelStep,
  type SimplePathOptions,
} from './modelPaths.js';
export { activeStateIds, inStateNode, stateValueText } from './stateValue.js';
export {
  allStateIds,
  allTransitions,
  takenTransitions,
  type TransitionInfo,
} from './transitions.js';
export {
  runModelPath,
  type RunModelPathOptions,
  type ModelDriver,
  type ObservedActor,
  type ObservedStep,
  type PathRun,
} from './runModelPath.js';
export { ActorRecorder } from './ActorRecorder.js';
export {
  channelModel,
  modelRestart,
  resourceModel,
  resourceModelOpenAtOnce,
  runnerModel,
  shutdownModel,
  shutdownModelWithReadinessDelay,
  supervisorModel,
} from './specs.js';
export { threadExitKind, type PoolFacts, type ThreadExitKind } from './runnerModel.js';
export { unrealizable } from './unrealizable.js';
export { RunnerDriver } from './drivers/RunnerDriver.js';
export { ShutdownDriver } from './drivers/ShutdownDriver.js';
export { ResourceDriver } from './drivers/ResourceDriver.js';
export { ChannelDriver } from './drivers/ChannelDriver.js';
export { SupervisorDriver } from './drivers/SupervisorDriver.js';
export {
  testRunnerLifecycle,
  type LifecycleCase,
  type LifecycleCases,
  type LifecycleCaseContext,
  type LifecycleStepContext,
  type LifecycleTask,
  type RunnerLifecycleOptions,
} from './testRunnerLifecycle.js';
export { ModelPathError, type ModelPathFailure, type RealTransition } from './ModelPathError.js';
