/** How a thread of the controllable fixture loads. */
export const LoadMode = {
  ok: 0,
  /** setup() throws. */
  throw: 1,
  /** setup() never finishes. */
  hang: 2,
  /** setup() exits the thread. */
  exit: 3,
} as const;

/** Slots of the controllable fixture's control block. */
export const Control = {
  /** Loads so far: each load takes the next index. */
  loads: 0,
  /** Bumped to release every held task. */
  release: 1,
  /** 1: teardown hangs. */
  teardownMode: 2,
  /** 1: held tasks ignore ctx.signal. */
  ignoreAbort: 3,
  /** code + 1: a released held task exits its thread with `code`. */
  exitHeld: 4,
  /** Held tasks that started waiting so far. */
  holding: 5,
  /** First slot of the load plan: the mode of load #0, #1, ... */
  plan: 8,
  planSize: 32,
  /** First slot of the started flags of held tasks, by task index modulo `startedSize`. */
  started: 40,
  startedSize: 64,
} as const;

/** A fresh control block for `fixtures.controllable` (`workerData: { control }`). */
export function createControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer((Control.started + Control.startedSize) * 4));
}

/** Bumps the release counter: every held task finishes. */
export function releaseHeld(control: Int32Array): void {
  Atomics.add(control, Control.release, 1);
  Atomics.notify(control, Control.release);
}

/** Resolves true once `control[slot] >= count`, false after `timeoutMs`. */
export async function counterReached(
  control: Int32Array,
  slot: number,
  count: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = Atomics.load(control, slot);
    if (value >= count) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    const wait = Atomics.waitAsync(control, slot, value, left);
    if (wait.async) await wait.value;
  }
}
