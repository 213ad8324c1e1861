// Runs every README example (built) and checks what it prints; checks the
// README shows each example verbatim, so the docs cannot drift.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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

async function output(name: string): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, [dist(name)], { timeout: 20_000 });
  expect(stderr).toBe('');
  return stdout;
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
    'lifecycle.test',
  ])('the README shows %s.ts verbatim', (name) => {
    expect(readme).toContain(source(name));
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

  it('errors prints typed codes', async () => {
    const out = await output('errors');
    expect(out).toMatch(/^ERR_QUEUE_FULL - /m);
    expect(out).toMatch(/^9$/m);
    expect(out).toMatch(/ERR_UNKNOWN_HANDLER/);
  });
});
