/*
 * The internal events of each machine (`xstate.done.actor.*`,
 * `xstate.error.actor.*`, `xstate.after.*`): the exported lists and types
 * are exactly what the machines react to, checked three ways (the literal
 * union, the definition's transitions, an `xstate/graph` traversal). Then
 * `createTestModel`'s refusal of machines with `invoke` / `after`, and the
 * two ways that work: `getShortestPaths` (or `TestModel`) replayed on a
 * real actor whose invoked actors are inert.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  __unsafe_getAllOwnEventDescriptors as ownEventDescriptors,
  createActor,
  fromCallback,
  fromPromise,
  setup,
  SimulatedClock,
  type ActorLogic,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventFromLogic,
  type EventObject,
  type InputFrom,
  type SnapshotFrom,
} from 'xstate';
import {
  createTestModel,
  getAdjacencyMap,
  getShortestPaths,
  getStateNodes,
  TestModel,
  type AdjacencyValue,
  type StatePath,
} from 'xstate/graph';
import {
  channelInternalEvents,
  channelMachine,
  internalEventsOf,
  resourceInternalEvents,
  resourceMachine,
  retryInternalEvents,
  retryMachine,
  runnerInternalEvents,
  runnerMachine,
  shutdownInternalEvents,
  shutdownMachine,
  supervisorInternalEvents,
  supervisorMachine,
  toErrorData,
  type ChannelInternalEvent,
  type ChannelModelEvent,
  type InternalEvent,
  type ResourceInternalEvent,
  type ResourceModelEvent,
  type RetryInternalEvent,
  type RetryModelEvent,
  type RunnerInternalEvent,
  type RunnerMachineInput,
  type RunnerModelEvent,
  type ShutdownInternalEvent,
  type ShutdownModelEvent,
  type SupervisorInternalEvent,
  type SupervisorModelEvent,
} from '../src/index.js';

const failure = toErrorData(new Error('boom'));

// Every literal of each union, in the order the definition walk yields them.
// `satisfies Record<T['type'], true>` fails to compile on a missing or an
// extra key, so these objects pin the exported types to the lists.
const runnerTypes = {
  'xstate.error.actor.0.runner.starting.pool.loading': true,
  'xstate.after.startupTimeout.runner.starting.pool.loading': true,
  'xstate.after.startupTimeout.runner.running.threads.replacing': true,
  'xstate.done.actor.0.runner.restarting.releasing.pool.tearingDown': true,
  'xstate.error.actor.0.runner.restarting.releasing.pool.tearingDown': true,
  'xstate.after.closeTimeout.runner.restarting.releasing.pool.tearingDown': true,
  'xstate.done.actor.0.runner.restarting.releasing.pool.destroying': true,
  'xstate.error.actor.0.runner.restarting.releasing.pool.destroying': true,
  'xstate.after.restartDelay.runner.restarting.waiting': true,
  'xstate.after.drainTimeout.runner.draining.flushing': true,
  'xstate.after.abortGrace.runner.draining.aborting': true,
  'xstate.done.actor.0.runner.draining.terminating.tearingDown': true,
  'xstate.error.actor.0.runner.draining.terminating.tearingDown': true,
  'xstate.after.abortGrace.runner.draining.terminating.tearingDown': true,
  'xstate.done.actor.0.runner.draining.terminating.destroying': true,
  'xstate.error.actor.0.runner.draining.terminating.destroying': true,
  'xstate.done.actor.0.runner.closing.tearingDown': true,
  'xstate.error.actor.0.runner.closing.tearingDown': true,
  'xstate.after.closeTimeout.runner.closing.tearingDown': true,
  'xstate.done.actor.0.runner.closing.destroying': true,
  'xstate.error.actor.0.runner.closing.destroying': true,
} satisfies Record<RunnerInternalEvent['type'], true>;

const shutdownTypes = {
  'xstate.after.signalingDeadline.shutdown.signaling': true,
  'xstate.after.readinessDelay.shutdown.signaling.delaying': true,
  'xstate.done.actor.0.shutdown.signaling.working': true,
  'xstate.error.actor.0.shutdown.signaling.working': true,
  'xstate.done.actor.0.shutdown.signaling.gating': true,
  'xstate.error.actor.0.shutdown.signaling.gating': true,
  'xstate.after.drainingDeadline.shutdown.draining': true,
  'xstate.done.actor.0.shutdown.draining.waiting': true,
  'xstate.error.actor.0.shutdown.draining.waiting': true,
  'xstate.done.actor.0.shutdown.draining.forcing': true,
  'xstate.error.actor.0.shutdown.draining.forcing': true,
  'xstate.after.forceDeadline.shutdown.draining.forcing': true,
  'xstate.done.actor.0.shutdown.draining.gating': true,
  'xstate.error.actor.0.shutdown.draining.gating': true,
  'xstate.after.forceDeadline.shutdown.draining.gating': true,
  'xstate.after.closingDeadline.shutdown.closing': true,
  'xstate.done.actor.0.shutdown.closing.waiting': true,
  'xstate.error.actor.0.shutdown.closing.waiting': true,
  'xstate.done.actor.0.shutdown.closing.forcing': true,
  'xstate.error.actor.0.shutdown.closing.forcing': true,
  'xstate.after.forceDeadline.shutdown.closing.forcing': true,
  'xstate.done.actor.0.shutdown.closing.gating': true,
  'xstate.error.actor.0.shutdown.closing.gating': true,
  'xstate.after.forceDeadline.shutdown.closing.gating': true,
} satisfies Record<ShutdownInternalEvent['type'], true>;

const channelTypes = {
  'xstate.done.actor.0.channel.closing': true,
  'xstate.error.actor.0.channel.closing': true,
  'xstate.after.closeTimeout.channel.closing': true,
} satisfies Record<ChannelInternalEvent['type'], true>;

const retryTypes = {
  'xstate.done.actor.0.retry.attempting': true,
  'xstate.error.actor.0.retry.attempting': true,
  'xstate.after.retryDelay.retry.waiting': true,
} satisfies Record<RetryInternalEvent['type'], true>;

const runnerInput: RunnerMachineInput = {
  id: 'r1',
  threads: 1,
  restart: {
    policy: 'permanent',
    maxRestarts: 3,
    windowMs: 60_000,
    backoff: { baseMs: 100, capMs: 1_000 },
    resetAfterMs: 60_000,
  },
  startupTimeoutMs: 1_000,
  drainTimeoutMs: 1_000,
  abortGraceMs: 100,
  closeTimeoutMs: 1_000,
  seed: 1,
};

/** One of each external event, with the payloads that steer the guards. */
const runnerEvents: RunnerModelEvent[] = [
  { type: 'troupe.runner.slotGranted' },
  { type: 'troupe.runner.threadUp', threadId: 1 },
  { type: 'troupe.runner.threadFailed', threadId: 1, error: failure },
  {
    type: 'troupe.runner.threadExit',
    threadId: 1,
    exitCode: 1,
    error: failure,
    loaded: true,
    terminated: false,
    replaced: true,
  },
  { type: 'troupe.runner.busy' },
  { type: 'troupe.runner.idle' },
  { type: 'troupe.runner.restart', error: failure },
  { type: 'troupe.runner.stop', reason: 'stop', closeWhenDrained: true },
  { type: 'troupe.runner.abort' },
  { type: 'troupe.runner.close' },
  { type: 'troupe.runner.force' },
];

