export { fixtures, type FixtureName } from './fixtures.js';
export { checkLeaks, snapshotHandles, type HandleSnapshot, type LeakReport } from './leakCheck.js';
export { Control, LoadMode, counterReached, createControl, releaseHeld } from './control.js';
export * from './model/index.js';
