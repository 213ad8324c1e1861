// Decides, from a seeded PRNG, what each soak task does and where it runs.
import { mulberry32 } from '@troupe/core';
import type { DefinedTask, PlainTask } from './tasks.js';

/** The soak's runners. */
export type RunnerName = 'fast' | 'plain' | 'defined' | 'heap';

/** What a task was meant to do; each has the outcome it must end with. */
export type TaskKind =
  | 'ok-fast'
  | 'ok-plain'
  | 'ok-defined'
  | 'ok-heap'
  | 'exit'
  | 'throw'
  | 'hog'
  | 'hang-plain'
  | 'hang-defined'
  | 'stall'
  | 'fail'
  | 'late';

/** The faults the injector draws from, with their relative weights. */
export const FAULTS = {
  exit: 3,
  throw: 3,
  hog: 1,
  'hang-plain': 1,
  'hang-defined': 1,
  stall: 3,
  fail: 3,
} as const satisfies Partial<Record<TaskKind, number>>;

export type FaultKind = keyof typeof FAULTS;

/** The outcome each kind must end with: 'ok' or the TroupeError code. */
export const EXPECTED: Readonly<Record<TaskKind, string>> = {
  'ok-fast': 'ok',
  'ok-plain': 'ok',
  'ok-defined': 'ok',
  'ok-heap': 'ok',
  exit: 'ERR_WORKER_CRASHED',
  throw: 'ERR_WORKER_CRASHED',
  hog: 'ERR_WORKER_CRASHED',
  'hang-plain': 'ERR_TASK_TIMEOUT',
  'hang-defined': 'ERR_TASK_TIMEOUT',
  stall: 'ok',
  fail: 'ERR_TASK_FAILED',
  late: 'ERR_SHUTDOWN_IN_PROGRESS',
};

/** Timeout of the hanging tasks: they end by termination after it (plus abort grace). */
export const HANG_TIMEOUT_MS = 250;

export interface PlannedTask {
  readonly kind: TaskKind;
  readonly runner: RunnerName;
  readonly payload: PlainTask | DefinedTask;
  readonly options?: { readonly handler?: string; readonly timeoutMs?: number };
}

/** Healthy load: where ordinary tasks go, by weight. */
const HEALTHY: readonly (readonly [RunnerName, number])[] = [
  ['fast', 0.4],
  ['plain', 0.2],
  ['defined', 0.25],
  ['heap', 0.15],
];

export class FaultInjector {
  readonly #random: () => number;
  readonly #faultRate: number;
  readonly #faultTotal: number;
  readonly injected: Record<FaultKind, number> = {
    exit: 0,
    throw: 0,
    hog: 0,
    'hang-plain': 0,
    'hang-defined': 0,
    stall: 0,
    fail: 0,
  };
  #n = 0;

  constructor(seed: number, faultRate: number) {
    this.#random = mulberry32(seed);
    this.#faultRate = faultRate;
    this.#faultTotal = Object.values(FAULTS).reduce((a, b) => a + b, 0);
  }

  /** A uniform draw in [0, 1) from the seeded sequence (for other soak decisions). */
  random(): number {
    return this.#random();
  }

  next(): PlannedTask {
    const n = ++this.#n;
    if (this.#random() < this.#faultRate) return this.#fault(n);
    let pick = this.#random();
    let runner: RunnerName = 'fast';
    for (const [name, weight] of HEALTHY) {
      runner = name;
      if ((pick -= weight) < 0) break;
    }
    switch (runner) {
      case 'fast':
        return { kind: 'ok-fast', runner, payload: { kind: 'ok', n } };
      case 'plain':
        return { kind: 'ok-plain', runner, payload: { kind: 'ok', n } };
      case 'heap':
        return { kind: 'ok-heap', runner, payload: { kind: 'ok', n } };
      case 'defined':
        return {
          kind: 'ok-defined',
          runner,
          payload: { kind: 'ok', n, emits: Math.floor(this.#random() * 4) },
          options: { handler: 'task' },
        };
    }
  }

  #fault(n: number): PlannedTask {
    let pick = this.#random() * this.#faultTotal;
    let kind: FaultKind = 'exit';
    for (const [name, weight] of Object.entries(FAULTS) as [FaultKind, number][]) {
      kind = name;
      if ((pick -= weight) < 0) break;
    }
    this.injected[kind] += 1;
    switch (kind) {
      case 'exit':
      case 'throw':
        return { kind, runner: 'plain', payload: { kind, n } };
      case 'hog':
        return { kind, runner: 'heap', payload: { kind: 'hog', n } };
      case 'hang-plain':
        return {
          kind,
          runner: 'plain',
          payload: { kind: 'hang', n },
          options: { timeoutMs: HANG_TIMEOUT_MS },
        };
      case 'hang-defined':
        return {
          kind,
          runner: 'defined',
          payload: { kind: 'hang', n },
          options: { handler: 'task', timeoutMs: HANG_TIMEOUT_MS },
        };
      case 'stall':
        return {
          kind,
          runner: 'defined',
          payload: { kind: 'stall', n, stallMs: 20 + Math.floor(this.#random() * 80) },
          options: { handler: 'task' },
        };
      case 'fail':
        return {
          kind,
          runner: 'defined',
          payload: { kind: 'fail', n },
          options: { handler: 'task' },
        };
    }
  }
}
