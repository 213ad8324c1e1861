/**
 * The control block shared by `testRunnerLifecycle` and the instrument it
 * loads around the user's worker module (an Int32Array over a
 * SharedArrayBuffer, handed over a BroadcastChannel when a thread loads).
 */
export const Slot = {
  /** Loads started so far: each load takes the next index. */
  loads: 0,
  /** code + 1: the thread exits with `code` as soon as it sees it; consumed once. */
  exitNow: 1,
  /** Task starts still to hold (each held start takes one). */
  holdBudget: 2,
  /** Bumped to release every held task. */
  release: 3,
  /** Task starts held so far. */
  held: 4,
  /** First slot of the load plan: the {@link LoadPlan} of load #0, #1, ... */
  plan: 8,
  planSize: 32,
  size: 40,
} as const;

/** How a thread load goes, before the user's module is evaluated. */
export const LoadPlan = {
  /** The user's module loads (and its `setup` runs) as written. */
  ok: 0,
  /** The load throws before the user's module runs: the thread fails to start. */
  throw: 1,
  /** The load never finishes: the runner's startup deadline ends it. */
  hang: 2,
} as const;

/** Messages on the instrument's BroadcastChannel. */
export type InstrumentMessage =
  | { readonly type: 'hello'; readonly threadId: number }
  | { readonly type: 'control'; readonly control: SharedArrayBuffer }
  | { readonly type: 'checkHandles' }
  | {
      readonly type: 'handles';
      readonly threadId: number;
      /** `teardown`: right after the module's teardown; `idle`: asked while idle. */
      readonly when: 'teardown' | 'idle';
      readonly left: readonly string[];
    };
