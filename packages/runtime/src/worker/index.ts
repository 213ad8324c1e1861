export {
  defineRunner,
  isRunnerDefinition,
  type DefinedRunner,
  type AnyHandler,
  type Handler,
  type RunnerDefinition,
  type SetupContext,
  type TaskContext,
} from './defineRunner.js';
export { getWorkerData } from './getWorkerData.js';
