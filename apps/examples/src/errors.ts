import { createTroupe, isTroupeError } from '@troupe/runtime';

const troupe = createTroupe();
const runner = await troupe.spawnRunner({
  worker: new URL('./quickstart-worker.js', import.meta.url),
  threads: 1,
  maxQueue: 0, // one task at a time, nothing queued
});

const first = runner.run(3);
try {
  await runner.run(4); // the only thread is busy and the queue holds nothing
} catch (error) {
  if (isTroupeError(error)) console.log(error.code, '-', error.message);
}
console.log(await first);

try {
  await runner.run(2, { handler: 'nope' });
} catch (error) {
  if (isTroupeError(error)) console.log(error.code, error.context);
}
await troupe.shutdown();
