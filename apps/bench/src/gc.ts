// A full garbage collection, with or without --expose-gc on the command line.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | null = null;

/**
 * Returns `global.gc`; when node ran without `--expose-gc`, turns the flag on
 * at run time and fetches `gc` from a fresh context (the flag only affects
 * contexts created afterwards), so no re-spawn is needed.
 */
export function getGc(): () => void {
  if (collect !== null) return collect;
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') {
    collect = existing;
    return collect;
  }
  setFlagsFromString('--expose-gc');
  const fromContext = runInNewContext('gc') as unknown;
  if (typeof fromContext !== 'function') throw new Error('could not obtain gc()');
  collect = fromContext as () => void;
  return collect;
}

/** Several full collections with turns of the event loop in between (finalizers, weak refs). */
export async function settleHeap(): Promise<number> {
  const gc = getGc();
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  return process.memoryUsage().heapUsed;
}
