import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from './runDemo.js';

/** The `lost: N` check line the demo prints from its own bookkeeping. */
function lostCount(stdout: string): number | null {
  const match = /^lost: (\d+)/m.exec(stdout);
  return match === null ? null : Number(match[1]);
}

describe('the built demo (node dist/main.js)', () => {
  it('runs, shuts down in three phases, reports, loses nothing and exits 0 by itself', async () => {
    const run = await runDemo({ DEMO_DURATION_MS: '3000' });
    const output = run.stdout + run.stderr;

    expect(run.signal, output).toBeNull();
    expect(run.code, output).toBe(0);
    // Its 3 s of load, then every shutdown deadline at most (1 + 5 + 3 s), plus
    // a start-up allowance: a slower run overran a deadline. (Killed at 30 s.)
    expect(run.ms).toBeLessThan(3_000 + 9_000 + 3_000);
    for (const phase of ['signaling', 'draining', 'closing', 'stopped']) {
      expect(run.stdout).toContain(`shutdown phase: ${phase}`);
    }
    expect(run.stdout).toContain('Shutdown report');
    expect(run.stdout).toMatch(/reason "duration 3000 ms"/);
    expect(run.stdout).toMatch(/threads\s+started \d+ · exited \d+ · leaked 0/);
    expect(run.stdout).toMatch(/resources closed \d+ · failed 0 · forced 0/);
    // Dependency order: every runner stopped before the kv-cache, which closed before the sink.
    expect(run.stdout).toMatch(/llm-[\w-]+ \+\d+ ms → kv-cache \+\d+ ms → metrics-sink \+\d+ ms/);
    expect(lostCount(run.stdout)).toBe(0);
    expect(run.stdout).not.toContain('mismatches');
    expect(run.stderr).toBe('');
  });

  it('writes pino JSON lines to DEMO_LOG_FILE at LOG_LEVEL: lifecycle, transitions, ctx.log with task ids', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-demo-log-'));
    try {
      const file = join(dir, 'demo.log');
      const run = await runDemo({
        DEMO_DURATION_MS: '1500',
        LOG_LEVEL: 'debug',
        DEMO_LOG_FILE: file,
      });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toContain(`logs (debug and above) → ${file}`);
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const byMsg = (msg: string) => lines.filter((line) => line.msg === msg);
      // setup's ctx.log, from every thread of every runner (pino: 30 info, 20 debug).
      const loaded = byMsg('model loaded');
      expect(new Set(loaded.map((line) => line.runnerId))).toEqual(
        new Set(['llm-0', 'llm-1', 'llm-flaky']),
      );
      for (const line of loaded) {
        expect(line).toMatchObject({ level: 30, threadId: expect.any(Number) as unknown });
      }
      expect(byMsg('generated')[0]).toMatchObject({
        level: 20,
        taskId: expect.stringMatching(/^llm-/) as unknown,
      });
      expect(byMsg('runner ready').map((line) => line.runnerId)).toEqual(
        expect.arrayContaining(['llm-0', 'llm-1', 'llm-flaky']),
      );
      expect(byMsg('shutdown phase done').map((line) => line.phase)).toEqual([
        'signaling',
        'draining',
        'closing',
      ]);
      expect(byMsg('runner state').length).toBeGreaterThan(10);
      expect(byMsg('resource state').some((line) => line.resourceId === 'kv-cache')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--inspect serves the Stately inspector on loopback, prints its URL, opens no browser, and still exits 0 by itself', async () => {
    const run = await runDemo({ DEMO_DURATION_MS: '1500' }, { args: ['--inspect'] });
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/Stately inspector: open http:\/\/127\.0\.0\.1:\d+\//);
  }, 60_000);

  it('--dashboard serves the live dashboard on loopback, prints its URL, and still exits 0 by itself', async () => {
    const run = await runDemo({ DEMO_DURATION_MS: '1500' }, { args: ['--dashboard'] });
    expect(run.signal, run.stderr).toBeNull();
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/live dashboard: open http:\/\/127\.0\.0\.1:\d+\/dashboard\//);
  }, 60_000);

  it('shuts down gracefully on SIGINT (Ctrl-C) and exits 0', async () => {
    let sent = false;
    const run = await runDemo(
      { DEMO_DURATION_MS: '20000' },
      {
        onOutput: (stdout, child) => {
          // Interrupt once requests are flowing.
          if (!sent && /done [1-9]/.test(stdout)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      },
    );
    const output = run.stdout + run.stderr;

    expect(sent, output).toBe(true);
    expect(run.signal, output).toBeNull();
    expect(run.code, output).toBe(0);
    expect(run.stdout).toContain('reason "SIGINT"');
    expect(run.stdout).toContain('shutdown phase: draining');
    expect(run.stdout).toMatch(/leaked 0/);
    expect(lostCount(run.stdout)).toBe(0);
  });

  it('still finishes and reports when the flaky runner hits its restart limit', async () => {
    const run = await runDemo({
      DEMO_DURATION_MS: '2500',
      DEMO_CRASH_RATE: '1',
      DEMO_FLAKY_MAX_RESTARTS: '1',
    });
    const output = run.stdout + run.stderr;

    expect(run.code, output).toBe(0);
    expect(run.stdout).toContain('ERR_RESTART_LIMIT');
    expect(run.stdout).toMatch(/llm-flaky failed \(\d+ restarts\)/);
    expect(run.stdout).toMatch(/llm-0 stopped/);
    expect(run.stdout).toMatch(/leaked 0/);
    expect(lostCount(run.stdout)).toBe(0);
  });
});
