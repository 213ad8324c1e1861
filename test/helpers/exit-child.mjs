// Runs a troupe through work, a crash, events and shutdown, then simply
// returns: the process must exit on its own.
import { createTroupe } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';

const troupe = createTroupe({ shutdown: { drainingMs: 2_000 } });
troupe.resources.register({ id: 'db', close: () => new Promise((r) => setTimeout(r, 20)) });
const sleep = await troupe.spawnRunner({ worker: fixtures.sleep, threads: 2, dependsOn: ['db'] });
const stream = await troupe.spawnRunner({ worker: fixtures.stream, threads: 1 });
const crash = await troupe.spawnRunner({
  worker: fixtures.crashMidTask,
  threads: 1,
  restart: { maxRestarts: 5 },
});
stream.on('event', () => {});
await Promise.all([sleep.run(10), stream.run({ prompt: 'x', chunks: 5 }, { handler: 'generate' })]);
await crash.run({ code: 3 }).catch(() => {});
const late = [sleep.run(200), sleep.run(300)];
await troupe.probeHealth();
const report = await troupe.shutdown({ reason: 'child done' });
await Promise.all(late);
process.stdout.write(
  `${JSON.stringify({ done: performance.now(), leaked: report.threads.leaked, forced: report.forced })}\n`,
);
