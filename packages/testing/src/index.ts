export { fixtures, type FixtureName } from './fixtures.js';
export { checkLeaks, snapshotHandles, type HandleSnapshot, type LeakReport } from './leakCheck.js';
export {
  Control,
  LoadMode,
  TeardownMode,
  counterReached,
  createControl,
  releaseHeld,
  releaseLoad,
  releaseTeardowns,
} from './control.js';
export { blockingPipe, type BlockingPipe } from './blockingPipe.js';
export * from './model/index.js';
export {
  natsServerBinary,
  startNatsServer,
  type NatsServer,
  type NatsServerOptions,
} from './startNatsServer.js';
