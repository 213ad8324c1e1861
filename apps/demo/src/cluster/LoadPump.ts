import type { ClusterRunner } from '@troupe/cluster';
import { isTokenEvent } from '../isTokenEvent.js';
import { PROMPTS } from '../prompts.js';
import type { GenerateRequest } from '../protocol.js';
import { sleep } from '../sleep.js';
import type { PlacementTally } from './PlacementTally.js';

/** After a failed task, before the next: a broken cluster must not make the loop spin. */
const BACKOFF_MS = 100;

/**
 * Keeps `inFlight` generation tasks running on a cluster runner: each loop
 * submits a task (idempotent: a task whose node dies is run again on
 * another node) and, once it settled, the next one, until {@link stop}.
 * Every placement, token and outcome goes to the tally.
 */
export class LoadPump {
  readonly #runner: ClusterRunner;
  readonly #tally: PlacementTally;
  readonly #inFlight: number;
  readonly #onFailure: (error: unknown, placements: readonly string[]) => void;
  #loops: Promise<void>[] = [];
  #stopped = false;
  #prompt = 0;

  constructor(options: {
    runner: ClusterRunner;
    tally: PlacementTally;
    inFlight: number;
    /** A task failed (it is counted in the tally too), with the nodes that took it. */
    onFailure?: (error: unknown, placements: readonly string[]) => void;
  }) {
    this.#runner = options.runner;
    this.#tally = options.tally;
    this.#inFlight = options.inFlight;
    this.#onFailure = options.onFailure ?? (() => {});
  }

  start(): void {
    this.#loops = Array.from({ length: this.#inFlight }, () => this.#loop());
  }

  /** Submits no new task; those in flight go on. */
  stop(): void {
    this.#stopped = true;
  }

  /** Resolves once stopped and every task settled. */
  async settled(): Promise<void> {
    await Promise.all(this.#loops);
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) await this.#one();
  }

  async #one(): Promise<void> {
    const request: GenerateRequest = {
      prompt: PROMPTS[this.#prompt++ % PROMPTS.length] ?? 'hello',
      tokens: 8 + Math.floor(Math.random() * 9),
    };
    const task = this.#tally.submit();
    try {
      await this.#runner.run(request, {
        handler: 'generate',
        idempotent: true,
        onPlaced: (nodeId) => {
          this.#tally.placed(task, nodeId);
        },
        onEvent: (event) => {
          if (isTokenEvent(event)) this.#tally.token(task);
        },
      });
      this.#tally.settle(task);
    } catch (error) {
      this.#tally.settle(task, error);
      this.#onFailure(error, task.placements);
      await sleep(BACKOFF_MS);
    }
  }
}
