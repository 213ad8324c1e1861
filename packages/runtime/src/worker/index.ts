export {
  defineRunner,
  isRunnerDefinition,
  type DefinedRunner,
  type AnyHandler,
  type Handler,
  type RunnerDefinition,
  type SetupContext,
  type TaskContext,
  type WorkerLogFn,
  type WorkerLogger,
} from './defineRunner.js';
export { getWorkerData } from './getWorkerData.js';
