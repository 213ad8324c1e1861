// Opts into SIGTERM handling; a task is in flight when the signal arrives.
import { createTroupe } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';

const troupe = createTroupe({ signals: ['SIGTERM', 'SIGINT'] });
const runner = await troupe.spawnRunner({ worker: fixtures.sleep, threads: 1 });
troupe.on('shutdown:phase', ({ phase, reason }) => {
  process.stdout.write(`${JSON.stringify({ phase, reason })}\n`);
});
const task = runner.run(400).then((value) => {
  process.stdout.write(`${JSON.stringify({ task: value })}\n`);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await task;
