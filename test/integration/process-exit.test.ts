// After shutdown nothing Troupe created keeps the process alive: checked in
// a child process that simply returns from its main module.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: Record<string, unknown>[];
  stderr: string;
  exitedAt: number;
}

function runChild(
  script: string,
  onLine?: (line: Record<string, unknown>, kill: (s: NodeJS.Signals) => void) => void,
  env: Record<string, string> = {},
): Promise<ChildResult> {
  const child = spawn(process.execPath, [fileURLToPath(fixture(script))], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, newline)) as Record<string, unknown>;
      buffer = buffer.slice(newline + 1);
      lines.push(line);
      onLine?.(line, (s) => child.kill(s));
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal, lines, stderr, exitedAt: Date.now() });
    });
  });
}

describe('process exit', () => {
  it('exits on its own right after shutdown: no thread, port or timer left', async () => {
    const started = Date.now();
    const result = await runChild('exit-child');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const last = result.lines.at(-1);
    expect(last).toMatchObject({ leaked: 0, forced: false });
    // whole run: node start + threads + work + shutdown, far below any hang
    expect(result.exitedAt - started).toBeLessThan(10_000);
  });

  it('SIGTERM with `signals` drains the task in flight and exits 0 (not 143)', async () => {
    const result = await runChild('signal-child', (line, kill) => {
      if (line.running === true) kill('SIGTERM');
    });
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    // In flight when the signal came, finished before the shutdown did.
    expect(result.lines.filter((line) => !('running' in line))).toEqual([
      { phase: 'signaling', reason: 'SIGTERM' },
      { phase: 'draining', reason: 'SIGTERM' },
      { task: 400 },
      { phase: 'closing', reason: 'SIGTERM' },
      { phase: 'stopped', reason: 'SIGTERM' },
    ]);
  });

  describe('a second signal forces the shutdown; the exit code says so (signalExit)', () => {
    /** SIGTERM once the task runs, again once DRAINING began: the 60 s task must not be waited for. */
    const twice = (line: Record<string, unknown>, kill: (s: NodeJS.Signals) => void): void => {
      if (line.running === true) kill('SIGTERM');
      if (line.phase === 'draining') kill('SIGTERM');
    };

    it('default (exitCode): the drain is cut, the task aborted, exit code 1 by itself', async () => {
      const started = Date.now();
      const result = await runChild('force-child', twice);
      expect(result.stderr).toBe('');
      expect(result.signal).toBeNull();
      expect(result.code).toBe(1);
      expect(result.lines.filter((l) => 'phase' in l).map((l) => l.phase)).toEqual([
        'signaling',
        'draining',
        'closing',
        'stopped',
      ]);
      expect(result.lines).toContainEqual({ task: 'ERR_TASK_ABORTED' });
      expect(result.lines.at(-1)).toEqual({
        report: {
          forced: true,
          forceRequested: true,
          drained: { completed: 0, failed: 0, aborted: 1 },
          leaked: 0,
        },
      });
      // Far below the 30 s drain deadline and the 60 s task.
      expect(result.exitedAt - started).toBeLessThan(20_000);
    });

    it("signalExit: 'none' leaves the exit code alone: the process ends with 0 though forced", async () => {
      const result = await runChild('force-child', twice, { FORCE_CHILD_EXIT: 'none' });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.lines.at(-1)).toMatchObject({ report: { forced: true } });
    });

    it("signalExit: 'exit' ends a process something else keeps alive: 0 after a clean shutdown", async () => {
      const result = await runChild(
        'force-child',
        (line, kill) => {
          if (line.running === true) kill('SIGTERM');
        },
        { FORCE_CHILD_EXIT: 'exit', FORCE_CHILD_KEEPALIVE: '1', FORCE_CHILD_TASK_MS: '200' },
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.lines).toContainEqual({ task: 200 });
      expect(result.lines.at(-1)).toMatchObject({
        report: { forced: false, forceRequested: false, leaked: 0 },
      });
    });

    it("signalExit: 'exit' after a forced shutdown: exit code 1", async () => {
      const result = await runChild('force-child', twice, {
        FORCE_CHILD_EXIT: 'exit',
        FORCE_CHILD_KEEPALIVE: '1',
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(1);
    });
  });
});
