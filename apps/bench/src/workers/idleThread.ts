// A raw worker that stays alive until told (its parentPort listener keeps it
// running): the `new Worker` baseline of the startup and shutdown scenarios.
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', (message: unknown) => {
  if (message === 'close') parentPort?.close();
});
