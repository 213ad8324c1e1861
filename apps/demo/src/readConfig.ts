import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isatty } from 'node:tty';

/** Everything the demo can be tuned with (environment variables). */
export interface DemoConfig {
  /** How long to generate load before shutting down (`DEMO_DURATION_MS`, default 12 s). */
  readonly durationMs: number;
  /** Requests in flight at once (`DEMO_CONCURRENCY`, default 9). */
  readonly concurrency: number;
  /** Probability per task that a flaky thread dies (`DEMO_CRASH_RATE`, default 0.1). */
  readonly crashRate: number;
  /** Probability that a client hangs up mid-stream (`DEMO_CANCEL_RATE`, default 0.04). */
  readonly cancelRate: number;
  /** Restart intensity of the flaky runner (`DEMO_FLAKY_MAX_RESTARTS`, default 25 in 10 s). */
  readonly flakyMaxRestarts: number;
  readonly flakyWindowMs: number;
  /** Mean delay between two tokens (`DEMO_TOKEN_MS`, default 25). */
  readonly tokenMs: number;
  /** Redraw a live dashboard (a TTY), or print a plain line every second (`DEMO_PLAIN=1` forces it). */
  readonly live: boolean;
  /** The log's pino level (`LOG_LEVEL`, default `info`; `silent` writes none). */
  readonly logLevel: LogLevel;
  /** Where the log goes, as JSON lines (`DEMO_LOG_FILE`, default `<tmpdir>/troupe-demo.log`): the dashboard owns the terminal. */
  readonly logFile: string;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** A pino level, or `silent`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

const MAX_DURATION_MS = 50_000;

/** Reads the demo's settings from the environment; bad values fall back to defaults. */
export function readConfig(
  env: NodeJS.ProcessEnv = process.env,
  terminal: Terminal = currentTerminal(),
): DemoConfig {
  return {
    durationMs: Math.min(MAX_DURATION_MS, num(env.DEMO_DURATION_MS, 12_000, 100)),
    concurrency: Math.trunc(num(env.DEMO_CONCURRENCY, 9, 1)),
    crashRate: Math.min(1, num(env.DEMO_CRASH_RATE, 0.1, 0)),
    cancelRate: Math.min(1, num(env.DEMO_CANCEL_RATE, 0.04, 0)),
    flakyMaxRestarts: Math.trunc(num(env.DEMO_FLAKY_MAX_RESTARTS, 25, 0)),
    flakyWindowMs: 10_000,
    tokenMs: num(env.DEMO_TOKEN_MS, 25, 1),
    live:
      terminal.isTTY &&
      terminal.rows > 0 &&
      terminal.columns > 0 &&
      env.DEMO_PLAIN !== '1' &&
      env.CI === undefined,
    logLevel: LOG_LEVELS.find((level) => level === env.LOG_LEVEL?.trim().toLowerCase()) ?? 'info',
    logFile:
      env.DEMO_LOG_FILE === undefined || env.DEMO_LOG_FILE.trim() === ''
        ? join(tmpdir(), 'troupe-demo.log')
        : env.DEMO_LOG_FILE,
  };
}

/** What decides between the live dashboard and plain lines. */
export interface Terminal {
  readonly isTTY: boolean;
  readonly rows: number;
  readonly columns: number;
}

function currentTerminal(): Terminal {
  const isTTY = isatty(1);
  return {
    isTTY,
    rows: isTTY ? process.stdout.rows : 0,
    columns: isTTY ? process.stdout.columns : 0,
  };
}

function num(raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value >= min ? value : fallback;
}
