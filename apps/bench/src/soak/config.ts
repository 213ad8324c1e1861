// Soak settings from the environment.
import { randomSeed } from '@troupe/core';

export interface SoakConfig {
  /** Tasks to submit (SOAK_TASKS, default 100,000). */
  readonly tasks: number;
  /** Stop submitting after this long even if tasks remain (SOAK_SECONDS, default none). */
  readonly seconds: number | null;
  /** Seed of the fault injector (SOAK_SEED, default random). */
  readonly seed: number;
  /** Probability that a task is a fault (SOAK_FAULT_RATE, default 0.003). */
  readonly faultRate: number;
  /** Tasks kept in flight (SOAK_IN_FLIGHT, default 64). */
  readonly inFlight: number;
  /** Allowed RSS growth from warm-up to the end (SOAK_MAX_RSS_GROWTH, default 0.2). */
  readonly maxRssGrowth: number;
}

function num(name: string, fallback: number, valid: (n: number) => boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!valid(n)) throw new Error(`${name}: invalid value "${raw}"`);
  return n;
}

const positiveInt = (n: number): boolean => Number.isInteger(n) && n > 0;

export function readConfig(): SoakConfig {
  const seconds = num('SOAK_SECONDS', 0, (n) => Number.isFinite(n) && n >= 0);
  return {
    tasks: num('SOAK_TASKS', 100_000, positiveInt),
    seconds: seconds === 0 ? null : seconds,
    seed: num('SOAK_SEED', randomSeed(), (n) => Number.isInteger(n) && n >= 0) >>> 0,
    faultRate: num('SOAK_FAULT_RATE', 0.003, (n) => n >= 0 && n <= 1),
    inFlight: num('SOAK_IN_FLIGHT', 64, positiveInt),
    maxRssGrowth: num('SOAK_MAX_RSS_GROWTH', 0.2, (n) => n > 0),
  };
}
