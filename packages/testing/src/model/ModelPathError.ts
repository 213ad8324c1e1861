import type { EventObject } from 'xstate';

/** What broke a model path on the real system. */
export type ModelPathFailure =
  /** The real actor went to a state the model does not pass through (strict). */
  | 'unexpected'
  /** The real actor did not reach the model's state within the step timeout. */
  | 'timeout'
  /** A check of the caller's (a hook) failed after the step. */
  | 'hook';

/** A real transition, as the actor took it. */
export interface RealTransition {
  readonly from: string;
  readonly event: EventObject;
  readonly to: string;
}

/** Where and how a model path failed; `message` says it all in words. */
export class ModelPathError extends Error {
  override readonly name = 'ModelPathError';
  readonly path: string;
  /** The step that failed: 0 for the initial state, then 1.. the path's length. */
  readonly step: number;
  readonly steps: number;
  readonly failure: ModelPathFailure;
  /** The state the model is in after the step. */
  readonly expected: string;
  /** The model's event of the step (`null` for the initial state). */
  readonly by: string | null;
  /** The real transition that left the model (`unexpected` only). */
  readonly actual: RealTransition | null;
  /** Every real step so far, as text. */
  readonly real: string;

  constructor(
    message: string,
    facts: {
      path: string;
      step: number;
      steps: number;
      failure: ModelPathFailure;
      expected: string;
      by: string | null;
      actual: RealTransition | null;
      real: string;
      cause?: unknown;
    },
  ) {
    super(message, facts.cause === undefined ? undefined : { cause: facts.cause });
    this.path = facts.path;
    this.step = facts.step;
    this.steps = facts.steps;
    this.failure = facts.failure;
    this.expected = facts.expected;
    this.by = facts.by;
    this.actual = facts.actual;
    this.real = facts.real;
  }
}