const shutdownEvents: ShutdownModelEvent[] = [
  { type: 'troupe.shutdown.begin', reason: 'test' },
  { type: 'troupe.shutdown.force', reason: 'test' },
];

const resourceEvents: ResourceModelEvent[] = [
  { type: 'troupe.resource.open' },
  { type: 'troupe.resource.close' },
  { type: 'troupe.resource.closed' },
  { type: 'troupe.resource.closeFailed', error: failure },
  { type: 'troupe.resource.closeTimeout' },
];

const channelEvents: ChannelModelEvent[] = [
  { type: 'troupe.channel.close' },
  { type: 'troupe.channel.peerGone', reason: failure },
];

const supervisorEvents: SupervisorModelEvent[] = [
  {
    type: 'troupe.supervisor.escalate',
    code: 'ERR_RESTART_LIMIT',
    severity: 'CRITICAL',
    message: 'over the limit',
    error: failure,
  },
  {
    type: 'troupe.supervisor.unhealthy',
    runnerId: 'r1',
    severity: 'HIGH',
    message: 'unhealthy',
    error: failure,
  },
  { type: 'troupe.supervisor.standDown' },
];

const retryEvents: RetryModelEvent[] = [{ type: 'troupe.retry.cancel', reason: 'test' }];

/** A promise actor that never settles by itself: only the model's events move its parent. */
function pending<TOutput, TInput>() {
  return fromPromise<TOutput, TInput>(() => new Promise<TOutput>(() => {}));
}

