import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built demo: tests run what `npm start` runs. */
export const DEMO_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
/** The built cluster demo: what `npm run demo:cluster` runs. */
export const CLUSTER_DEMO_MAIN = fileURLToPath(new URL('../dist/cluster/main.js', import.meta.url));

/** How a demo child process ended. */
export interface DemoRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs `node dist/main.js` (or `main`) with stdout piped (not a TTY, so
 * plain lines), the given environment additions, and a hard deadline
 * (SIGKILL past it). `onOutput` sees stdout as it grows (to send a signal
 * at the right time); `group` starts it in a process group of its own, as
 * a shell does (so a signal can go to the whole group, as a Ctrl-C does).
 */
export function runDemo(
  env: Record<string, string>,
  options: {
    readonly deadlineMs?: number;
    /** Command-line arguments (`npm start -- <args>`). */
    readonly args?: readonly string[];
    readonly onOutput?: (
      stdout: string,
      child: { readonly pid?: number | undefined; kill(signal: NodeJS.Signals): boolean },
    ) => void;
    /** The script to run. Default {@link DEMO_MAIN}. */
    readonly main?: string;
    readonly group?: boolean;
  } = {},
): Promise<DemoRun> {
  const main = options.main ?? DEMO_MAIN;
  if (!existsSync(main)) {
    return Promise.reject(
      new Error(`${main} is missing: build first (npx turbo run build --filter=@troupe/demo...)`),
    );
  }
  const started = performance.now();
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.DEMO_PLAIN;
  const child = spawn(process.execPath, [main, ...(options.args ?? [])], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group === true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    stdout += chunk;
    options.onOutput?.(stdout, child);
  });
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const deadline = setTimeout(() => {
    child.kill('SIGKILL');
  }, options.deadlineMs ?? 30_000);
  return new Promise<DemoRun>((resolve, reject) => {
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
