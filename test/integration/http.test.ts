// The troupe's HTTP surface (httpHandler, listen) and HTTP servers as
// resources (registerHttpServer): probes flip at SIGNALING, and a service
// under keep-alive load shuts down on SIGTERM with no connection reset.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { fixtures } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { makeTroupe } from '../helpers/troupe.js';
import { deferred } from '../helpers/wait.js';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(url: string, options: { agent?: Agent; method?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: options.agent, method: options.method ?? 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('troupe.listen() and httpHandler()', () => {
  it('/livez and /readyz answer JSON; /readyz is 503 from SIGNALING on while /livez stays 200', async () => {
    const troupe = makeTroupe({ nodeId: 'node-h' });
    const probes = await troupe.listen();
    expect(probes.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const live = await get(`${probes.url}/livez`);
    expect(live.status).toBe(200);
    expect(live.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(live.body)).toEqual({
      nodeId: 'node-h',
      phase: 'running',
      status: 'alive',
      reason: 'the process serves',
    });
    expect(JSON.parse((await get(`${probes.url}/readyz`)).body)).toMatchObject({
      status: 'ready',
      phase: 'running',
    });
    // Hold SIGNALING open: the probes as a load balancer sees them then.
    const signaling = deferred();
    const inSignaling = deferred();
    const done = troupe.shutdown({
      reason: 'SIGTERM',
      gate: (phase) => {
        if (phase !== 'signaling') return;
        inSignaling.resolve();
        return signaling.promise;
      },
    });
    await inSignaling.promise;
    const ready = await get(`${probes.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({
      nodeId: 'node-h',
      phase: 'signaling',
      status: 'not ready',
      reason: 'shutting down (SIGTERM)',
    });
    expect((await get(`${probes.url}/livez`)).status).toBe(200);
    signaling.resolve();
    const report = await done;
    expect(report.resources.details.find((r) => r.id === 'http')?.outcome).toBe('closed');
    // A fresh connection (the global agent keeps sockets alive): nothing listens any more.
    await expect(
      get(`${probes.url}/livez`, { agent: new Agent({ keepAlive: false }) }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('answers 404 with the endpoints for other paths, 405 for other methods, HEAD without a body', async () => {
    const troupe = makeTroupe();
    const { url } = await troupe.listen();
    const missing = await get(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({
      endpoints: ['/livez', '/readyz', '/metrics'],
    });
    const post = await get(`${url}/livez`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const head = await get(`${url}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('/metrics serves the troupe registry as Prometheus text', async () => {
    const troupe = makeTroupe();
    const runner = await troupe.spawnRunner({ id: 'm', worker: fixtures.echo, threads: 1 });
    await runner.run(1);
    await runner.run(2);
    const { url } = await troupe.listen();
    const metrics = await get(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toBe(troupe.metrics.contentType);
    expect(metrics.body).toMatch(/^troupe_tasks_total\{runner="m",outcome="completed"\} 2$/m);
    expect(metrics.body).toMatch(/^troupe_runner_up\{runner="m"\} 1$/m);
  });

  it('refuses a port in use with the listen error', async () => {
    const troupe = makeTroupe();
    const first = await troupe.listen({ id: 'http-1' });
    const port = Number(new URL(first.url).port);
    await expect(troupe.listen({ port, id: 'http-2' })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });

  it('registerHttpServer refuses what is not an HTTP server', () => {
    const troupe = makeTroupe();
    expect(() => troupe.resources.registerHttpServer({} as never, { id: 'x' })).toThrow(
      /invalid resource "server": expected a node:http \(or https\) Server/,
    );
  });
});

interface Child {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly lines: Record<string, unknown>[];
  readonly port: Promise<number>;
  kill(signal: NodeJS.Signals): void;
}

function startApp(env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [fileURLToPath(fixture('http-app'))], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const lines: Record<string, unknown>[] = [];
  const port = deferred<number>();
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
      buffer = buffer.slice(newline + 1);
      lines.push(line);
      if (typeof line.port === 'number') port.resolve(line.port);
    }
  });
  return {
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    }),
    lines,
    port: port.promise,
    kill: (signal) => child.kill(signal),
  };
}

describe('an HTTP service registered with registerHttpServer, under keep-alive load', () => {
  it('SIGTERM: every keep-alive client is told to leave, none is reset, only 200 and 503, exit 0 by itself', async () => {
    const app = startApp();
    const port = await app.port;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = new Map<number, number>();
    const errors = new Map<string, number>();
    let completed = 0;
    let told = 0;
    const signalled = deferred();
    let stop = false;
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          const reply = await get(`http://127.0.0.1:${port}/`, { agent });
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          completed += 1;
          if (completed === 200) signalled.resolve();
          // Told to leave (as a load balancer is by readiness): this client
          // goes elsewhere; its keep-alive socket must not be reset meanwhile.
          if (reply.headers.connection === 'close') {
            told += 1;
            return;
          }
        } catch (error) {
          const code = (error as { code?: string }).code ?? String(error);
          errors.set(code, (errors.get(code) ?? 0) + 1);
          if (code === 'ECONNREFUSED') stop = true;
        }
      }
    };
    const loops = Array.from({ length: 8 }, () => loop());
    await signalled.promise;
    app.kill('SIGTERM');
    const exit = await app.exited;
    stop = true;
    await Promise.all(loops);
    agent.destroy();
    const seen = `statuses ${JSON.stringify([...statuses])}, errors ${JSON.stringify([...errors])}, clients told to leave ${told}`;
    expect(errors.get('ECONNRESET') ?? 0, seen).toBe(0);
    expect(
      [...errors.keys()].filter((code) => code !== 'ECONNREFUSED'),
      seen,
    ).toEqual([]);
    expect(
      [...statuses.keys()].filter((s) => s !== 200 && s !== 503),
      seen,
    ).toEqual([]);
    expect(statuses.get(200) ?? 0).toBeGreaterThanOrEqual(200);
    expect(exit).toEqual({ code: 0, signal: null });
    const phases = app.lines.filter((l) => 'phase' in l).map((l) => l.phase);
    expect(phases).toEqual(['signaling', 'draining', 'closing', 'stopped']);
    const report = app.lines.find((l) => 'report' in l)?.report as
      { forced: boolean; closed: [string, string][] } | undefined;
    expect(report?.forced).toBe(false);
    expect(report?.closed).toContainEqual(['http', 'closed']);
    // what the closing note records
    process.stdout.write(`http SIGTERM test: ${seen}\n`);
  }, 60_000);

  it('SIGTERM with readinessDelayMs: a load balancer polling /readyz stops routing before admission closes, so no client sees a 503', async () => {
    const app = startApp({ READINESS_DELAY_MS: '1000' });
    const port = await app.port;
    const base = `http://127.0.0.1:${port}`;
    // The load balancer: routes here while /readyz answers 200, polled every 20 ms.
    let routing = true;
    let polls = 0;
    const poller = (async () => {
      while (routing) {
        try {
          const ready = await get(`${base}/readyz`, { agent: new Agent({ keepAlive: false }) });
          polls += 1;
          if (ready.status !== 200) routing = false;
        } catch {
          routing = false;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = new Map<number, number>();
    const errors = new Map<string, number>();
    let completed = 0;
    let toldToLeave = 0;
    const signalled = deferred();
    // Clients keep coming through the load balancer while it routes here; one
    // told to leave (Connection: close) reconnects, as through a real one.
    const loop = async (): Promise<void> => {
      while (routing) {
        try {
          const reply = await get(`${base}/`, { agent });
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          if (reply.headers.connection === 'close') toldToLeave += 1;
          completed += 1;
          if (completed === 200) signalled.resolve();
        } catch (error) {
          const code = (error as { code?: string }).code ?? String(error);
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
      }
    };
    const loops = Array.from({ length: 8 }, () => loop());
    await signalled.promise;
    app.kill('SIGTERM');
    const exit = await app.exited;
    routing = false;
    await Promise.all([...loops, poller]);
    agent.destroy();
    const seen = `statuses ${JSON.stringify([...statuses])}, errors ${JSON.stringify([...errors])}, responses with Connection: close ${toldToLeave}, readiness polls ${polls}`;
    expect([...errors], seen).toEqual([]);
    expect([...statuses.keys()], seen).toEqual([200]);
    // Served after SIGNALING began, within the delay.
    expect(toldToLeave, seen).toBeGreaterThan(0);
    expect(exit).toEqual({ code: 0, signal: null });
    const report = app.lines.find((l) => 'report' in l)?.report as
      { forced: boolean; readinessDelayMs: number } | undefined;
    expect(report?.forced).toBe(false);
    expect(report?.readinessDelayMs).toBeGreaterThanOrEqual(999);
    process.stdout.write(`http SIGTERM readiness-delay test: ${seen}\n`);
  }, 60_000);
});
