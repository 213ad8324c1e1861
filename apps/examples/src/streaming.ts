import { createTroupe, isTroupeError } from '@troupe/runtime';

const troupe = createTroupe();
const llm = await troupe.spawnRunner({
  id: 'llm-0',
  worker: new URL('./streaming-worker.js', import.meta.url),
  threads: 2,
});

// Every event of a task arrives, in order, before its result.
const words: string[] = [];
const result = await llm.run(7, {
  handler: 'generate',
  onEvent: (event) => words.push((event as { text: string }).text),
});
console.log(words.join(' '), result);

// Cancellation: the promise rejects at once; ctx.signal aborts in the thread.
const controller = new AbortController();
const pending = llm.run(1_000_000, { handler: 'generate', signal: controller.signal });
controller.abort();
try {
  await pending;
} catch (error) {
  if (isTroupeError(error, 'ERR_TASK_ABORTED')) console.log('aborted:', error.context.taskId);
}

await troupe.shutdown();
