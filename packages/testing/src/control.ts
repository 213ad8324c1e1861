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

/** How the controllable fixture's `teardown` goes (`Control.teardownMode`). */
export const TeardownMode = {
  /** Returns at once. */
  ok: 0,
  /** Never finishes. */
  hang: 1,
  /** Waits until the next {@link releaseTeardowns}. */
  held: 2,
  /**
   * Blocks its thread in a system call (opening the named pipe at
   * `workerData.pipe`, see `blockingPipe`), where `terminate()`
   * cannot reach it: the thread outlives its termination until the pipe is
   * released.
   */
  block: 3,
} as const;

/** Slots of the controllable fixture's control block. */
export const Control = {
  /** Loads so far: each load takes the next index. */
  loads: 0,
  /** Bumped to release every held task. */
  release: 1,
  /** A {@link TeardownMode}. */
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
  /** 1: each load waits until {@link releaseLoad} released it, then follows its plan. */
  gatedLoads: 104,
  /** Loads released so far (gated loads): load #i goes on once this exceeds i. */
  loadsReleased: 105,
  /** Bumped to release every held teardown. */
  teardownRelease: 106,
  /** Teardowns started so far. */
  teardowns: 107,
  /** code + 1 (gated loads only): the thread exits with `code` now, busy or idle; consumed once. */
  exitNow: 108,
  size: 112,
} as const;

/** A fresh control block for `fixtures.controllable` (`workerData: { control }`). */
export function createControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Control.size * 4));
}

/** Bumps the release counter: every held task finishes. */
export function releaseHeld(control: Int32Array): void {
  Atomics.add(control, Control.release, 1);
  Atomics.notify(control, Control.release);
}

/** Lets gated load #`index` go on, with the mode its plan slot holds now. */
export function releaseLoad(control: Int32Array, index: number): void {
  const released = Atomics.load(control, Control.loadsReleased);
  if (released <= index) Atomics.store(control, Control.loadsReleased, index + 1);
  Atomics.notify(control, Control.loadsReleased);
}

/** Bumps the teardown release counter: every held teardown returns. */
export function releaseTeardowns(control: Int32Array): void {
  Atomics.add(control, Control.teardownRelease, 1);
  Atomics.notify(control, Control.teardownRelease);
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
