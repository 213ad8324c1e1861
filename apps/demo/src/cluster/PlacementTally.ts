import { isTroupeError } from '@troupe/runtime';

/** One task of the demo, as the driver follows it. */
export interface TrackedTask {
  /** Every node that took it, in order (an idempotent task retried after its node died has two). */
  readonly placements: string[];
  settled: boolean;
}

/** One node's counts over the last tick. */
export interface NodeTick {
  readonly nodeId: string;
  /** Tasks it took in the tick (`onPlaced`). */
  readonly placed: number;
  /** Tokens it streamed back in the tick. */
  readonly tokens: number;
  /** Tasks on it now, not settled. */
  readonly inFlight: number;
}

/** A task that ran again on another node because its first node died. */
export interface Retry {
  readonly from: string;
  readonly to: string;
}

/**
 * The driver's own bookkeeping of its cluster tasks: where each was
 * placed, the tokens each node streamed, retries, outcomes. Counted from
 * the caller's side (`onPlaced`, `onEvent`, the promise), independent of
 * the nodes' reports.
 */
export class PlacementTally {
  readonly #placed = new Map<string, { tick: number; total: number }>();
  readonly #tokens = new Map<string, { tick: number; total: number }>();
  readonly #open = new Set<TrackedTask>();
  readonly #retries: Retry[] = [];
  readonly #failures = new Map<string, number>();
  submitted = 0;
  completed = 0;

  constructor(nodeIds: readonly string[]) {
    for (const id of nodeIds) this.#counter(this.#placed, id);
    for (const id of nodeIds) this.#counter(this.#tokens, id);
  }

  /** A new task; follow it with the calls below. */
  submit(): TrackedTask {
    const task: TrackedTask = { placements: [], settled: false };
    this.submitted += 1;
    this.#open.add(task);
    return task;
  }

  placed(task: TrackedTask, nodeId: string): void {
    const previous = task.placements.at(-1);
    task.placements.push(nodeId);
    this.#counter(this.#placed, nodeId).tick += 1;
    this.#counter(this.#placed, nodeId).total += 1;
    if (previous !== undefined) this.#retries.push({ from: previous, to: nodeId });
  }

  token(task: TrackedTask): void {
    const nodeId = task.placements.at(-1);
    if (nodeId === undefined) return;
    this.#counter(this.#tokens, nodeId).tick += 1;
    this.#counter(this.#tokens, nodeId).total += 1;
  }

  settle(task: TrackedTask, error: unknown = null): void {
    if (task.settled) return;
    task.settled = true;
    this.#open.delete(task);
    if (error === null) {
      this.completed += 1;
      return;
    }
    const code = isTroupeError(error) ? error.code : error instanceof Error ? error.name : 'error';
    this.#failures.set(code, (this.#failures.get(code) ?? 0) + 1);
  }

  /** Resolves once every task in flight was taken by a node (polls). */
  async allPlaced(): Promise<void> {
    while ([...this.#open].some((task) => task.placements.length === 0)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Tasks placed on `nodeId` and not settled. */
  inFlightOn(nodeId: string): number {
    let n = 0;
    for (const task of this.#open) if (task.placements.at(-1) === nodeId) n += 1;
    return n;
  }

  /** Tasks submitted and not settled. */
  get inFlight(): number {
    return this.#open.size;
  }

  /** Tasks that failed, by error code. */
  get failures(): ReadonlyMap<string, number> {
    return this.#failures;
  }

  get failed(): number {
    let n = 0;
    for (const count of this.#failures.values()) n += count;
    return n;
  }

  /** Every retry so far, in order. */
  get retries(): readonly Retry[] {
    return this.#retries;
  }

  /** Tasks each node took over the whole run. */
  totalPlaced(nodeId: string): number {
    return this.#placed.get(nodeId)?.total ?? 0;
  }

  /** The counts since the last tick, per node (those known at construction first); starts a new tick. */
  tick(): NodeTick[] {
    const ticks = [...this.#placed.keys()].map((nodeId) => ({
      nodeId,
      placed: this.#placed.get(nodeId)?.tick ?? 0,
      tokens: this.#tokens.get(nodeId)?.tick ?? 0,
      inFlight: this.inFlightOn(nodeId),
    }));
    for (const counter of [...this.#placed.values(), ...this.#tokens.values()]) counter.tick = 0;
    return ticks;
  }

  #counter(
    map: Map<string, { tick: number; total: number }>,
    nodeId: string,
  ): { tick: number; total: number } {
    let counter = map.get(nodeId);
    if (counter === undefined) {
      counter = { tick: 0, total: 0 };
      map.set(nodeId, counter);
    }
    return counter;
  }
}
