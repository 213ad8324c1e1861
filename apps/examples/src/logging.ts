import { createTroupe } from '@troupe/runtime';
import { pino } from 'pino';
import pretty from 'pino-pretty';

// JSON lines at LOG_LEVEL (default info); colours only in a terminal.
const level = process.env.LOG_LEVEL ?? 'info';
const logger = process.stdout.isTTY ? pino({ level }, pretty()) : pino({ level });

const troupe = createTroupe({ nodeId: 'node-a', logger });
const runner = await troupe.spawnRunner({
  id: 'summarizer',
  worker: new URL('./logging-worker.js', import.meta.url),
  threads: 1,
});
await runner.run('actors on worker threads never lose work', { handler: 'summarize' });
await troupe.shutdown({ reason: 'done' });
