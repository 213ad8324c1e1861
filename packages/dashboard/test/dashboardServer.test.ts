// The dashboard's server side over a real troupe, real threads and a real
// WebSocket (no browser): what a page receives, from hello to the report.
import { request } from 'node:http';
import { DASHBOARD_PROTOCOL, fromLoopback, type DashboardMessage } from '@troupe/dashboard';
import { createTroupe, type Troupe } from '@troupe/runtime';
import { fixtures } from '@troupe/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

const troupes: Troupe[] = [];
afterEach(async () => {
  await Promise.all(troupes.splice(0).map((t) => t.shutdown()));
});

function makeTroupe(): Troupe {
  const troupe = createTroupe({ health: { intervalMs: 200 } });
  troupes.push(troupe);
  return troupe;
}

function get(
  url: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** A page's socket: every message it got, and a way to wait for one. */
function connect(url: string) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'));
  const messages: DashboardMessage[] = [];
  const waiters: {
    test: (m: DashboardMessage) => boolean;
    resolve: (m: DashboardMessage) => void;
  }[] = [];
  const closed = new Promise<{ code: number }>((resolve) => {
    socket.once('close', (code) => resolve({ code }));
  });
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString('utf8')) as DashboardMessage;
    messages.push(message);
    for (const waiter of [...waiters]) {
      if (waiter.test(message)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  return {
    socket,
    messages,
    closed,
    next<T extends DashboardMessage['type']>(
      type: T,
      test: (m: Extract<DashboardMessage, { type: T }>) => boolean = () => true,
    ): Promise<Extract<DashboardMessage, { type: T }>> {
      const seen = messages.find(
        (m) => m.type === type && test(m as Extract<DashboardMessage, { type: T }>),
      );
      if (seen !== undefined)
        return Promise.resolve(seen as Extract<DashboardMessage, { type: T }>);
      return new Promise((resolve) => {
        waiters.push({
          test: (m) => m.type === type && test(m as Extract<DashboardMessage, { type: T }>),
          resolve: (m) => resolve(m as Extract<DashboardMessage, { type: T }>),
        });
      });
    },
  };
}

describe('the dashboard server (troupe.listen({ dashboard: true }))', () => {
  it('serves the page under /dashboard/ and redirects /dashboard to it; probes still answer', async () => {
    const troupe = makeTroupe();
    const { url } = await troupe.listen({ dashboard: true });
    const redirect = await get(`${url}/dashboard`);
    expect(redirect.status).toBe(308);
    expect(redirect.headers.location).toBe('/dashboard/');
    const page = await get(`${url}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<!doctype html>'.slice(0, 5));
    expect((await get(`${url}/dashboard/../../package.json`)).status).toBe(404);
    expect((await get(`${url}/readyz`)).status).toBe(200);
  });

  it('a page first gets hello (statecharts, every live actor with its state), then changes, samples and errors', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ id: 'work', worker: fixtures.sleep, threads: 2 });
    troupe.resources.register({ id: 'db', close: () => {} });
    troupe.resources.register({ id: 'cache', close: () => {}, dependsOn: ['db'] });
    const { url } = await troupe.listen({ dashboard: true });
    const page = connect(`${url}/dashboard/live`);
    const hello = await page.next('hello');
    expect(hello.protocol).toBe(DASHBOARD_PROTOCOL);
    expect(hello.controls).toBe(false);
    expect(Object.keys(hello.machines)).toEqual(
      expect.arrayContaining(['runner', 'shutdown', 'resource']),
    );
    const ids = hello.state.actors.map((a) => a.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'runner:work',
        'resource:db',
        'resource:cache',
        'shutdown',
        'supervisor',
      ]),
    );
    const work = hello.state.actors.find((a) => a.id === 'runner:work');
    expect(work?.state).toMatch(/^running/);
    expect(work?.active).toContain('runner.running');
    expect(hello.state.resources.find((r) => r.id === 'cache')?.dependsOn).toEqual(['db']);
    expect(hello.state.shutdown.phase).toBe('running');
    // A busy runner changes state; the page hears it (coalesced).
    const tasks = Array.from({ length: 20 }, () => runner.run(20));
    await page.next('actors', (m) =>
      m.actors.some((a) => a.id === 'runner:work' && a.state.includes('busy')),
    );
    await Promise.all(tasks);
    const sample = await page.next('sample', (m) =>
      m.sample.runners.some((r) => r.id === 'work' && r.latencyMs !== null),
    );
    const figures = sample.sample.runners.find((r) => r.id === 'work');
    expect(figures?.threads).toBe(2);
    expect(figures?.latencyMs).toBeGreaterThan(0);
    // An error reaches the stream with its code, severity and action.
    await runner.run(0, { timeoutMs: -1 }).catch(() => {});
    const error = await page.next('error');
    expect(error.error).toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    expect(typeof error.error.severity).toBe('string');
    expect(typeof error.error.action).toBe('string');
    page.socket.close();
    await page.closed;
  });

  it('a late page gets the current state too (with the samples so far); controls are refused when off', async () => {
    const troupe = makeTroupe();
    await troupe.spawnRunner({ id: 'late', worker: fixtures.sleep, threads: 1 });
    const { url } = await troupe.listen({ dashboard: true });
    const first = connect(`${url}/dashboard/live`);
    await first.next('sample');
    first.socket.close();
    await first.closed;
    const second = connect(`${url}/dashboard/live`);
    const hello = await second.next('hello');
    expect(hello.state.actors.map((a) => a.id)).toContain('runner:late');
    expect(hello.state.samples.length).toBeGreaterThan(0);
    second.socket.send(JSON.stringify({ type: 'shutdown', id: 7, reason: 'from the page' }));
    const refused = await second.next('controlResult');
    expect(refused).toMatchObject({ id: 7, ok: false });
    expect(troupe.phase).toBe('running');
    second.socket.close();
    await second.closed;
  });

  it('follows a shutdown to the end: phases with tasks and resources left, the report, then closes the page (1001)', async () => {
    const troupe = createTroupe();
    const runner = await troupe.spawnRunner({ id: 'drain', worker: fixtures.sleep, threads: 1 });
    const { url } = await troupe.listen({ dashboard: { controls: true } });
    const page = connect(`${url}/dashboard/live`);
    const hello = await page.next('hello');
    expect(hello.controls).toBe(true);
    const task = runner.run(300);
    page.socket.send(JSON.stringify({ type: 'shutdown', id: 1, reason: 'from the page' }));
    expect(await page.next('controlResult')).toMatchObject({ id: 1, ok: true });
    const draining = await page.next('shutdown', (m) =>
      m.shutdown.timeline.some((e) => e.phase === 'draining'),
    );
    expect(draining.shutdown.timeline.find((e) => e.phase === 'draining')?.tasksLeft).toBe(1);
    expect(await task).toBe(300);
    const done = await page.next('shutdown', (m) => m.shutdown.report !== null);
    expect(done.shutdown.timeline.map((e) => e.phase)).toEqual([
      'signaling',
      'draining',
      'closing',
      'stopped',
    ]);
    expect(done.shutdown.reason).toBe('from the page');
    expect(done.shutdown.report?.forced).toBe(false);
    expect(done.shutdown.report?.resources.details.map((r) => r.id)).toContain('dashboard');
    expect(await page.closed).toEqual({ code: 1001 });
  });

  it('controls are for loopback clients only', () => {
    const from = (remoteAddress: string) => ({ socket: { remoteAddress } }) as never;
    expect(fromLoopback(from('127.0.0.1'))).toBe(true);
    expect(fromLoopback(from('::1'))).toBe(true);
    expect(fromLoopback(from('::ffff:127.0.0.1'))).toBe(true);
    expect(fromLoopback(from('192.0.2.2'))).toBe(false);
    expect(fromLoopback(from('10.0.0.7'))).toBe(false);
  });
});
