import type { ErrorData, ResourceOutcome, ResourceState, resourceMachine } from '@troupe/core';
import type { Server } from 'node:http';
import type { SnapshotFrom } from 'xstate';
import type { ActorView } from '../inspection/ActorView.js';

/** What kind of thing a resource is. Users register `user` resources. */
export type ResourceKind = 'user' | 'runner' | 'thread' | 'channel';

/**
 * A resource to close at shutdown.
 *
 * @example
 * ```ts
 * troupe.resources.register({ id: 'db', close: () => pool.end(), closeTimeoutMs: 2_000 });
 * troupe.resources.register({ id: 'cache', close: () => cache.quit(), dependsOn: ['db'] });
 * ```
 */
export interface ResourceSpec {
  /** Unique among resources and runners. */
  readonly id: string;
  /** Closes the resource. May return a promise; a throw marks the resource `failed`. */
  readonly close: () => unknown;
  /**
   * Opens it. Without `open` the resource is `open` once registered; with it,
   * it stays `registered` until `open()` resolves (a rejection is reported,
   * and the resource stays `registered`). Shutdown closes it either way.
   */
  readonly open?: () => unknown;
  /** Ids of resources this one uses: they close after it. Must already be registered (or in the same batch). */
  readonly dependsOn?: readonly string[];
  /** Deadline of `close()`; past it the resource is `forced`. Default 5 s. */
  readonly closeTimeoutMs?: number;
}

/** Options of {@link ResourceRegistry.registerHttpServer}. */
export interface HttpServerResourceOptions {
  readonly id: string;
  /** Resources the server's handlers use: they close after it. */
  readonly dependsOn?: readonly string[];
  /** Deadline of the server's close (in CLOSING). Default 5 s. */
  readonly closeTimeoutMs?: number;
}

/** A registered resource as {@link ResourceRegistry.list} reports it. */
export interface ResourceInfo {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly state: ResourceState;
  readonly dependsOn: readonly string[];
  readonly dependents: readonly string[];
}

/** How one resource ended during a close. */
export interface ResourceCloseRecord {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly outcome: ResourceOutcome;
  readonly durationMs: number;
  readonly error: ErrorData | null;
}

/** The outcome of closing every resource. */
export interface ResourceCloseReport {
  readonly closed: number;
  readonly failed: number;
  readonly forced: number;
  readonly resources: readonly ResourceCloseRecord[];
}

/** The public face of the resource manager (`troupe.resources`). */
export interface ResourceRegistry {
  /**
   * Registers one resource or a batch. A batch may reference its own members
   * in any order. Throws `ERR_INVALID_CONFIG` for a bad spec, a duplicate id
   * or an unknown dependency, `ERR_RESOURCE_CYCLE` for a cycle, and
   * `ERR_SHUTDOWN_IN_PROGRESS` once closing began.
   */
  register(spec: ResourceSpec | readonly ResourceSpec[]): void;
  /**
   * Registers an `http.Server` so the shutdown ends it without a reset:
   * from SIGNALING on every response carries `Connection: close` (clients
   * leave, keep-alive sockets close after their response) while it keeps
   * answering; in CLOSING (after waiting, up to a quarter of
   * `closeTimeoutMs` or 1 s, until every open socket was told to leave) it
   * stops accepting, its idle sockets are closed,
   * in-flight requests finish and, just before `closeTimeoutMs`, the rest
   * are destroyed. Then nothing of it keeps the process alive.
   *
   * @example
   * ```ts
   * const server = http.createServer(app).listen(8080);
   * troupe.resources.registerHttpServer(server, { id: 'http', dependsOn: ['db'] });
   * ```
   */
  registerHttpServer(server: Server, options: HttpServerResourceOptions): void;
  /** The state of a resource, or `undefined` if no such id is registered. */
  state(id: string): ResourceState | undefined;
  /** The resource's statechart, read-only (its snapshot and a subscription). */
  actor(id: string): ActorView<SnapshotFrom<typeof resourceMachine>> | undefined;
  /**
   * Closes one resource now, out of order, and unregisters it; its
   * dependents lose the edge. Resolves with how it ended (`closed`,
   * `failed`, `forced`), or null for an unknown id.
   */
  release(id: string): Promise<ResourceOutcome | null>;
  /** Every registered resource. */
  list(): ResourceInfo[];
  /** Number of registered resources. */
  readonly size: number;
}
