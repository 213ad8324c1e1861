import { PayloadTooLargeError, type ErrorData, type TimedShutdownPhase } from '@troupe/core';
import type { ShutdownReport } from '@troupe/runtime';

/** A task sent to a node: published to the runner's subject, replies to `reply`. */
export interface TaskRequest {
  readonly taskId: string;
  readonly from: string;
  readonly payload: unknown;
  readonly handler?: string;
  readonly timeoutMs?: number;
}

/**
 * What a node sends back on a task's inbox, in order: ack, events, then one
 * outcome. A task that settles within a millisecond or so gets no ack; the
 * outcome always names the node. Events are numbered from 0, so a caller
 * sees a gap (an event lost while the broker was away) and asks for it.
 */
export type TaskReply =
  | { readonly t: 'ack'; readonly nodeId: string }
  | { readonly t: 'event'; readonly seq: number; readonly event: unknown }
  | {
      readonly t: 'ok';
      readonly value: unknown;
      readonly nodeId: string;
      /** How many events the task emitted before it (a caller that got fewer asks for the rest). */
      readonly events?: number;
    }
  | {
      readonly t: 'err';
      readonly error: ErrorData;
      readonly nodeId: string;
      readonly events?: number;
    };

/** A task's final reply. */
export type TaskOutcome = Extract<TaskReply, { readonly t: 'ok' | 'err' }>;

/** Asked of the node that took a task, after the broker connection dropped. */
export interface TaskStatusRequest {
  readonly taskId: string;
  /** The events after this sequence number are wanted too (-1: all). */
  readonly afterSeq?: number;
}

/** Events a node still keeps of a task, in order. */
export interface KeptEvents {
  readonly events?: readonly { readonly seq: number; readonly event: unknown }[];
}

/**
 * What the node answers: still `running` (its outcome will come), `done`
 * with the outcome (its reply may have been lost), or `unknown` (it never
 * took it, or forgot it: it restarted).
 */
export type TaskStatusReply =
  | ({ readonly state: 'running' } & KeptEvents)
  | ({ readonly state: 'done'; readonly outcome: TaskOutcome } & KeptEvents)
  | { readonly state: 'unknown' };

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

/** A cluster-wide shutdown, announced by its initiator to every node. */
export interface ShutdownBegin {
  readonly id: string;
  readonly reason: string;
  readonly initiator: string;
  /** The members the initiator saw live: the nodes each gate waits for. */
  readonly participants: readonly string[];
  /** Epoch ms. */
  readonly at: number;
}

/**
 * What the nodes of a cluster shutdown tell each other on its progress
 * subject: `phase` once a node finished a phase (its gate), `report` once
 * it stopped, and `hello` from a node that just started following (every
 * node answers with where it is, so nothing published before is missed).
 */
export type ShutdownProgress =
  | { readonly t: 'hello'; readonly nodeId: string }
  | { readonly t: 'phase'; readonly nodeId: string; readonly phase: TimedShutdownPhase }
  | { readonly t: 'report'; readonly nodeId: string; readonly report: ShutdownReport };

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
