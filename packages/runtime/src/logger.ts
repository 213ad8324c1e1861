/** The log levels, lowest first: pino's. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Every {@link LogLevel}, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze([
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
]);

/** One level of a logger: a record's fields, then its message (pino's order). */
export type LogFn = (obj: object, msg?: string) => void;

/**
 * The logger Troupe writes to: pino's shape. A pino instance is one as it
 * is; `child(bindings)` gives each actor a logger carrying its ids
 * (`nodeId`, `runnerId`, `threadId`, `resourceId`...). `isLevelEnabled`
 * is optional: with it, Troupe does no work for levels that are off.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const troupe = createTroupe({ logger: pino({ level: 'debug' }) });
 * ```
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled?(level: LogLevel): boolean;
}

/**
 * What `createTroupe({ logger })` accepts: a {@link Logger} (pino), or any
 * object with at least `debug`, `info`, `warn` and `error`. A missing
 * `trace` writes at `debug`, a missing `fatal` at `error`, and without
 * `child` the bindings are merged into each record's fields.
 */
export interface LoggerLike {
  trace?: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal?: LogFn;
  child?(bindings: Record<string, unknown>): LoggerLike;
  isLevelEnabled?(level: LogLevel): boolean;
}

const noop = (): void => {};

/** A logger that drops everything: the default. */
export const silentLogger: Logger = Object.freeze({
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  fatal: noop,
  child: () => silentLogger,
  isLevelEnabled: () => false,
});

/** The level a missing one writes at. */
const NEAREST: Readonly<Record<LogLevel, readonly LogLevel[]>> = {
  trace: ['trace', 'debug'],
  debug: ['debug'],
  info: ['info'],
  warn: ['warn'],
  error: ['error'],
  fatal: ['fatal', 'error'],
};

function isFull(logger: LoggerLike): logger is Logger {
  return (
    LOG_LEVELS.every((level) => typeof logger[level] === 'function') &&
    typeof logger.child === 'function'
  );
}

/**
 * The {@link Logger} for what the user gave: a full one (pino) as it is, a
 * partial one wrapped (missing levels write at the nearest, missing `child`
 * merges the bindings into each record's fields).
 */
export function toLogger(logger: LoggerLike): Logger {
  return isFull(logger) ? logger : wrap(logger, null);
}

function wrap(base: LoggerLike, bindings: Readonly<Record<string, unknown>> | null): Logger {
  const at = (level: LogLevel): LogFn => {
    const name = NEAREST[level].find((l) => typeof base[l] === 'function') ?? 'error';
    const fn = (base[name] as LogFn).bind(base);
    if (bindings === null) return fn;
    return (obj, msg) => {
      fn({ ...bindings, ...obj }, msg);
    };
  };
  const logger: Logger = {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (more) =>
      typeof base.child === 'function'
        ? toLogger(base.child(more))
        : wrap(base, { ...bindings, ...more }),
  };
  if (typeof base.isLevelEnabled === 'function') {
    logger.isLevelEnabled = base.isLevelEnabled.bind(base);
  }
  return logger;
}

/** Whether `logger` writes at `level` (true when it cannot tell). Never throws. */
export function isLevelEnabled(logger: Logger, level: LogLevel): boolean {
  if (logger === silentLogger) return false;
  try {
    return logger.isLevelEnabled?.(level) ?? true;
  } catch {
    return true;
  }
}

/** The lowest level `logger` writes at, or `'silent'` when it writes nothing. */
export function lowestLevel(logger: Logger): LogLevel | 'silent' {
  return LOG_LEVELS.find((level) => isLevelEnabled(logger, level)) ?? 'silent';
}
