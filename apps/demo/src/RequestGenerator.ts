import type { Runner } from '@troupe/runtime';
import { isTokenEvent } from './isTokenEvent.js';
import { PROMPTS } from './prompts.js';
import type { GenerateRequest, GenerateResult, TokenEvent } from './protocol.js';
import type { Outcome, RequestTally } from './RequestTally.js';
import { sleep } from './sleep.js';

/** What a {@link RequestGenerator} needs. */
export interface RequestGeneratorOptions {
  /** Requests go to these runners, round-robin (runners that stopped or failed are skipped). */
  readonly runners: readonly Runner[];
  readonly tally: RequestTally;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Probability that a client hangs up mid-stream (its request is aborted). */
  readonly cancelRate: number;
  /** Tokens per request: `min + random(spread)`. */
  readonly tokens?: { readonly min: number; readonly spread: number };
  /** Called for each request before it is submitted. */
  readonly onSubmit?: (runnerId: string, request: GenerateRequest) => void;
  /** Called when a request settled. */
  readonly onSettle?: (runnerId: string, outcome: Outcome, code: string | null) => void;
}

/** Pause after a request that did not complete, so refusals never spin a hot loop. */
const PAUSE_AFTER_FAILURE_MS = 100;
/** Pause when no runner can take work. */
const PAUSE_WHEN_NO_RUNNER_MS = 250;

/**
 * Submits `generate` requests round-robin to the runners with bounded
 * concurrency: `concurrency` slots, each submitting its next request when
 * the previous one settled. Every rejection is caught and tallied.
 */
export class RequestGenerator {
  readonly #options: RequestGeneratorOptions;
  readonly #stop = new AbortController();
  readonly #pending = new Set<Promise<void>>();
  #slots: Promise<void>[] = [];
  #next = 0;
  #seq = 0;
  #mismatches = 0;

  constructor(options: RequestGeneratorOptions) {
    this.#options = options;
  }

  /** Completed requests whose streamed token count differed from their result (must stay 0). */
  get mismatches(): number {
    return this.#mismatches;
  }

  /** Whether {@link stop} was called. */
  get stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Starts the slots. */
  start(): void {
    if (this.#slots.length > 0) return;
    for (let i = 0; i < this.#options.concurrency; i++) this.#slots.push(this.#slot());
  }

  /** No new requests from the slots; requests in flight go on. */
  stop(): void {
    this.#stop.abort();
  }

  /**
   * Submits one request outside the slots (even after {@link stop}) and
   * resolves when it settled. Never rejects.
   */
  submitOne(): Promise<void> {
    const runner = this.#pick() ?? this.#options.runners[0];
    if (runner === undefined) return Promise.resolve();
    const request = this.#request(runner).then(() => undefined);
    this.#pending.add(request);
    void request.finally(() => this.#pending.delete(request));
    return request;
  }

  /** Resolves once the slots ended (after {@link stop}) and every request settled. */
  async settled(): Promise<void> {
    await Promise.all(this.#slots);
    await Promise.all([...this.#pending]);
  }

  async #slot(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const runner = this.#pick();
      if (runner === undefined) {
        await sleep(PAUSE_WHEN_NO_RUNNER_MS, stop).catch(() => undefined);
        continue;
      }
      const completed = await this.#request(runner);
      if (!completed) await sleep(PAUSE_AFTER_FAILURE_MS, stop).catch(() => undefined);
    }
  }

  /** The next runner that can take work, round-robin. */
  #pick(): Runner | undefined {
    const { runners } = this.#options;
    for (let tried = 0; tried < runners.length; tried++) {
      const runner = runners[this.#next++ % runners.length];
      if (runner !== undefined && runner.state !== 'failed' && runner.state !== 'stopped') {
        return runner;
      }
    }
    return undefined;
  }

  /** Runs one request to its end; resolves with whether it completed. Never rejects. */
  async #request(runner: Runner): Promise<boolean> {
    const { tally, cancelRate, onSubmit, onSettle } = this.#options;
    const tokens = this.#options.tokens ?? { min: 16, spread: 32 };
    const n = ++this.#seq;
    const payload: GenerateRequest = {
      prompt: `${PROMPTS[n % PROMPTS.length] ?? ''} (#${n})`,
      tokens: tokens.min + Math.floor(Math.random() * tokens.spread),
    };
    let streamed = 0;
    let hangUp: NodeJS.Timeout | undefined;
    const client = new AbortController();
    if (Math.random() < cancelRate) {
      hangUp = setTimeout(
        () => {
          client.abort(new Error('client disconnected'));
        },
        100 + Math.random() * 400,
      );
    }
    onSubmit?.(runner.id, payload);
    tally.submitted(runner.id);
    let failure: unknown = null;
    try {
      const result = await runner.run<GenerateResult, TokenEvent>(payload, {
        handler: 'generate',
        signal: client.signal,
        onEvent: (event) => {
          if (!isTokenEvent(event)) return;
          streamed += 1;
          tally.token(runner.id, event.text);
        },
      });
      // All of a task's events arrive before its result: the count must match.
      if (result.tokens !== streamed) this.#mismatches += 1;
    } catch (error) {
      failure = error ?? new Error('rejected without a reason');
    } finally {
      clearTimeout(hangUp);
    }
    const { outcome, code } = tally.settled(runner.id, failure);
    onSettle?.(runner.id, outcome, code);
    return outcome === 'completed';
  }
}
