import { describe, expect, it } from 'vitest';
import {
  channelMachine,
  resourceMachine,
  runnerMachine,
  shutdownMachine,
  statechartGraph,
  supervisorMachine,
  toMermaid,
} from '../src/index.js';

const machines = [
  runnerMachine,
  shutdownMachine,
  resourceMachine,
  channelMachine,
  supervisorMachine,
];

describe('statechartGraph', () => {
  it('lists every state node with its parent, type, initial child and tags', () => {
    const graph = statechartGraph(shutdownMachine);
    expect(graph.machineId).toBe('shutdown');
    expect(graph.nodes[0]).toEqual({
      id: 'shutdown',
      label: 'shutdown',
      parent: null,
      type: 'compound',
      initial: 'shutdown.running',
      tags: [],
    });
    expect(graph.nodes.find((n) => n.id === 'shutdown.signaling')).toMatchObject({
      label: 'signaling',
      parent: 'shutdown',
      type: 'compound',
      initial: 'shutdown.signaling.delaying',
      tags: ['shuttingDown'],
    });
    expect(graph.nodes.find((n) => n.id === 'shutdown.signaling.delaying')?.tags).toEqual([
      'admits',
    ]);
    expect(graph.nodes.find((n) => n.id === 'shutdown.stopped')?.type).toBe('final');
    expect(graph.nodes).toHaveLength(15);
  });

  it('gives one edge per transition target, labelled as toMermaid labels them', () => {
    const graph = statechartGraph(shutdownMachine);
    expect(graph.edges).toContainEqual({
      source: 'shutdown.signaling.delaying',
      target: 'shutdown.signaling.working',
      label: 'after readinessDelay',
    });
    expect(graph.edges).toContainEqual({
      source: 'shutdown.draining.waiting',
      target: 'shutdown.draining.forcing',
      label: 'always [forceRequested]',
    });
    // A transition that does not leave its state is a loop.
    expect(graph.edges).toContainEqual({
      source: 'shutdown.draining',
      target: 'shutdown.draining',
      label: 'after drainingDeadline [in draining.forcing]',
    });
    // toMermaid writes the same labels (with Mermaid's entity codes for ':').
    const mermaid = toMermaid(shutdownMachine);
    for (const { label } of graph.edges) expect(mermaid).toContain(label.replace(/:/g, '#58;'));
  });

  it('every edge joins two of its nodes, for every machine, and the graph is JSON', () => {
    for (const machine of machines) {
      const graph = statechartGraph(machine);
      const ids = new Set(graph.nodes.map((n) => n.id));
      expect(ids.size, machine.id).toBe(graph.nodes.length);
      for (const edge of graph.edges) {
        expect(ids.has(edge.source), edge.source).toBe(true);
        expect(ids.has(edge.target), edge.target).toBe(true);
      }
      for (const node of graph.nodes.slice(1)) expect(ids.has(node.parent ?? '')).toBe(true);
      expect(JSON.parse(JSON.stringify(graph))).toEqual(graph);
    }
  });
});
