// One inference thread of a runner. `setup` "loads the model" (a Float32Array
// filled with a deterministic pattern), `generate` streams tokens picked by
// reading the weights, and the flaky runner's threads sometimes die mid-task.
import { defineRunner, getWorkerData, type TaskContext } from '@troupe/runtime/worker';
import type {
  GenerateRequest,
  GenerateResult,
  InferenceWorkerData,
  TokenEvent,
} from './protocol.js';
import { sleep } from './sleep.js';
import { VOCABULARY } from './vocabulary.js';

/** Floats read per token: a "layer" of the fake model. */
const LAYER_FLOATS = 1 << 16;

const config = getWorkerData<InferenceWorkerData>();
let model: Float32Array | null = null;

/** xorshift32: a deterministic pattern, the same weights in every thread. */
function fillWeights(weights: Float32Array): void {
  let x = 0x9e3779b9;
  for (let i = 0; i < weights.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    weights[i] = (x >>> 0) / 0x1_0000_0000 - 0.5;
  }
}

/** FNV-1a of the prompt: where in the weights a completion starts. */
function hashPrompt(prompt: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < prompt.length; i++) {
    h ^= prompt.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** "Runs a layer": a dot product over a window of the weights picks the next token. */
function nextToken(weights: Float32Array, seed: number, index: number): string {
  const span = weights.length - LAYER_FLOATS;
  const start = (seed + index * 7_919) % span;
  const end = start + LAYER_FLOATS;
  let acc = 0;
  for (let i = start; i < end; i += 4) {
    acc +=
      (weights[i] ?? 0) * (weights[i + 1] ?? 0) - (weights[i + 2] ?? 0) * (weights[i + 3] ?? 0);
  }
  const pick = Math.abs(Math.trunc(acc * 1_000_003)) % VOCABULARY.length;
  return VOCABULARY[pick] ?? '…';
}

async function generate(
  request: GenerateRequest,
  ctx: TaskContext<TokenEvent>,
): Promise<GenerateResult> {
  const weights = model;
  if (weights === null) throw new Error('model not loaded');
  const started = performance.now();
  const seed = hashPrompt(request.prompt);
  // The flaky runner decides up front whether (and where) this thread dies.
  const crashAt =
    config.crashRate > 0 && Math.random() < config.crashRate
      ? Math.floor(Math.random() * request.tokens)
      : -1;
  for (let index = 0; index < request.tokens; index++) {
    // Cancelled, timed out or forced at a shutdown deadline: throws the abort reason.
    ctx.signal.throwIfAborted();
    if (index === crashAt) {
      // A segfault in a native kernel, an OOM kill...: the thread is gone.
      process.exit(1);
    }
    const text = nextToken(weights, seed, index);
    await ctx.emit({ type: 'token', text, index });
    // Once shutdown is announced, hurry up: the drain deadline is ticking.
    const pace = ctx.shutdownSignal.aborted ? config.tokenMs / 2 : config.tokenMs;
    await sleep(pace * (0.6 + Math.random() * 0.8), ctx.signal);
  }
  const ms = Math.round(performance.now() - started);
  // To the troupe's logger in the main thread, with runnerId, threadId and taskId.
  ctx.log.debug({ tokens: request.tokens, ms }, 'generated');
  return { tokens: request.tokens, ms };
}

export default defineRunner({
  async setup(ctx) {
    const started = performance.now();
    const weights = new Float32Array(config.modelFloats);
    fillWeights(weights);
    // Reading the weights from "disk" takes a little longer than filling them.
    const left = config.loadMs - (performance.now() - started);
    if (left > 0) await sleep(left);
    model = weights;
    ctx.log.info(
      { floats: weights.length, ms: Math.round(performance.now() - started) },
      'model loaded',
    );
  },
  teardown(ctx) {
    model = null;
    ctx.log.info({}, 'model unloaded');
  },
  handlers: { generate },
});