interface MachineCase<TMachine extends AnyStateMachine> {
  readonly machine: TMachine;
  readonly input: InputFrom<TMachine>;
  /** The exported list. */
  readonly listed: readonly EventFromLogic<TMachine>[];
  /** The literal union's members, in order. */
  readonly types: readonly string[];
  readonly external: readonly EventFromLogic<TMachine>[];
  /** What the guards read: the state value and those context fields. */
  readonly facts: (snapshot: SnapshotFrom<TMachine>) => unknown;
  /** The machine with its invoked actors replaced by ones that never settle by themselves. */
  readonly inert: TMachine;
  /** Events the system cannot send in that state (beyond those the state does not handle). */
  readonly impossible?: (
    snapshot: SnapshotFrom<TMachine>,
    event: EventFromLogic<TMachine>,
  ) => boolean;
}

/** A {@link MachineCase} with the machine's types erased, for the loops below. */
interface ModelCase {
  readonly machine: AnyStateMachine;
  /** The machine, typed as any logic of snapshots and events. */
  readonly logic: ActorLogic<AnyMachineSnapshot, EventObject, unknown>;
  readonly input: unknown;
  readonly listed: readonly EventObject[];
  readonly types: readonly string[];
  readonly external: readonly EventObject[];
  readonly facts: (snapshot: AnyMachineSnapshot) => unknown;
  readonly impossible: (snapshot: AnyMachineSnapshot, event: EventObject) => boolean;
  readonly inert: AnyStateMachine;
}

function machineCase<TMachine extends AnyStateMachine>(c: MachineCase<TMachine>): ModelCase {
  const impossible = c.impossible ?? (() => false);
  return {
    ...c,
    logic: c.machine,
    facts: (snapshot) => c.facts(snapshot as SnapshotFrom<TMachine>),
    impossible: (snapshot, event) =>
      impossible(snapshot as SnapshotFrom<TMachine>, event as EventFromLogic<TMachine>),
  };
}

const cases = [
  machineCase({
    machine: runnerMachine,
    input: runnerInput,
    listed: runnerInternalEvents,
    types: Object.keys(runnerTypes),
    external: runnerEvents,
    facts: ({ value, context: c }) => [
      value,
      c.busy,
      c.stopReason,
      c.closeWhenDrained,
      c.threadsUp,
      c.everReady,
      c.failure === null,
      c.restarts.length,
    ],
    // A pool of `threads` threads reports no more than `threads` up (or the count would grow forever).
    impossible: ({ context }, event) =>
      event.type === 'troupe.runner.threadUp' && context.threadsUp >= context.threads,
    inert: runnerMachine.provide({
      actors: {
        startSlot: fromCallback(() => {}),
        startPool: pending(),
        teardownThreads: pending(),
        destroyPool: pending(),
      },
    }),
  }),
  machineCase({
    machine: shutdownMachine,
    input: {
      signalingMs: 100,
      drainingMs: 100,
      closingMs: 100,
      forceMs: 100,
      readinessDelayMs: 50,
    },
    listed: shutdownInternalEvents,
    types: Object.keys(shutdownTypes),
    external: shutdownEvents,
    facts: ({ value, context }) => [value, context.timedOut, context.forceRequested],
    inert: shutdownMachine.provide({
      actors: {
        signal: pending(),
        drain: pending(),
        forceDrain: pending(),
        close: pending(),
        forceClose: pending(),
        gate: pending(),
      },
    }),
  }),
  machineCase({
    machine: resourceMachine,
    input: { id: 'db', closeTimeoutMs: 100 },
    listed: resourceInternalEvents,
    types: [],
    external: resourceEvents,
    facts: ({ value }) => value,
    // Its default startClose reports `closed` at once; the model takes `closed` as an event.
    inert: resourceMachine.provide({ actions: { startClose: () => {} } }),
  }),
  machineCase({
    machine: channelMachine,
    input: { id: 'c1', closeTimeoutMs: 100 },
    listed: channelInternalEvents,
    types: Object.keys(channelTypes),
    external: channelEvents,
    facts: ({ value }) => value,
    inert: channelMachine.provide({ actors: { flushCalls: pending() } }),
  }),
  machineCase({
    machine: supervisorMachine,
    input: { escalation: 'shutdown', recovery: 'restart' },
    listed: supervisorInternalEvents,
    types: [],
    external: supervisorEvents,
    facts: ({ value }) => value,
    inert: supervisorMachine,
  }),
  machineCase({
    machine: retryMachine,
    input: { id: 't1', maxAttempts: 2, backoff: { baseMs: 100, capMs: 1_000 }, seed: 1 },
    listed: retryInternalEvents,
    types: Object.keys(retryTypes),
    external: retryEvents,
    facts: ({ value, context }) => [value, context.attempt],
    inert: retryMachine.provide({ actors: { attempt: pending() } }),
  }),
];

