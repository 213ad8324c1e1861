/**
 * The logger Troupe writes to: pino-compatible (`logger.info(obj, msg)`).
 * Pass a pino instance, or anything with these methods. Default: silent.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const troupe = createTroupe({ logger: pino() });
 * ```
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => {};

/** A logger that drops everything: the default. */
export const silentLogger: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
});
