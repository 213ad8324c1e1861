import { pino, type Logger } from 'pino';
import type { DemoConfig } from './readConfig.js';

/**
 * The demo's pino logger: JSON lines into `config.logFile` at
 * `config.logLevel` (the live dashboard owns the terminal). A file that
 * cannot be written is reported once on stderr; the demo goes on.
 */
export function openLog(config: Pick<DemoConfig, 'logLevel' | 'logFile'>): Logger {
  const destination = pino.destination({ dest: config.logFile, mkdir: true, sync: false });
  destination.once('error', (error: Error) => {
    process.stderr.write(`demo: cannot write the log ${config.logFile}: ${error.message}\n`);
  });
  return pino({ level: config.logLevel }, destination);
}
