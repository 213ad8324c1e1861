export { fixtures, type FixtureName } from './fixtures.js';
export { checkLeaks, snapshotHandles, type HandleSnapshot, type LeakReport } from './leakCheck.js';
