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