const isInternal = (type: string): boolean => type.startsWith('xstate.');

/**
 * The event types the active state nodes of `snapshot` have transitions for
 * (what `xstate/graph` tries when given no `events`).
 */
const ownEventTypes = (snapshot: AnyMachineSnapshot): string[] =>
  ownEventDescriptors(snapshot) as string[];

/** The `xstate.*` event types any state node of the definition has transitions for. */
function definitionTypes(machine: AnyStateMachine): Set<string> {
  return new Set(
    getStateNodes(machine.root).flatMap((node) =>
      [...(node.transitions as Map<string, unknown>).keys()].filter(isInternal),
    ),
  );
}

/**
 * `xstate/graph`'s traversal of `c.machine`: a model state is what the
 * guards read; each state is tried with the external events and every
 * `xstate.*` event type it handles, read from the snapshot, not from the
 * list under test. Only events an active state handles are tried: an
 * `xstate.error.actor.*` event no state handles is an error of the machine,
 * in the model as in an actor, and a final state still takes the root's
 * `busy` / `idle`. `adjacency` is what `getShortestPaths` and
 * `getSimplePaths` search; `paths` reach every model state.
 */
const traversals = new Map<AnyStateMachine, Traversal>();

type Adjacency = AdjacencyValue<AnyMachineSnapshot, EventObject>;

interface Traversal {
  readonly adjacency: Adjacency[];
  readonly paths: StatePath<AnyMachineSnapshot, EventObject>[];
}

function traversal(c: ModelCase): Traversal {
  const known = traversals.get(c.machine);
  if (known !== undefined) return known;
  const options = {
    input: c.input,
    events: (snapshot: AnyMachineSnapshot) => [
      ...c.external,
      ...ownEventTypes(snapshot)
        .filter(isInternal)
        .map((type) => ({ type })),
    ],
    filterEvents: (snapshot: AnyMachineSnapshot, event: EventObject) =>
      snapshot.status === 'active' && snapshot.can(event) && !c.impossible(snapshot, event),
    serializeState: (snapshot: AnyMachineSnapshot) => JSON.stringify(c.facts(snapshot)),
  };
  const result: Traversal = {
    // Keys are branded strings, which Object.values does not see as an index.
    adjacency: Object.values(getAdjacencyMap(c.logic, options) as Record<string, Adjacency>),
    paths: getShortestPaths(c.logic, options),
  };
  traversals.set(c.machine, result);
  return result;
}

/** The paths that are not the start of another one: replaying those replays them all. */
function maximal<TPath extends { steps: readonly { event: EventObject }[] }>(
  paths: readonly TPath[],
): TPath[] {
  const signature = (path: TPath) => path.steps.map((step) => `${step.event.type}\n`).join('');
  const kept: string[] = [];
  for (const path of [...paths].sort((a, b) => b.steps.length - a.steps.length)) {
    const own = signature(path);
    if (!kept.some((longer) => longer.startsWith(own))) kept.push(own);
  }
  return paths.filter((path) => kept.includes(signature(path)));
}

