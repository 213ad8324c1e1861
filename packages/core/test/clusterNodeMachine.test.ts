import { createActor, SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it } from 'vitest';
import { clusterNodeMachine, ClusterNodeEventTypes, type ReportedNodeState } from '../src/index.js';
import { Coverage, releaseRoots, track } from './support.js';

const coverage = new Coverage(clusterNodeMachine);

function node() {
  const clock = new SimulatedClock();
  const actor = createActor(clusterNodeMachine, {
    input: { nodeId: 'b', ttlMs: 3_000 },
    clock,
    inspect: coverage.inspect,
  });
  track(actor);
  actor.start();
  return {
    actor,
    beat: (state: ReportedNodeState) =>
      actor.send({ type: ClusterNodeEventTypes.heartbeat, state }),
    advance: (ms: number) => clock.increment(ms),
    value: () => actor.getSnapshot().value,
  };
}

afterEach(() => {
  expect(releaseRoots()).toEqual([]);
});

describe('clusterNodeMachine', () => {
  it('N01 follows the states its heartbeats report, forward only; tag serving while up', () => {
    const n = node();
    expect(n.value()).toBe('joining');
    n.beat('joining');
    expect(n.value()).toBe('joining');
    n.beat('up');
    expect(n.value()).toBe('up');
    expect(n.actor.getSnapshot().hasTag('serving')).toBe(true);
    n.beat('joining'); // late: no step back
    expect(n.value()).toBe('up');
    n.beat('leaving');
    expect(n.value()).toBe('leaving');
    expect(n.actor.getSnapshot().hasTag('serving')).toBe(false);
    n.beat('up');
    expect(n.value()).toBe('leaving');
    n.beat('exiting');
    expect(n.value()).toBe('exiting');
    n.actor.send({ type: ClusterNodeEventTypes.deleted });
    expect(n.value()).toBe('removed');
    expect(n.actor.getSnapshot().status).toBe('done');
  });

  it('N02 is down once no heartbeat came for ttlMs, in every live state; each heartbeat restarts the deadline', () => {
    for (const state of ['joining', 'up', 'leaving', 'exiting'] as const) {
      const n = node();
      if (state !== 'joining') n.beat(state === 'up' ? 'up' : state);
      n.advance(2_999);
      n.beat(state); // a sign of life
      n.advance(2_999);
      expect(n.value()).toBe(state);
      n.advance(1);
      expect(n.value()).toBe('down');
    }
    // A late earlier state still counts as a sign of life.
    const n = node();
    n.beat('leaving');
    n.advance(2_000);
    n.beat('up');
    n.advance(2_000);
    expect(n.value()).toBe('leaving');
  });

  it('N03 a graceful leave from any live state is removed', () => {
    for (const state of ['joining', 'up', 'leaving', 'exiting'] as const) {
      const n = node();
      if (state !== 'joining') n.beat(state);
      n.actor.send({ type: ClusterNodeEventTypes.deleted });
      expect(n.value()).toBe('removed');
    }
  });

  it('N04 jumps straight to a later state it missed (joining → leaving)', () => {
    const n = node();
    n.beat('leaving');
    expect(n.value()).toBe('leaving');
    const m = node();
    m.beat('exiting');
    expect(m.value()).toBe('exiting');
    m.beat('leaving'); // late, ignored
    expect(m.value()).toBe('exiting');
    const u = node();
    u.beat('up');
    u.beat('exiting');
    expect(u.value()).toBe('exiting');
  });

  it('N99 the tests above entered every state and took every transition', () => {
    expect(coverage.missingStates()).toEqual([]);
    expect(coverage.missingTransitions()).toEqual([]);
  });
});
