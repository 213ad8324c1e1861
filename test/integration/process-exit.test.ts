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
): Promise<ChildResult> {
  const child = spawn(process.execPath, [fileURLToPath(fixture(script))], {
    stdio: ['ignore', 'pipe', 'pipe'],
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
});
