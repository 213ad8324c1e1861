// Runs every README example (built) and checks what it prints; checks the
// README shows each example verbatim, so the docs cannot drift.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTroupe } from '@troupe/runtime';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const dist = (name: string): string =>
  fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url));
const source = (name: string): string =>
  readFileSync(
    new URL(name.endsWith('.test') ? `./${name}.ts` : `../src/${name}.ts`, import.meta.url),
    'utf8',
  ).trim();
const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

async function output(name: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [dist(name)], {
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  expect(stderr).toBe('');
  return stdout;
}

/** pino's JSON lines, parsed. */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('README examples', () => {
  it.each([
    'quickstart',
    'quickstart-worker',
    'streaming',
    'streaming-worker',
    'resources',
    'errors',
    'supervision',
    'flaky-worker',
    'gated-shutdown',
    'logging',
    'logging-worker',
    'inspect',
    'lifecycle.test',
  ])('the README shows %s.ts verbatim', (name) => {
    expect(readme).toContain(source(name));
  });

  it('inspect serves the inspector on loopback, a late observer sees every live actor, and it exits by itself', async () => {
    const lines = (await output('inspect')).trim().split('\n');
    expect(lines[0]).toMatch(/^inspector: open http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(lines[1]).toBe('49');
    expect(lines[2]).toMatch(
      /^channel:math\/\d+ channel:math\/\d+ resource:inspector resource:math resource:math\/thread-\d+ resource:math\/thread-\d+\/channel resource:math\/thread-\d+ resource:math\/thread-\d+\/channel runner:math shutdown supervisor$/,
    );
  });

  it('quickstart prints results and a clean report', async () => {
    expect(await output('quickstart')).toBe('49\n5\n2 tasks completed, forced: false\n');
  });

  it('streaming prints the tokens in order, then the aborted task id', async () => {
    const out = await output('streaming');
    expect(out).toContain(
      "actors on worker threads never lose work { tokens: 7, taskId: 'llm-0#1' }",
    );
    expect(out).toContain('aborted: llm-0#2');
  });

  it('gated shutdown: both troupes finish each phase before either starts the next', async () => {
    const lines = (await output('gated-shutdown')).trim().split('\n');
    const at = (line: string): number => lines.indexOf(line);
    for (const [phase, next] of [
      ['signaling', 'draining'],
      ['draining', 'closing'],
      ['closing', 'stopped'],
    ] as const) {
      for (const node of ['a', 'b']) {
        for (const other of ['a', 'b']) {
          expect(at(`${node}: ${phase}`)).toBeGreaterThanOrEqual(0);
          expect(at(`${node}: ${phase}`)).toBeLessThan(at(`${other}: ${next}`));
        }
      }
    }
    expect(lines.at(-1)).toBe('a forced: false, b forced: false');
  });

  it('resources close in dependency order', async () => {
    const out = await output('resources');
    expect(out.split('\n')[0]).toBe('cache → db');
    expect(out).toMatch(/api:closed/);
  });

  it('supervision retries, then fails over the restart limit with an alert', async () => {
    expect(await output('supervision')).toBe(
      [
        'result: 42',
        'alert: ERR_RESTART_LIMIT degrade',
        'runner: failed',
        'then: ERR_RESTART_LIMIT',
        'crashes: 3 restarts: 2 resolved by retry: 1',
        '',
      ].join('\n'),
    );
  });

  it('logging: pino JSON lines (not a terminal), ctx.log with its task, startup and shutdown at info', async () => {
    const lines = jsonLines(await output('logging', { LOG_LEVEL: 'info' }));
    const byMsg = (msg: string) => lines.filter((line) => line.msg === msg);
    // pino's levels: 30 info, 40 warn. Every record carries the node's id.
    for (const line of lines) expect(line).toMatchObject({ nodeId: 'node-a' });
    expect(lines.map((line) => line.level as number).every((level) => level >= 30)).toBe(true);
    const [loaded] = byMsg('model loaded');
    expect(loaded).toMatchObject({ level: 30, runnerId: 'summarizer', vocabulary: 7 });
    expect(loaded).not.toHaveProperty('taskId');
    expect(byMsg('long input')).toEqual([
      expect.objectContaining({
        level: 40,
        runnerId: 'summarizer',
        threadId: loaded?.threadId,
        taskId: 'summarizer#1',
        words: 7,
      }),
    ]);
    expect(byMsg('runner ready')).toEqual([
      expect.objectContaining({ level: 30, threads: 1, durationMs: expect.any(Number) as unknown }),
    ]);
    expect(
      byMsg('shutdown phase done').map((line) => [line.phase, typeof line.durationMs]),
    ).toEqual([
      ['signaling', 'number'],
      ['draining', 'number'],
      ['closing', 'number'],
    ]);
    expect(byMsg('counted')).toEqual([]); // debug: below LOG_LEVEL, dropped in the thread
  });

  it('logging at LOG_LEVEL=debug: every transition of every actor, once, with its ids', async () => {
    const lines = jsonLines(await output('logging', { LOG_LEVEL: 'debug' }));
    expect(lines.filter((line) => line.msg === 'counted')).toEqual([
      expect.objectContaining({ level: 20, taskId: 'summarizer#1', words: 7 }),
    ]);
    const transitions = lines.filter((line) => line.state !== undefined);
    const kinds = new Set(transitions.map((line) => line.msg));
    for (const kind of ['runner state', 'channel state', 'resource state', 'shutdown state']) {
      expect(kinds).toContain(kind);
    }
    for (const line of transitions) {
      expect(line).toMatchObject({ level: 20, event: expect.any(String) as unknown });
      expect(line.state).not.toBe(line.previous);
    }
    expect(transitions.find((line) => line.msg === 'runner state')).toMatchObject({
      runnerId: 'summarizer',
      previous: null,
      event: 'xstate.init',
    });
  });

  it('a pino instance works unchanged, writing to any stream', async () => {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const troupe = createTroupe({ nodeId: 'in-process', logger: pino({ level: 'trace' }, stream) });
    troupe.resources.register({ id: 'db', close: () => {} });
    const runner = await troupe.spawnRunner({
      id: 'words',
      worker: new URL('../dist/logging-worker.js', import.meta.url),
      threads: 1,
    });
    expect(await runner.run('one two', { handler: 'summarize' })).toBe(2);
    await troupe.shutdown();
    const lines = jsonLines(text);
    expect(lines.find((line) => line.msg === 'counted')).toMatchObject({
      level: 20,
      nodeId: 'in-process',
      runnerId: 'words',
      taskId: 'words#1',
    });
    expect(lines.filter((line) => line.resourceId === 'db').map((line) => line.state)).toEqual([
      'open',
      'closing',
      'closed',
    ]);
  });

  it('errors prints typed codes', async () => {
    const out = await output('errors');
    expect(out).toMatch(/^ERR_QUEUE_FULL - /m);
    expect(out).toMatch(/^9$/m);
    expect(out).toMatch(/ERR_UNKNOWN_HANDLER/);
  });
});
