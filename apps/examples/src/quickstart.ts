import { createTroupe } from '@troupe/runtime';

const troupe = createTroupe({ signals: ['SIGINT', 'SIGTERM'] });
const runner = await troupe.spawnRunner({
  id: 'math',
  worker: new URL('./quickstart-worker.js', import.meta.url),
  threads: 2,
});

console.log(await runner.run(7)); // 49: the default export
console.log(await runner.run({ a: 2, b: 3 }, { handler: 'add' })); // 5: a named export

const report = await troupe.shutdown({ reason: 'done' });
console.log(report.tasks.completed, 'tasks completed, forced:', report.forced);