/** Drives an actor of `machine` along `steps` (the first one, `xstate.init`, is its start). */
function replay(
  machine: AnyStateMachine,
  input: unknown,
  steps: readonly { event: EventObject; state: AnyMachineSnapshot }[],
): void {
  const actor = createActor(machine, { input, clock: new SimulatedClock() });
  const errors: unknown[] = [];
  actor.subscribe({ error: (error: unknown) => errors.push(error) });
  actor.start();
  try {
    expect(actor.getSnapshot().value).toEqual(steps[0]!.state.value);
    for (const { event, state } of steps.slice(1)) {
      actor.send(event);
      expect(actor.getSnapshot().value).toEqual(state.value);
      expect(actor.getSnapshot().status).toBe(state.status);
    }
    expect(errors).toEqual([]);
  } finally {
    actor.stop();
  }
}

describe.each(cases.map((c) => [c.machine.id, c] as const))('%sMachine', (_, c) => {
  const listedTypes = c.listed.map((e) => e.type);

  it('lists the members of its InternalEvent type, in order, once each', () => {
    expect(listedTypes).toEqual(c.types);
    expect(new Set(listedTypes).size).toBe(listedTypes.length);
    for (const event of c.listed) expect(Object.keys(event)).toEqual(['type']);
  });

  it('is internalEventsOf(machine)', () => {
    expect(internalEventsOf(c.machine)).toEqual(c.listed);
  });

  it("lists every xstate.* event the definition's transitions react to, and no other", () => {
    expect(new Set(listedTypes)).toEqual(definitionTypes(c.machine));
  });

  it('lists exactly the xstate.* events an xstate/graph traversal takes and finds', () => {
    const { adjacency } = traversal(c);
    const taken = new Set(
      adjacency.flatMap(({ transitions }) =>
        Object.values(transitions)
          .map(({ event }) => event.type)
          .filter(isInternal),
      ),
    );
    const found = new Set(
      adjacency.flatMap(({ state }) => ownEventTypes(state)).filter(isInternal),
    );
    expect(taken).toEqual(new Set(listedTypes));
    expect(found).toEqual(new Set(listedTypes));
  });

  it('its lists cannot be changed', () => {
    expect(Object.isFrozen(c.listed)).toBe(true);
    for (const event of c.listed) expect(Object.isFrozen(event)).toBe(true);
  });

  it('every path of the traversal replays on a real actor with inert actors, internal events sent', () => {
    const paths = maximal(traversal(c).paths);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) replay(c.inert, c.input, path.steps);
  });
});

describe('internalEventsOf on a machine of ones own', () => {
  it('skips an invoke without onDone/onError, keeps an explicit id, lists every delay', () => {
    const machine = setup({
      actors: { work: fromPromise(async () => {}), watch: fromCallback(() => {}) },
      delays: { patience: 10 },
    }).createMachine({
      id: 'job',
      initial: 'running',
      states: {
        running: {
          invoke: [
            { src: 'watch' },
            { id: 'worker', src: 'work', onDone: 'done' },
            { src: 'work', onError: 'failed' },
          ],
          after: { patience: 'failed', 500: 'failed' },
        },
        done: { type: 'final' },
        failed: { type: 'final' },
      },
    });
    expect(internalEventsOf(machine).map((e) => e.type)).toEqual([
      'xstate.done.actor.worker',
      'xstate.error.actor.2.job.running',
      // Object key order: integer-like keys first.
      'xstate.after.500.job.running',
      'xstate.after.patience.job.running',
    ]);
    // It declares no internal events in its types: the general InternalEvent.
    expectTypeOf(internalEventsOf(machine)).toEqualTypeOf<InternalEvent[]>();
  });
});

/**
 * A model state for the type tests: the value. (The default serializer
 * adds the whole context, whose restart count and times never repeat: the
 * traversal would not end.)
 */
const serializeState = (snapshot: AnyMachineSnapshot): string => JSON.stringify(snapshot.value);

type EventsOption<TMachine extends AnyStateMachine> = NonNullable<
  NonNullable<Parameters<typeof getShortestPaths<TMachine>>[1]>['events']
