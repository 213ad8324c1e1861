// serveInspector with a real @statelyai/inspect WebSocket receiver on
// loopback: a receiver that connects late still gets every live actor's
// definition and current state, then the stream; the troupe's shutdown
// closes the relay, so nothing keeps the process alive.
import { get } from 'node:http';
import { createWebSocketReceiver } from '@statelyai/inspect';
import { createTroupe } from '@troupe/runtime';
import { checkLeaks, fixtures, snapshotHandles } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { waitFor, type AnyActorRef } from 'xstate';
import { serveInspector } from '../src/index.js';

interface StatelyEvent {
  readonly type: string;
  readonly name?: string;
  readonly sessionId: string;
  readonly definition?: string;
  readonly snapshot?: { value?: unknown; status?: string };
}

function receive(server: string): {
  events: StatelyEvent[];
  until: (test: () => boolean) => Promise<void>;
} {
  const events: StatelyEvent[] = [];
  const waiters = new Set<() => void>();
  createWebSocketReceiver({ server }).subscribe((event: unknown) => {
    events.push(event as StatelyEvent);
    for (const wake of waiters) wake();
  });
  return {
    events,
    until: (test) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!test()) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
  };
}

function page(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('serveInspector', () => {
  it('a receiver that connects late gets every live actor, its definition and state, then the stream', async () => {
    const baseline = snapshotHandles();
    const troupe = createTroupe();
    troupe.resources.register({ id: 'db', close: () => {} });
    const runner = await troupe.spawnRunner({ id: 'llm-0', worker: fixtures.echo, threads: 2 });
    // Far more than the 200 messages @statelyai/inspect's relay keeps.
    for (let i = 0; i < 150; i++) await runner.run(i);
    // Idle, so the state the receiver is replayed is known: nothing moves until the next task.
    // (runner.actor is a read-only view; waitFor takes it as an actor.)
    await waitFor(
      runner.actor as unknown as AnyActorRef,
      (snapshot: { matches(v: unknown): boolean }) =>
        snapshot.matches({ running: { load: 'ready' } }),
    );
    const inspector = await serveInspector(troupe);
    expect(inspector.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const html = await page(inspector.url);
    expect(html).toContain('https://stately.ai/inspect');
    expect(html).toContain(inspector.wsUrl);

    const late = receive(inspector.wsUrl);
    const named = (name: string): StatelyEvent | undefined =>
      late.events.find((e) => e.type === '@xstate.actor' && e.name === name);
    const channels = (): StatelyEvent[] =>
      late.events.filter((e) => e.type === '@xstate.actor' && e.name?.startsWith('channel:llm-0/'));
    // The replay may come in several messages: wait for the thread channels too
    // (roots created last, after the four named ones).
    await late.until(
      () =>
        ['runner:llm-0', 'resource:db', 'shutdown', 'supervisor'].every(
          (n) => named(n) !== undefined,
        ) && channels().length >= 2,
    );
    const runnerActor = named('runner:llm-0');
    // the whole definition, not truncated at depth 10
    const definition = JSON.parse(runnerActor?.definition ?? '{}') as {
      id?: string;
      states?: { running?: { states?: { threads?: { states?: { replacing?: unknown } } } } };
    };
    expect(definition.id).toBe('runner');
    expect(definition.states?.running?.states?.threads?.states?.replacing).toBeDefined();
    // One per thread, each once.
    expect(channels()).toHaveLength(2);
    // its current state, replayed
    await late.until(() =>
      late.events.some(
        (e) => e.type === '@xstate.snapshot' && e.sessionId === runnerActor?.sessionId,
      ),
    );
    const snapshot = late.events.find(
      (e) => e.type === '@xstate.snapshot' && e.sessionId === runnerActor?.sessionId,
    );
    expect(snapshot?.snapshot?.value).toEqual({ running: { load: 'ready', threads: 'full' } });
    expect(inspector.clients).toBe(1);

    // then the live stream: a task makes the runner busy and ready again
    const count = late.events.length;
    await runner.run('live');
    await late.until(() =>
      late.events
        .slice(count)
        .some(
          (e) =>
            e.type === '@xstate.snapshot' &&
            e.sessionId === runnerActor?.sessionId &&
            JSON.stringify(e.snapshot?.value).includes('busy'),
        ),
    );

    // the troupe's shutdown closes the relay with everything else
    const report = await troupe.shutdown();
    expect(
      report.resources.details.some((r) => r.id === 'inspector' && r.outcome === 'closed'),
    ).toBe(true);
    const leaks = await checkLeaks(baseline, { settleMs: 3_000 });
    expect(leaks.ok, leaks.message).toBe(true);
  }, 60_000);

  it('refuses a port in use with the listen error', async () => {
    const troupe = createTroupe();
    const first = await serveInspector(troupe, { resourceId: 'inspector-1' });
    const port = Number(new URL(first.url).port);
    await expect(serveInspector(troupe, { port, resourceId: 'inspector-2' })).rejects.toMatchObject(
      {
        code: 'EADDRINUSE',
      },
    );
    await troupe.shutdown();
  });
});
