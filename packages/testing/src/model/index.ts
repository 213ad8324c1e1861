export {
  coverageOf,
  modelPaths,
  simplePaths,
  stateValueText,
  type ModelCoverage,
  type ModelPath,
  type ModelSpec,
  type ModelStep,
} from './modelPaths.js';
export {
  allStateIds,
  allTransitions,
  takenTransitions,
  type TransitionInfo,
} from './transitions.js';
export {
  runModelPath,
  type ModelDriver,
  type ObservedActor,
  type PathRun,
} from './runModelPath.js';
export {
  channelModel,
  modelRestart,
  resourceModel,
  resourceModelOpenAtOnce,
  runnerModel,
  shutdownModel,
  unrealizable,
} from './specs.js';
export { RunnerDriver, loadPlan } from './drivers/RunnerDriver.js';
export { ShutdownDriver } from './drivers/ShutdownDriver.js';
export { ResourceDriver } from './drivers/ResourceDriver.js';
export { ChannelDriver } from './drivers/ChannelDriver.js';
export {
  testRunnerLifecycle,
  type LifecycleCase,
  type LifecycleTask,
  type RunnerLifecycleOptions,
} from './testRunnerLifecycle.js';
