// What this process holds: OS threads and ref'd handles.
import { access } from 'node:fs/promises';
import { snapshotHandles } from '@troupe/testing';

/**
 * OS threads before a test's troupe: libuv's thread pool is started first
 * (a runner's start uses it), so it is not counted as a leak.
 */
export async function threadBaseline(): Promise<number> {
  await access(process.cwd());
  return osThreads();
}

/** OS threads of this process right now. */
export function osThreads(): number {
  return snapshotHandles().osThreads;
}

/** Ref'd handles of one type (`process.getActiveResourcesInfo()`). */
export function activeOf(type: string): number {
  return process.getActiveResourcesInfo().filter((t) => t === type).length;
}
