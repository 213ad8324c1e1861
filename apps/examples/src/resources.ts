import { createTroupe } from '@troupe/runtime';

const troupe = createTroupe({ shutdown: { closingMs: 5_000 } });
const closed: string[] = [];

troupe.resources.register([
  { id: 'db', close: () => void closed.push('db') },
  { id: 'cache', close: () => void closed.push('cache'), dependsOn: ['db'] },
]);
// The runner uses the cache: it closes first, then cache, then db.
await troupe.spawnRunner({
  id: 'api',
  worker: new URL('./quickstart-worker.js', import.meta.url),
  threads: 1,
  dependsOn: ['cache'],
});

const report = await troupe.shutdown();
console.log(closed.join(' → ')); // cache → db
console.log(report.resources.details.map((r) => `${r.id}:${r.outcome}`).join(' '));
