export {
  defineRunner,
  isRunnerDefinition,
  type DefinedRunner,
  type Handler,
  type RunnerDefinition,
  type SetupContext,
  type TaskContext,
} from './defineRunner.js';
