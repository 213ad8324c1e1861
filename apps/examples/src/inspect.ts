// apps/examples/src/inspect.ts
import { serveInspector } from '@troupe/inspect';
import { createTroupe } from '@troupe/runtime';

const troupe = createTroupe({ signals: ['SIGINT', 'SIGTERM'] });
// A relay on 127.0.0.1 (a free port); it never opens a browser.
const inspector = await serveInspector(troupe);
console.log(`inspector: open ${inspector.url}`);

const runner = await troupe.spawnRunner({
  id: 'math',
  worker: new URL('./quickstart-worker.js', import.meta.url),
  threads: 2,
});
console.log(await runner.run(7));

// Watching late loses nothing: every live actor first, then the stream.
const seen = new Set<string>();
const stop = troupe.inspect((event) => {
  if (event.type === '@xstate.actor') seen.add((event.actorRef as { id?: string }).id ?? '?');
});
await runner.run(8);
await new Promise((resolve) => setImmediate(resolve)); // events arrive on the next turn
stop();
console.log([...seen].sort().join(' '));

await troupe.shutdown(); // closes the relay too: the process exits by itself
