// The CI soak: runs the built dist/soak.js as a child process, about a
// minute at most, and checks it passed and exited on its own.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SOAK = fileURLToPath(new URL('../dist/soak.js', import.meta.url));
/** SIGKILL past this: a soak that does not exit on its own fails here. */
const DEADLINE_MS = 100_000;

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function runSoak(env: Record<string, string>): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [SOAK], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const deadline = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

describe('soak (CI version)', () => {
  it(
    'loses no task under injected faults, keeps RSS flat and exits on its own',
    async () => {
      expect(existsSync(SOAK), `${SOAK} is missing: build first`).toBe(true);
      const run = await runSoak({ SOAK_TASKS: '100000', SOAK_SECONDS: '30' });
      const output = `${run.stdout}\n${run.stderr}`;
      expect(run.signal, output).toBeNull();
      expect(run.code, output).toBe(0);
      expect(run.stdout).toMatch(/RESULT: PASS \(seed \d+, lost 0\)/);
      expect(run.stdout).toContain('[pass] no task lost');
      expect(run.stdout).toMatch(/\[pass\] RSS growth after warm-up < 20%: [\d.]+ → [\d.]+ MiB/);
      expect(run.stdout).toContain('[pass] no unhandled rejection or uncaught exception');
      expect(run.stdout).toMatch(/leaked 0/);
      // Every kind of fault was injected at least once.
      const faults = /faults injected: (.*);/.exec(run.stdout)?.[1] ?? '';
      for (const kind of ['exit', 'throw', 'hog', 'hang-plain', 'hang-defined', 'stall', 'fail']) {
        expect(faults, output).toMatch(new RegExp(`(^|, )${kind} [1-9]`));
      }
      expect(run.stderr).toBe('');
    },
    DEADLINE_MS + 10_000,
  );
});
