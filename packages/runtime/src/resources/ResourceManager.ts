import {
  InvalidConfigError,
  ResourceCycleError,
  ShutdownInProgressError,
  resourceMachine,
  troupeErrorData,
  type ResourceOutcome,
  type ResourceState,
} from '@troupe/core';
import { createActor, type Actor, type SnapshotFrom } from 'xstate';
import { describeValue } from '../describeValue.js';
import type { Server } from 'node:http';
import { drainHttpServer, type PhaseSource } from '../http/drainHttpServer.js';
import { actorView, type ActorView } from '../inspection/ActorView.js';
import { inspectOptions, trackActor, type Inspection } from '../inspection/Inspection.js';
import { logTransitions } from '../logging/logTransitions.js';
import type { Logger } from '../logger.js';
import { DeadlineQueue, type Deadline } from './DeadlineQueue.js';
import { findCycle } from './findCycle.js';
import type {
  HttpServerResourceOptions,
  ResourceCloseRecord,
  ResourceCloseReport,
  ResourceInfo,
  ResourceKind,
  ResourceRegistry,
  ResourceSpec,
} from './types.js';

export type {
  ResourceCloseRecord,
  ResourceCloseReport,
  ResourceInfo,
  ResourceKind,
  ResourceRegistry,
  ResourceSpec,
} from './types.js';

interface InternalSpec extends ResourceSpec {
  readonly kind: ResourceKind;
  /** Open as soon as registered (no `open()` to wait for). */
  readonly openAtOnce?: boolean;
  /** Existing resources that use this one (they close before it). */
  readonly requiredBy?: readonly string[];
}

interface Node {
  readonly id: string;
  readonly kind: ResourceKind;
  readonly close: () => unknown;
  readonly actor: Actor<typeof resourceMachine>;
  /** Resources this one uses (closed after it). Few per node: an array. */
  readonly deps: Node[];
  /** Resources that use this one; `null` until the first (most have none). */
  dependents: Set<Node> | null;
  waitingOn: number;
  started: boolean;
  done: boolean;
  startedAt: number;
  onDone: ((node: Node) => void) | null;
  /** The close deadline while closing. */
  deadline: Deadline | null;
  /** `deps` as they were when `closeAll()` began. */
  closeDeps: readonly Node[];
  /** How it ended during `closeAll()`. */
  record: ResourceCloseRecord | null;
}

const NO_NODES: readonly Node[] = [];

const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

function invalid(field: string, value: unknown, expected: string): InvalidConfigError {
  const shown = describeValue(value);
  return new InvalidConfigError(`invalid resource "${field}": expected ${expected}, got ${shown}`, {
    context: { component: 'resources', field, value: shown },
  });
}

/**
 * Keeps the dependency graph of resources and closes them in order:
 * dependents before their dependencies, independent branches in parallel,
 * each under its own deadline. Each resource is a {@link resourceMachine}
 * root actor (independent roots: spawning thousands of children into one
 * parent is quadratic in XState), and the graph walk is linear in nodes
 * plus edges.
 */
export class ResourceManager implements ResourceRegistry {
  readonly #nodes = new Map<string, Node>();
  readonly #logger: Logger;
  readonly #inspect: Inspection | undefined;
  readonly #isReserved: (id: string) => boolean;
  readonly #onError: (error: unknown) => void;
  readonly #onCloseFailure: (record: ResourceCloseRecord) => void;
  readonly #machine: typeof resourceMachine;
  /** One timer for the close deadlines of every resource closing at once. */
  readonly #deadlines = new DeadlineQueue();
  #closing: Promise<ResourceCloseReport> | null = null;
  /** Set before the first close starts: a close() that registers more is refused. */
  #closeStarted = false;
  #forceClose: (() => void) | null = null;
  readonly #phases: PhaseSource;

