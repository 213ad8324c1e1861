// The cluster demo as `npm run demo:cluster` runs it (node
// dist/cluster/main.js): a real nats-server and three real node processes.
// Needs nats-server (on PATH or /usr/sbin; `npm test` installs it when it can).
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CLUSTER_DEMO_MAIN, runDemo, type DemoRun } from './runDemo.js';

const NODE_IDS = ['node-a', 'node-b', 'node-c'];

/** Runs the built cluster demo (plain lines, no colour), killed past `deadlineMs`. */
function runClusterDemo(
  args: readonly string[],
  options: {
    readonly deadlineMs?: number;
    readonly group?: boolean;
    readonly onOutput?: (stdout: string, pid: number) => void;
  } = {},
): Promise<DemoRun> {
  return runDemo(
    { NO_COLOR: '1' },
    {
      main: CLUSTER_DEMO_MAIN,
      args,
      deadlineMs: options.deadlineMs ?? 60_000,
      ...(options.group === undefined ? {} : { group: options.group }),
      onOutput: (stdout, child) => {
        if (child.pid !== undefined) options.onOutput?.(stdout, child.pid);
      },
    },
  );
}

/** The node pids and the broker's port the demo printed. */
function started(stdout: string): { pids: Map<string, number>; port: number | null } {
  const pids = new Map<string, number>();
  for (const match of stdout.matchAll(/(node-[abc]) up pid (\d+)/g)) {
    pids.set(match[1]!, Number(match[2]));
  }
  const port = /nats-server ready at nats:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
  return { pids, port: port === undefined ? null : Number(port) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** No node process and no nats-server of this run survived it. */
async function expectNothingLeft(stdout: string): Promise<void> {
  const { pids, port } = started(stdout);
  for (const [id, pid] of pids) expect(alive(pid), `${id} (pid ${pid}) still runs`).toBe(false);
  expect(port, stdout).not.toBeNull();
  expect(await accepts(port!), `nats-server still listens on ${port}`).toBe(false);
}

/** The live placement lines of `nodeId`: its state and tasks placed that second. */
function ticks(stdout: string, nodeId: string): { state: string; tasks: number }[] {
  return [...stdout.matchAll(new RegExp(`${nodeId} (\\w+)\\s+(\\d+) tasks/s`, 'g'))].map((m) => ({
    state: m[1]!,
    tasks: Number(m[2]),
  }));
}

describe('the cluster demo (node dist/cluster/main.js)', () => {
  it('places tasks on three nodes, recovers from a SIGKILLed one, shuts the cluster down with a merged report, and leaves nothing running', async () => {
    const run = await runClusterDemo(['--seconds', '4']);
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.signal, output).toBeNull();
    expect(run.code, output).toBe(0);
    expect(run.stderr, output).toBe('');

    // 1. The broker, three nodes up, and the driver sees them up.
    const { pids } = started(run.stdout);
    expect([...pids.keys()].sort()).toEqual(NODE_IDS);
    expect(run.stdout).toContain(
      'the driver sees node-a up, node-b up, node-c up in cluster.nodes()',
    );

    // 2. Placement on every node before the kill.
    for (const id of NODE_IDS) {
      expect(
        ticks(run.stdout, id).some((t) => t.state === 'up' && t.tasks > 0),
        id,
      ).toBe(true);
    }
    expect(run.stdout).toMatch(/health \d\.\d\d (healthy|degraded|unhealthy)/);

    // 3. The kill: seen down once its heartbeat lapsed (TTL 3 × 500 ms), its
    // tasks ran again on the survivors, none failed, placement went on.
    const kill = /SIGKILL node-b \(pid (\d+)\) with (\d+) tasks? in flight on it/.exec(run.stdout);
    expect(kill, run.stdout).not.toBeNull();
    expect(Number(kill![1])).toBe(pids.get('node-b'));
    const onVictim = Number(kill![2]);
    const down = /node-b down (\d+) ms after the SIGKILL, (\d+) ms after its last heartbeat/.exec(
      run.stdout,
    );
    expect(down, run.stdout).not.toBeNull();
    const sinceBeat = Number(down![2]);
    // Not before the TTL; not much after it (a loaded machine's margin).
    expect(sinceBeat).toBeGreaterThanOrEqual(1_500 - 50);
    expect(sinceBeat).toBeLessThan(1_500 + 2_500);
    const recovery = /recovery: (\d+) of the (\d+) tasks? on node-b ran again on another node/.exec(
      run.stdout,
    );
    expect(recovery, run.stdout).not.toBeNull();
    expect(Number(recovery![2])).toBe(onVictim);
    expect(Number(recovery![1])).toBe(onVictim);
    const afterDown = run.stdout.slice(run.stdout.indexOf('node-b down'));
    const victimAfter = ticks(afterDown, 'node-b');
    expect(victimAfter.length).toBeGreaterThanOrEqual(2);
    expect(victimAfter.every((t) => t.state === 'down' && t.tasks === 0)).toBe(true);
    for (const id of ['node-a', 'node-c']) {
      expect(
        ticks(afterDown, id).some((t) => t.tasks > 0),
        id,
      ).toBe(true);
    }
    expect(run.stdout).not.toContain('task failed');
    expect(run.stdout).toMatch(
      /tasks: submitted (\d+) · completed \1 · failed 0 · retried \d+ · in flight 0/,
    );

    // 4. The cluster shutdown's merged report: the two survivors and the
    // driver stopped in unison, each with its own report; node-b, down
    // before it began, is no participant.
    expect(run.stdout).toMatch(
      /Cluster shutdown report · reason "demo over" · initiator driver · \d+ ms · forced: no/,
    );
    expect(run.stdout).toMatch(
      /in unison signaling done at \+\d+ ms → draining done at \+\d+ ms → closing done at \+\d+ ms/,
    );
    for (const id of ['driver', 'node-a', 'node-c']) {
      expect(run.stdout).toMatch(
        new RegExp(
          `${id}\\s+stopped\\s+stopped\\s+\\d+ ms\\s+\\d+ ms\\s+\\d+ ms\\s+(\\d+) of \\1 in flight`,
        ),
      );
    }
    expect(run.stdout).toMatch(/node-a\s+stopped.*threads started 2 · exited 2 · leaked 0/);
    expect(run.stdout).toMatch(/lost\s+none/);
    expect(run.stdout).toMatch(
      /total \d+ ms · 3 stopped, 0 lost · tasks drained \d+ · threads started 4 · exited 4 · leaked 0/,
    );
    expect(run.stdout).toContain('node-b is not in it: it was down before the shutdown began');
    expect(run.stdout).toMatch(/node-a exited code 0, node-c exited code 0/);

    // Every child process and the server are gone.
    await expectNothingLeft(run.stdout);
  }, 90_000);

  it('on SIGINT stops every node and the broker, and exits 130', async () => {
    let sent = false;
    const run = await runClusterDemo(['--seconds', '30'], {
      onOutput: (stdout, pid) => {
        if (!sent && /tasks\/s/.test(stdout)) {
          sent = true;
          process.kill(pid, 'SIGINT');
        }
      },
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(sent, output).toBe(true);
    expect(run.code, output).toBe(130);
    expect(run.stdout).toContain('SIGINT: stopping the nodes and the broker');
    expect(run.stdout).toMatch(
      /every node process exited \(pids node-a \d+, node-b \d+, node-c \d+\); nats-server stopped/,
    );
    await expectNothingLeft(run.stdout);
  }, 90_000);

  it('a Ctrl-C (SIGINT to the whole process group, the broker too) still leaves nothing running', async () => {
    let sent = false;
    const run = await runClusterDemo(['--seconds', '30'], {
      group: true,
      onOutput: (stdout, pid) => {
        if (!sent && /tasks\/s/.test(stdout)) {
          sent = true;
          process.kill(-pid, 'SIGINT');
        }
      },
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(sent, output).toBe(true);
    expect(run.code, output).toBe(130);
    await expectNothingLeft(run.stdout);
  }, 90_000);
});
