import { PayloadTooLargeError, type ErrorData } from '@troupe/core';

/** A task sent to a node: published to the runner's subject, replies to `reply`. */
export interface TaskRequest {
  readonly taskId: string;
  readonly from: string;
  readonly payload: unknown;
  readonly handler?: string;
  readonly timeoutMs?: number;
}

/** What a node sends back on a task's inbox, in order: ack, events, then one outcome. */
export type TaskReply =
  | { readonly t: 'ack'; readonly nodeId: string }
  | { readonly t: 'event'; readonly event: unknown }
  | { readonly t: 'ok'; readonly value: unknown }
  | { readonly t: 'err'; readonly error: ErrorData };

/** A node's membership entry (its heartbeat), in the cluster's KV bucket. */
export interface NodeEntry {
  readonly nodeId: string;
  /** Changes when the process restarts: a new incarnation is a new member. */
  readonly incarnation: string;
  readonly state: 'joining' | 'up' | 'leaving' | 'exiting';
  /** Runner ids it hosts and serves. */
  readonly runners: readonly string[];
  readonly health: {
    readonly score: number;
    readonly status: string;
    readonly ready: boolean;
    readonly runners: readonly {
      readonly id: string;
      readonly score: number;
      readonly status: string;
    }[];
  };
  /** Epoch ms of this heartbeat. */
  readonly at: number;
}

const encoder = new TextEncoder();

/**
 * Encodes a message, refusing one larger than the broker's `max_payload`
 * with `ERR_PAYLOAD_TOO_LARGE` (naming the limit) instead of letting the
 * client throw or the broker drop it.
 */
export function encode(message: unknown, maxPayload: number, what: string): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(message));
  if (bytes.length > maxPayload) {
    throw new PayloadTooLargeError(
      `${what} is ${bytes.length} bytes encoded, above the broker's max_payload of ${maxPayload} bytes`,
      { context: { bytes: bytes.length, limit: maxPayload, operation: 'run' } },
    );
  }
  return bytes;
}
