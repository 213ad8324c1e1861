// Model-based tests of the real runtime. Paths are generated from the very
// statecharts the runtime runs (xstate/graph: shortest prefixes to every
// transition, plus sampled simple paths to final states); each path drives
// real threads, real ports and real deadlines. Each real actor is observed
// through inspection from its first state on, and every model step must
// match a real one: the same event (and variant), the same state, the same
// named effects. The last test of each machine checks that every state and
// every transition was taken on the real runtime, or is listed with the
// reason it cannot be.
import {
  ChannelDriver,
  ResourceDriver,
  RunnerDriver,
  ShutdownDriver,
  SupervisorDriver,
  activeStateIds,
  allStateIds,
  allTransitions,
  channelModel,
  modelPaths,
  modelRestart,
  resourceModel,
  resourceModelOpenAtOnce,
  runModelPath,
  runnerModel,
  shutdownModel,
  shutdownModelWithReadinessDelay,
  simplePaths,
  supervisorModel,
  unrealizable,
  type ModelDriver,
  type ModelPath,
  type ModelSpec,
} from '@troupe/testing';
import { afterAll, describe, expect, it } from 'vitest';

const deep = process.env.TROUPE_DEEP === '1';

interface Plan {
  readonly spec: ModelSpec;
  readonly driver: ModelDriver;
  readonly paths: readonly ModelPath[];
}

function plansFor(
  specs: readonly { spec: ModelSpec; driver: ModelDriver; sample?: number }[],
): Plan[] {
  const covered = new Set<string>();
  return specs.map(({ spec, driver, sample }) => {
    const { paths } = modelPaths({ ...spec, covered });
    for (const path of paths) for (const key of path.transitions) covered.add(key);
    // Big models are sampled (4× deeper with TROUPE_DEEP=1); small ones give every simple path.
    const simple = simplePaths(
      spec,
      sample === undefined ? {} : { sample: deep ? sample * 4 : sample, seed: 7 },
    );
    return { spec, driver, paths: [...paths, ...simple] };
  });
}

const table: string[] = [];
afterAll(() => {
  console.info(
    [
      'model-based coverage on the real runtime',
      'machine    | states      | transitions realized | listed unrealizable | paths',
      ...table,
    ].join('\n'),
  );
});

function suite(name: string, plans: readonly Plan[]): void {
  const machine = plans[0]?.spec.machine;
  if (machine === undefined) throw new Error(`no plan for ${name}`);
  const realized = new Set<string>();
  const reachedStates = new Set<string>();
  let count = 0;
  describe(`${name} (model-based, real threads)`, () => {
    for (const plan of plans) {
      for (const path of plan.paths) {
        count += 1;
        it(`#${count} ${path.name}`, async () => {
          await runModelPath(path, plan.driver, { stepTimeoutMs: 5_000 });
          for (const key of path.transitions) realized.add(key);
          for (const snapshot of [path.initial, ...path.steps.map((s) => s.state)]) {
            for (const id of activeStateIds(machine, snapshot.value)) reachedStates.add(id);
          }
        });
      }
    }

    it(`covers every state and transition of ${name}`, () => {
      const transitions = allTransitions(machine).map((t) => t.key);
      const states = allStateIds(machine);
      const listed = transitions.filter((key) => key in unrealizable);
      const missing = transitions.filter((key) => !realized.has(key) && !(key in unrealizable));
      const stale = listed.filter((key) => realized.has(key));
      table.push(
        `${name.padEnd(10)} | ${`${reachedStates.size}/${states.length}`.padEnd(11)} | ${`${transitions.length - listed.length - missing.length}/${transitions.length}`.padEnd(20)} | ${String(listed.length).padEnd(19)} | ${count}`,
      );
      expect(
        states.filter((id) => !reachedStates.has(id)),
        'states never reached',
      ).toEqual([]);
      expect(missing, 'transitions neither realized nor listed as unrealizable').toEqual([]);
      expect(stale, 'listed as unrealizable, yet realized: remove from the list').toEqual([]);
    });
  });
}

suite(
  'runner',
  plansFor([
    {
      spec: runnerModel('permanent'),
      driver: new RunnerDriver(modelRestart('permanent')),
      sample: 8,
    },
    {
      spec: runnerModel('transient'),
      driver: new RunnerDriver(modelRestart('transient')),
      sample: 4,
    },
    {
      spec: runnerModel('temporary'),
      driver: new RunnerDriver(modelRestart('temporary')),
      sample: 8,
    },
  ]),
);
suite(
  'shutdown',
  plansFor([
    { spec: shutdownModel, driver: new ShutdownDriver(), sample: 10 },
    { spec: shutdownModelWithReadinessDelay, driver: new ShutdownDriver(), sample: 4 },
  ]),
);
suite(
  'resource',
  plansFor([
    { spec: resourceModel, driver: new ResourceDriver() },
    { spec: resourceModelOpenAtOnce, driver: new ResourceDriver() },
  ]),
);
suite('channel', plansFor([{ spec: channelModel, driver: new ChannelDriver() }]));
suite(
  'supervisor',
  plansFor([
    {
      spec: supervisorModel('shutdown', 'restart'),
      driver: new SupervisorDriver('shutdown', 'restart'),
    },
    { spec: supervisorModel('degrade', 'stop'), driver: new SupervisorDriver('degrade', 'stop') },
    { spec: supervisorModel('degrade', 'none'), driver: new SupervisorDriver('degrade', 'none') },
  ]),
);
