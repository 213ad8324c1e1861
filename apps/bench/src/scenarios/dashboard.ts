// 9. What the dashboard costs: (a) tiny-task throughput of one troupe while
// a dashboard page is connected (a WebSocket client that parses every
// message, as the page does) against no page, rounds alternating; (b) how
// many inspection events per second it follows: a burst of resources
// registered at once, timed until the page's view holds every one of them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboard, type Dashboard, type DashboardMessage } from '@troupe/dashboard';
import { createTroupe, type Troupe } from '@troupe/runtime';
import { WebSocket } from 'ws';
import { row, type Row, type Scenario } from '../scenario.js';
import { median } from '../stats.js';
import { pump, rotate } from '../timing.js';

const WORKER = new URL('../workers/identity.js', import.meta.url);
const THREADS = 2;
const IN_FLIGHT = 64;
const TASKS = 20_000;
const BURST = 2_000;

type Side = 'off' | 'on';

interface Page {
  readonly actors: Set<string>;
  messages: number;
  close(): Promise<void>;
  until(test: () => boolean): Promise<void>;
}

async function serve(dashboard: Dashboard): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    dashboard.handle(req, res, '');
  });
  server.on('upgrade', (req, socket, head) => {
    dashboard.upgrade(req, socket, head);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `ws://127.0.0.1:${port}/dashboard/live` };
}

/** A page: parses every message and keeps the set of live actors, as the real page does. */
async function openPage(url: string): Promise<Page> {
  const socket = new WebSocket(url);
  const actors = new Set<string>();
  const checks = new Set<() => void>();
  const page: Page = {
    actors,
    messages: 0,
    close: () =>
      new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
      }),
    until: (test) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!test()) return;
          checks.delete(check);
          resolve();
        };
        checks.add(check);
        check();
      }),
  };
  const hello = new Promise<void>((resolve) => {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as DashboardMessage;
      page.messages += 1;
      if (message.type === 'hello') {
        for (const actor of message.state.actors) actors.add(actor.id);
        resolve();
      } else if (message.type === 'actors') {
        for (const actor of message.actors) actors.add(actor.id);
        for (const id of message.gone) actors.delete(id);
      }
      for (const check of [...checks]) check();
    });
  });
  await hello;
  return page;
}

async function burst(
  troupe: Troupe,
  dashboard: Dashboard,
  page: Page,
  round: number,
): Promise<number> {
  const before = dashboard.events;
  const started = performance.now();
  for (let i = 0; i < BURST; i++) {
    troupe.resources.register({ id: `b${round}-${i}`, close: () => {} });
  }
  await page.until(() => page.actors.has(`resource:b${round}-${BURST - 1}`));
  const seconds = (performance.now() - started) / 1000;
  return (dashboard.events - before) / seconds;
}

export const dashboard: Scenario = {
  name: 'dashboard',
  title: 'a dashboard page connected vs none; inspection events per second it follows',
  async run(ctx) {
    const troupe = createTroupe();
    const board = createDashboard(troupe);
    const { server, url } = await serve(board);
    const runner = await troupe.spawnRunner({ worker: WORKER, threads: THREADS });
    const tasks: Record<Side, number[]> = { off: [], on: [] };
    const followed: number[] = [];
    let messages = 0;
    try {
      await pump((i) => runner.run(i), 5_000, IN_FLIGHT);
      const rounds = Math.max(5, ctx.rounds);
      for (let r = 0; r < rounds; r++) {
        for (const side of rotate<Side>(['off', 'on'], r)) {
          const page = side === 'on' ? await openPage(url) : null;
          const ms = await pump((i) => runner.run(i), TASKS, IN_FLIGHT);
          tasks[side].push((TASKS / ms) * 1000);
          if (page !== null) {
            followed.push(await burst(troupe, board, page, r));
            messages += page.messages;
            await page.close();
          }
        }
        ctx.log(
          `round ${r + 1}/${rounds}: tasks/s off ${Math.round(tasks.off.at(-1) ?? 0)}, on ${Math.round(tasks.on.at(-1) ?? 0)}; followed ${Math.round(followed.at(-1) ?? 0)} events/s`,
        );
      }
    } finally {
      await troupe.shutdown({ reason: 'bench done' });
      await board.close();
      await new Promise((resolve) => server.close(resolve));
    }
    const scenario = '9 dashboard';
    const rows: Row[] = [
      row({
        scenario,
        metric: 'tasks/s with a dashboard page connected vs none',
        unit: 'tasks/s',
        troupe: median(tasks.on),
        baseline: median(tasks.off),
        baselineName: 'no page',
        target: { on: 'ratio', op: '>=', limit: 0.95 },
        note: `the page received ${messages} messages over the rounds`,
        samples: { troupe: tasks.on, baseline: tasks.off },
      }),
      row({
        scenario,
        metric: `inspection events/s followed (${BURST} resources registered at once, until the page holds them all)`,
        unit: 'events/s',
        troupe: median(followed),
        samples: { troupe: followed },
      }),
    ];
    return rows;
  },
};