>;

describe('types', () => {
  it("each machine's event type is its ModelEvent, so an event list needs no cast", () => {
    expectTypeOf<EventFromLogic<typeof runnerMachine>>().toEqualTypeOf<RunnerModelEvent>();
    expectTypeOf<EventFromLogic<typeof shutdownMachine>>().toEqualTypeOf<ShutdownModelEvent>();
    expectTypeOf<EventFromLogic<typeof resourceMachine>>().toEqualTypeOf<ResourceModelEvent>();
    expectTypeOf<EventFromLogic<typeof channelMachine>>().toEqualTypeOf<ChannelModelEvent>();
    expectTypeOf<EventFromLogic<typeof supervisorMachine>>().toEqualTypeOf<SupervisorModelEvent>();
    expectTypeOf<EventFromLogic<typeof retryMachine>>().toEqualTypeOf<RetryModelEvent>();

    expectTypeOf<RunnerModelEvent[]>().toExtend<EventsOption<typeof runnerMachine>>();
    expectTypeOf<ShutdownModelEvent[]>().toExtend<EventsOption<typeof shutdownMachine>>();
    expectTypeOf<ResourceModelEvent[]>().toExtend<EventsOption<typeof resourceMachine>>();
    expectTypeOf<ChannelModelEvent[]>().toExtend<EventsOption<typeof channelMachine>>();
    expectTypeOf<SupervisorModelEvent[]>().toExtend<EventsOption<typeof supervisorMachine>>();
    expectTypeOf<RetryModelEvent[]>().toExtend<EventsOption<typeof retryMachine>>();
  });

  it('a RunnerModelEvent[] goes to getShortestPaths(runnerMachine, { events }) as it is', () => {
    const events: RunnerModelEvent[] = [...runnerEvents, ...runnerInternalEvents];
    const paths = getShortestPaths(runnerMachine, { input: runnerInput, events, serializeState });
    expectTypeOf(paths[0]!.steps[0]!.event).toEqualTypeOf<RunnerModelEvent>();
    expect(paths.length).toBeGreaterThan(1);
  });

  it('the lists are typed with their literal unions; internalEventsOf keeps them', () => {
    expectTypeOf(runnerInternalEvents).toEqualTypeOf<readonly RunnerInternalEvent[]>();
    expectTypeOf(shutdownInternalEvents).toEqualTypeOf<readonly ShutdownInternalEvent[]>();
    expectTypeOf(resourceInternalEvents).toEqualTypeOf<readonly ResourceInternalEvent[]>();
    expectTypeOf(channelInternalEvents).toEqualTypeOf<readonly ChannelInternalEvent[]>();
    expectTypeOf(supervisorInternalEvents).toEqualTypeOf<readonly SupervisorInternalEvent[]>();
    expectTypeOf(retryInternalEvents).toEqualTypeOf<readonly RetryInternalEvent[]>();
    expectTypeOf(internalEventsOf(runnerMachine)).toEqualTypeOf<RunnerInternalEvent[]>();
    expectTypeOf<ResourceInternalEvent>().toBeNever();
    expectTypeOf<SupervisorInternalEvent>().toBeNever();
  });

  it('a misspelt internal event is not a model event', () => {
    // @ts-expect-error: 'destroyng'
    const typo: RunnerModelEvent = { type: 'xstate.done.actor.0.runner.closing.destroyng' };
    const runners = { type: 'xstate.after.closeTimeout.runner.closing.tearingDown' } as const;
    // @ts-expect-error: the runner's delays are not the channel's
    const other: ChannelModelEvent = runners;
    expect([typo, other]).toHaveLength(2);
  });
});

const runnerCase = cases[0]!;

