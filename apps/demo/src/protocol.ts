// The messages between the main thread and the inference workers: what a
// `generate` task takes, what it streams, what it returns, and the runner's
// `workerData`. Types only: both sides import them.

/** Payload of the `generate` handler. */
export interface GenerateRequest {
  readonly prompt: string;
  /** How many tokens to generate. */
  readonly tokens: number;
}

/** What `generate` streams back with `ctx.emit`, once per token. */
export interface TokenEvent {
  readonly type: 'token';
  readonly text: string;
  /** 0-based position of the token in its completion. */
  readonly index: number;
}

/** What `generate` resolves with. */
export interface GenerateResult {
  /** Tokens generated (and streamed). */
  readonly tokens: number;
  /** Wall time of the generation inside the thread. */
  readonly ms: number;
}

/** The runner spec's `workerData`, read in the thread with `getWorkerData()`. */
export interface InferenceWorkerData {
  /** Float32 weights of the fake model, per thread. */
  readonly modelFloats: number;
  /** Simulated weight-loading latency on top of filling the buffer. */
  readonly loadMs: number;
  /** Mean delay between two tokens. */
  readonly tokenMs: number;
  /** Probability per task that the thread dies mid-generation (`process.exit(1)`). */
  readonly crashRate: number;
}
