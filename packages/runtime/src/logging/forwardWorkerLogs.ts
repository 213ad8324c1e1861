import { fromErrorData, isErrorData } from '@troupe/core';
import { LOG_LEVELS, type Logger, type LogLevel } from '../logger.js';

const LEVELS = new Set<unknown>(LOG_LEVELS);

/**
 * Writes a thread's `ctx.log` records to `logger` (the thread's child of its
 * runner's logger: `runnerId`, `threadId`), each with its task's `taskId`
 * when it has one, Errors rebuilt with their class. A malformed record or a
 * logger that throws is skipped: the channel carries on.
 */
export function forwardWorkerLogs(logger: Logger, runnerId: string, records: unknown): void {
  if (!Array.isArray(records)) return;
  for (const record of records as unknown[]) {
    if (!Array.isArray(record)) continue;
    const [level, seq, fields, msg, errorKeys] = record as unknown[];
    try {
      const obj: Record<string, unknown> =
        typeof fields === 'object' && fields !== null ? (fields as Record<string, unknown>) : {};
      if (Array.isArray(errorKeys)) {
        for (const key of errorKeys as unknown[]) {
          if (typeof key !== 'string') continue;
          const value = obj[key];
          if (isErrorData(value)) obj[key] = fromErrorData(value);
        }
      }
      const out = typeof seq === 'number' ? { taskId: `${runnerId}#${seq}`, ...obj } : obj;
      const name: LogLevel = LEVELS.has(level) ? (level as LogLevel) : 'info';
      if (typeof msg === 'string') logger[name](out, msg);
      else logger[name](out);
    } catch {
      // A logger that throws must not break the thread's channel.
    }
  }
}
