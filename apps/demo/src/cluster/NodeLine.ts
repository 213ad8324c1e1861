// What a node process (node.ts) tells the demo driver, one JSON object per
// line on its stdout. Types only: both sides import them.

/** One line a node process prints. */
export type NodeLine =
  /** It joined the cluster and is `up`. */
  | { readonly up: string; readonly pid: number }
  /** Its troupe began shutting down, and why. */
  | { readonly stopping: string; readonly reason: string }
  /** Its troupe is stopped; its NATS connection is closing. */
  | { readonly stopped: string };

/** Environment variables the driver starts a node process with. */
export interface NodeEnv {
  readonly NATS_URL: string;
  readonly NODE_ID: string;
  readonly CLUSTER: string;
  readonly HEARTBEAT_MS: string;
  readonly TOKEN_MS: string;
}