describe('createTestModel', () => {
  it('refuses runnerMachine: Invocations on test machines are not supported', () => {
    expect(() => createTestModel(runnerMachine)).toThrow(
      'Invocations on test machines are not supported',
    );
  });

  it('refuses it with its actors provided too: it checks the definition, not the actors', () => {
    const [runner, shutdown, , channel, , retry] = cases.map((c) => c.inert);
    for (const machine of [runner!, channel!, retry!]) {
      expect(() => createTestModel(machine)).toThrow(
        'Invocations on test machines are not supported',
      );
    }
    // The shutdown machine's first state node with either is `signaling`, which has an `after`.
    expect(() => createTestModel(shutdown!)).toThrow(
      'After events on test machines are not supported',
    );
  });

  it('takes the machines without invoke or after: resourceMachine, supervisorMachine', () => {
    const resource = createTestModel(resourceMachine, {
      input: { id: 'db', closeTimeoutMs: 100 },
      events: resourceEvents,
    });
    expect(resource.getShortestPaths().length).toBeGreaterThan(1);
    const supervisor = createTestModel(supervisorMachine, {
      input: { escalation: 'shutdown', recovery: 'restart' },
      events: supervisorEvents,
    });
    expect(supervisor.getShortestPaths().length).toBeGreaterThan(1);
  });

  it('new TestModel(runnerMachine, …) is the class it returns, without the check', async () => {
    const events = [...runnerEvents, ...runnerInternalEvents];
    const model = new TestModel(runnerMachine, {
      input: runnerInput,
      // TestModel tries exactly these, internal ones too.
      events,
      filterEvents: (snapshot, event) =>
        snapshot.status === 'active' &&
        snapshot.can(event) &&
        !runnerCase.impossible(snapshot, event),
      serializeState: (snapshot) => JSON.stringify(runnerCase.facts(snapshot)),
    });
    // Deduplicated: a path that is the start of a longer one is left out.
    const paths = model.getShortestPaths();
    expect(paths.length).toBeGreaterThan(5);
    for (const path of paths) {
      const actor = createActor(runnerCase.inert, {
        input: runnerInput,
        clock: new SimulatedClock(),
      }).start();
      const send = ({ event }: { event: RunnerModelEvent }) => {
        actor.send(event);
      };
      await path.test({
        events: Object.fromEntries(events.map((e) => [e.type, send])),
        states: {
          '*': (state) => {
            expect(actor.getSnapshot().value).toEqual(state.value);
          },
        },
      });
      actor.stop();
    }
  });
});

describe('the traversal', () => {
  it('starts no actor and runs no named action; guards steer it', () => {
    const ran = { actors: 0, actions: 0, guards: 0 };
    const counting = <TInput>() =>
      fromPromise<void, TInput>(() => {
        ran.actors += 1;
        return Promise.resolve();
      });
    const counted = runnerMachine.provide({
      actors: {
        startSlot: fromCallback(() => {
          ran.actors += 1;
        }),
        startPool: counting(),
        teardownThreads: counting(),
        destroyPool: counting(),
      },
      actions: {
        notifyDraining: () => (ran.actions += 1),
        abortQueued: () => (ran.actions += 1),
        abortInFlight: () => (ran.actions += 1),
        rejectQueued: () => (ran.actions += 1),
      },
      guards: {
        mayRestart: () => {
          ran.guards += 1;
          return false;
        },
      },
    });
    const events = [...runnerEvents, ...runnerInternalEvents];
    const restarts = (machine: typeof runnerMachine) =>
      getShortestPaths(machine, { input: runnerInput, events, serializeState }).some((path) =>
        path.steps.some((step) => step.state.matches('restarting')),
      );
    expect(restarts(runnerMachine)).toBe(true);
    // mayRestart provided as never true: no path restarts.
    expect(restarts(counted)).toBe(false);
    expect(ran.actors).toBe(0);
    expect(ran.actions).toBe(0);
    expect(ran.guards).toBeGreaterThan(0);
  });

  it('an xstate.error.actor.* event no active state handles is an error of the machine', () => {
    const [path] = getShortestPaths(channelMachine, {
      input: { id: 'c1', closeTimeoutMs: 100 },
      events: [{ type: 'xstate.error.actor.0.channel.closing' }],
    });
    // The only state, `open`, was overwritten by its error snapshot (same serialization).
    expect(path!.state.status).toBe('error');
  });
});

describe('the README', () => {
  it('shows test/readmeMachineTesting.test.ts verbatim', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const example = readFileSync(
      new URL('./readmeMachineTesting.test.ts', import.meta.url),
      'utf8',
    );
    expect(readme).toContain(`\`\`\`ts\n${example.trim()}\n\`\`\``);
  });
});
