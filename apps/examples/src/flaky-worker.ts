// A worker whose task crashes its thread on the first `crashFirst` calls
// (counted across threads in shared memory), and whenever asked to.
import { getWorkerData } from '@troupe/runtime/worker';

const { calls, crashFirst } = getWorkerData<{ calls: Int32Array; crashFirst: number }>();

export default function work(input: { n: number; crash?: boolean }): number {
  if (input.crash === true || Atomics.add(calls, 0, 1) < crashFirst) process.exit(1);
  return input.n * 2;
}