  constructor(options: {
    logger: Logger;
    inspect?: Inspection;
    /** Ids taken by something else (runners being spawned). */
    isReserved?: (id: string) => boolean;
    onError?: (error: unknown) => void;
    /** A resource ended `failed` or `forced` during `closeAll()`. */
    onCloseFailure?: (record: ResourceCloseRecord) => void;
    /** The troupe's shutdown phase, for HTTP servers registered as resources. */
    phases?: PhaseSource;
  }) {
    this.#phases = options.phases ?? { phase: 'running', onPhase: () => () => {} };
    this.#inspect = options.inspect;
    this.#logger = options.logger;
    this.#isReserved = options.isReserved ?? (() => false);
    this.#onError = options.onError ?? (() => {});
    this.#onCloseFailure = options.onCloseFailure ?? (() => {});
    this.#machine = resourceMachine.provide({
      actions: {
        armCloseDeadline: ({ self, context }) => {
          const node = this.#nodeOfActor(self, context.id);
          if (node === undefined) return;
          node.deadline = this.#deadlines.add(context.closeTimeoutMs, () => {
            node.deadline = null;
            self.send({ type: 'troupe.resource.closeTimeout' });
          });
        },
        disarmCloseDeadline: ({ self, context }) => {
          const node = this.#nodeOfActor(self, context.id);
          if (node === undefined || node.deadline === null) return;
          this.#deadlines.cancel(node.deadline);
          node.deadline = null;
        },
        // Entering `closing`: call close() and report back with an event.
        startClose: ({ self, context }) => {
          const node = this.#nodeOfActor(self, context.id);
          // A close abandoned at its deadline may settle after the actor is done.
          const closed = (): void => {
            if (self.getSnapshot().status === 'active')
              self.send({ type: 'troupe.resource.closed' });
          };
          const failed = (error: unknown): void => {
            if (self.getSnapshot().status === 'active') {
              self.send({ type: 'troupe.resource.closeFailed', error });
            }
          };
          if (node === undefined) {
            closed();
            return;
          }
          let out: unknown;
          try {
            out = node.close();
          } catch (error) {
            failed(error);
            return;
          }
          if (isThenable(out)) out.then(closed, failed);
          // A synchronous close reports on the next microtask: closing a
          // chain of thousands must not nest one call per link.
          else queueMicrotask(closed);
        },
      },
    });
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** True once `closeAll()` began. */
  get closing(): boolean {
    return this.#closeStarted;
  }

  has(id: string): boolean {
    return this.#nodes.has(id);
  }

  registerHttpServer(server: Server, options: HttpServerResourceOptions): void {
    if (
      typeof server !== 'object' ||
      (server as unknown) === null ||
      typeof (server as Partial<Server>).closeIdleConnections !== 'function'
    ) {
      throw invalid('server', server, 'a node:http (or https) Server');
    }
    if (typeof options !== 'object' || (options as unknown) === null) {
      throw invalid('options', options, 'an object { id, dependsOn?, closeTimeoutMs? }');
    }
    const closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.register({
      id: options.id,
      ...(options.dependsOn === undefined ? {} : { dependsOn: options.dependsOn }),
      closeTimeoutMs,
      // Connections still open just before the deadline are destroyed, so the close ends in time.
      close: drainHttpServer(server, this.#phases, {
        leaveGraceMs: Math.min(1_000, closeTimeoutMs / 4),
        forceAfterMs: Math.max(0, closeTimeoutMs - 250),
      }),
    });
  }

  register(spec: ResourceSpec | readonly ResourceSpec[]): void {
    const batch: readonly ResourceSpec[] = Array.isArray(spec) ? spec : [spec as ResourceSpec];
    batch.forEach((s, i) => {
      if (typeof s !== 'object' || (s as unknown) === null) {
        throw invalid(`[${i}]`, s, 'an object { id, close, open?, dependsOn?, closeTimeoutMs? }');
      }
      if (s.open !== undefined && typeof s.open !== 'function') {
        throw invalid(`${s.id}.open`, s.open, 'a function');
      }
    });
    this.registerInternal(
      batch.map((s) => ({ ...s, kind: 'user' as const, openAtOnce: s.open === undefined })),
    );
    for (const s of batch) {
      const node = this.#nodes.get(s.id);
      if (node !== undefined) this.#open(s, node);
    }
  }

  #open(spec: ResourceSpec, node: Node): void {
    const open = spec.open;
    if (open === undefined) return;
    // An async wrapper turns a synchronous throw into a rejection.
    const opening = (async () => {
      await open();
    })();
    opening.then(
      () => {
        // Only this registration: the id may have been released and reused since.
        if (this.#nodes.get(spec.id) === node && !node.started) {
          node.actor.send({ type: 'troupe.resource.open' });
        }
      },
      (error: unknown) => {
        this.#onError(error);
      },
    );
  }

  /** Registers resources of any kind; `requiredBy` adds edges into existing resources. */
  registerInternal(batch: readonly InternalSpec[]): void {
    if (this.#closeStarted) {
      throw new ShutdownInProgressError('cannot register resources: shutdown is closing them', {
        context: { component: 'resources', operation: 'register' },
      });
    }
    const inBatch = new Map<string, InternalSpec>();
    batch.forEach((s, i) => {
      this.#validate(s, i);
      if (this.#nodes.has(s.id) || inBatch.has(s.id) || this.#isReserved(s.id)) {
        throw new InvalidConfigError(`duplicate resource id "${s.id}"`, {
          context: { component: 'resources', field: 'id', value: s.id },
        });
      }
      inBatch.set(s.id, s);
    });
    for (const s of batch) {
      for (const dep of s.dependsOn ?? []) {
        if (dep === s.id) {
          throw new ResourceCycleError(`resource "${s.id}" depends on itself`, {
            context: { component: 'resources', resourceId: s.id, cycle: [s.id, s.id] },
          });
        }
        if (!this.#nodes.has(dep) && !inBatch.has(dep)) {
          throw new InvalidConfigError(`resource "${s.id}" depends on unknown resource "${dep}"`, {
            context: { component: 'resources', resourceId: s.id, field: 'dependsOn', value: dep },
          });
        }
      }
      for (const user of s.requiredBy ?? []) {
        if (!this.#nodes.has(user)) {
          throw new InvalidConfigError(`resource "${s.id}" is required by unknown "${user}"`, {
            context: { component: 'resources', resourceId: s.id, field: 'requiredBy', value: user },
          });
        }
        if ((s.dependsOn ?? []).length > 0) {
          throw new InvalidConfigError('requiredBy is only allowed without dependsOn', {
            context: { component: 'resources', resourceId: s.id },
          });
        }
      }
    }
    const cycle = findCycle(inBatch);
    if (cycle !== null) {
      throw new ResourceCycleError(`dependency cycle: ${cycle.join(' → ')}`, {
        context: { component: 'resources', cycle },
      });
    }
    const created: Node[] = [];
    for (const s of batch) created.push(this.#createNode(s));
    for (const s of batch) {
      const node = this.#nodes.get(s.id);
      if (node === undefined) continue;
      for (const depId of s.dependsOn ?? []) {
        const dep = this.#nodes.get(depId);
        if (dep === undefined) continue;
        link(node, dep);
      }
      for (const userId of s.requiredBy ?? []) {
        const user = this.#nodes.get(userId);
        if (user === undefined) continue;
        link(user, node);
      }
    }
    for (const node of created) node.actor.start();
  }

  /** Moves a registered resource to `open` (runners do this once ready). */
  markOpen(id: string): void {
    const node = this.#nodes.get(id);
    if (node !== undefined && !node.started) node.actor.send({ type: 'troupe.resource.open' });
  }

  state(id: string): ResourceState | undefined {
    return this.#nodes.get(id)?.actor.getSnapshot().value;
  }

  actor(id: string): ActorView<SnapshotFrom<typeof resourceMachine>> | undefined {
    const node = this.#nodes.get(id);
    return node === undefined ? undefined : actorView(node.actor);
  }

  list(): ResourceInfo[] {
    return [...this.#nodes.values()].map((node) => ({
      id: node.id,
      kind: node.kind,
      state: node.actor.getSnapshot().value,
      dependsOn: node.deps.map((d) => d.id),
      dependents: [...(node.dependents ?? [])].map((d) => d.id),
    }));
  }

  /**
   * Closes one resource now, regardless of order, and removes it once done.
   * Its dependents lose the edge. Used when a runner stops on its own or a
   * thread exits. Resolves with the outcome.
   */
  release(id: string): Promise<ResourceOutcome | null> {
    const node = this.#nodes.get(id);
    if (node === undefined) return Promise.resolve(null);
    return new Promise((resolve) => {
      const finish = (n: Node): void => {
        this.#unlink(n);
        const output = n.actor.getSnapshot().output;
        const outcome = output?.outcome ?? 'closed';
        // Reported here unless a closeAll() is counting it (it reports then).
        if (outcome !== 'closed' && !this.#closeStarted) {
          this.#onCloseFailure({
            id: n.id,
            kind: n.kind,
            outcome,
            durationMs: performance.now() - n.startedAt,
            error: output?.error ?? null,
          });
        }
        resolve(outcome);
      };
      if (node.done) {
        finish(node);
        return;
      }
      const previous = node.onDone;
      node.onDone = (n) => {
        previous?.(n);
        finish(n);
      };
      this.#start(node);
    });
  }

  /**
   * Closes every resource in dependency order. Idempotent: every call gets
   * the same promise.
   */
  closeAll(): Promise<ResourceCloseReport> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  /**
   * The closing deadline passed: start closing whatever still waits for its
   * dependents, and resolve `closeAll()` without waiting for the stragglers
   * (they are reported as forced).
   */
  forceRemaining(): void {
    this.#forceClose?.();
  }

  #closeAll(): Promise<ResourceCloseReport> {
    this.#closeStarted = true;
    const nodes = [...this.#nodes.values()];
    // Edges as they are now: a resource released during the close (a thread
    // that exited) is unlinked from the graph but still counted here.
    for (const node of nodes) {
      node.closeDeps = node.deps.length === 0 ? NO_NODES : node.deps.slice();
      node.record = null;
    }
    const records: ResourceCloseRecord[] = [];
    return new Promise<ResourceCloseReport>((resolve) => {
      let remaining = nodes.length;
      let finished = false;
      const report = (): void => {
        if (finished) return;
        finished = true;
        this.#forceClose = null;
        // Whatever never finished closing was abandoned at the deadline.
        const forced = nodes
          .filter((node) => node.record === null)
          .map((node): ResourceCloseRecord => ({
            id: node.id,
            kind: node.kind,
            outcome: 'forced',
            durationMs: node.started ? performance.now() - node.startedAt : 0,
            error: troupeErrorData(
              'ERR_RESOURCE_CLOSE_TIMEOUT',
              `resource "${node.id}" was still closing at the closing deadline`,
              { context: { resourceId: node.id, operation: 'close' } },
            ),
          }));
        for (const record of forced) this.#onCloseFailure(record);
        // In the order they finished closing, then whatever never finished.
        const all: ResourceCloseRecord[] = [...records, ...forced];
        resolve({
          closed: all.filter((r) => r.outcome === 'closed').length,
          failed: all.filter((r) => r.outcome === 'failed').length,
          forced: all.filter((r) => r.outcome === 'forced').length,
          resources: all,
        });
      };
      if (remaining === 0) {
        report();
        return;
      }
      const onDone = (node: Node): void => {
        if (node.record !== null) return;
        const output = node.actor.getSnapshot().output;
        const record: ResourceCloseRecord = {
          id: node.id,
          kind: node.kind,
          outcome: output?.outcome ?? 'closed',
          durationMs: performance.now() - node.startedAt,
          error: output?.error ?? null,
        };
        node.record = record;
        records.push(record);
        if (record.outcome !== 'closed') this.#onCloseFailure(record);
        for (const dep of node.closeDeps) {
          dep.waitingOn -= 1;
          if (dep.waitingOn <= 0) this.#start(dep);
        }
        remaining -= 1;
        if (remaining === 0) report();
      };
      for (const node of nodes) {
        node.waitingOn = node.dependents?.size ?? 0;
        if (node.done) continue;
        const previous = node.onDone;
        node.onDone = (n) => {
          previous?.(n);
          onDone(n);
        };
      }
      this.#forceClose = () => {
        for (const node of nodes) this.#start(node);
        report();
      };
      for (const node of nodes) {
        if (node.done) onDone(node);
        else if (node.waitingOn === 0) this.#start(node);
      }
    });
  }

  #start(node: Node): void {
    if (node.started) return;
    node.started = true;
    node.startedAt = performance.now();
    node.actor.send({ type: 'troupe.resource.close' });
  }

  #unlink(node: Node): void {
    if (this.#nodes.get(node.id) !== node) return;
    this.#nodes.delete(node.id);
    for (const dep of node.deps) dep.dependents?.delete(node);
    for (const user of node.dependents ?? []) {
      const at = user.deps.indexOf(node);
      if (at >= 0) user.deps.splice(at, 1);
    }
  }

  #createNode(spec: InternalSpec): Node {
    const actor = createActor(this.#machine, {
      id: `resource:${spec.id}`,
      input: {
        id: spec.id,
        closeTimeoutMs: spec.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
        openAtOnce: spec.openAtOnce ?? false,
      },
      ...inspectOptions(this.#inspect),
    });
    trackActor(this.#inspect, actor);
    logTransitions(actor, this.#logger, 'resource state', { resourceId: spec.id });
    const node: Node = {
      id: spec.id,
      kind: spec.kind,
      close: spec.close,
      actor,
      deps: [],
      dependents: null,
      waitingOn: 0,
      started: false,
      done: false,
      startedAt: 0,
      onDone: null,
      deadline: null,
      closeDeps: NO_NODES,
      record: null,
    };
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status !== 'done' || node.done) return;
        node.done = true;
        const callback = node.onDone;
        node.onDone = null;
        callback?.(node);
      },
      error: (error) => {
        this.#onError(error);
      },
    });
    this.#nodes.set(spec.id, node);
    return node;
  }

  /** The node whose actor is `actor` (an id may be reused once a node is released). */
  #nodeOfActor(actor: unknown, id: string): Node | undefined {
    const node = this.#nodes.get(id);
    return node !== undefined && node.actor === actor ? node : undefined;
  }

  #validate(spec: InternalSpec, index: number): void {
    const where = (field: string): string => `[${index}].${field}`;
    if (typeof spec !== 'object' || (spec as unknown) === null) {
      throw invalid(`[${index}]`, spec, 'an object { id, close, dependsOn?, closeTimeoutMs? }');
    }
    if (typeof spec.id !== 'string' || spec.id.length === 0) {
      throw invalid(where('id'), spec.id, 'a non-empty string');
    }
    if (typeof spec.close !== 'function') {
      throw invalid(`${spec.id}.close`, spec.close, 'a function');
    }
    if (
      spec.dependsOn !== undefined &&
      (!Array.isArray(spec.dependsOn) || !spec.dependsOn.every((d) => typeof d === 'string'))
    ) {
      throw invalid(`${spec.id}.dependsOn`, spec.dependsOn, 'an array of resource ids');
    }
    if (
      spec.closeTimeoutMs !== undefined &&
      (typeof spec.closeTimeoutMs !== 'number' ||
        !Number.isFinite(spec.closeTimeoutMs) ||
        spec.closeTimeoutMs <= 0)
    ) {
      throw invalid(`${spec.id}.closeTimeoutMs`, spec.closeTimeoutMs, 'a positive number of ms');
    }
  }
}

/** `user` uses `dep`: `user` closes first. */
function link(user: Node, dep: Node): void {
  if (user.deps.includes(dep)) return;
  user.deps.push(dep);
  (dep.dependents ??= new Set()).add(user);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
