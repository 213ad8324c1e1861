// troupe.on/once/off: typed events, and a throwing listener never breaks
// the troupe (it is reported; the other listeners still run).
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { makeTroupe } from '../helpers/troupe.js';

describe('troupe events', () => {
  it('a throwing listener is reported and the others still run; shutdown completes', async () => {
    const troupe = makeTroupe();
    const seen: string[] = [];
    const codes: string[] = [];
    troupe.on('error', (r) => codes.push(`${r.code}:${String(r.context.listener)}`));
    troupe.on('shutdown:phase', () => {
      throw new Error('listener bug');
    });
    troupe.on('shutdown:phase', (e) => seen.push(e.phase));
    troupe.on('runner:state', () => {
      throw new Error('another bug');
    });
    await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    const report = await troupe.shutdown();
    expect(seen).toEqual(['signaling', 'draining', 'closing', 'stopped']);
    expect(report.threads.leaked).toBe(0);
    // Reported as the listener's failure (LOW, never acted upon).
    expect(codes).toContain("ERR_LISTENER_FAILED:troupe.on('shutdown:phase')");
    expect(codes).toContain("ERR_LISTENER_FAILED:troupe.on('runner:state')");
  });

  it('once() fires once and off() removes once-listeners too', async () => {
    const troupe = makeTroupe();
    const once: string[] = [];
    const removed: string[] = [];
    troupe.once('runner:state', (e) => once.push(e.state));
    const listener = (e: { state: string }): void => {
      removed.push(e.state);
    };
    troupe.once('runner:state', listener);
    troupe.off('runner:state', listener);
    await troupe.spawnRunner({ worker: fixtures.echo, threads: 1 });
    await troupe.shutdown();
    // A runner's first state is `starting` (previous: null).
    expect(once).toEqual(['starting']);
    expect(removed).toEqual([]);
  });
});
