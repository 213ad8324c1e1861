// Fails the suite on any unhandled rejection or uncaught exception: Troupe
// promises that nobody awaited must never reject unobserved.
import { afterAll } from 'vitest';

const seen: unknown[] = [];
const onRejection = (reason: unknown): void => {
  seen.push(reason);
};
const onException = (error: unknown): void => {
  seen.push(error);
};
process.on('unhandledRejection', onRejection);
process.on('uncaughtException', onException);

afterAll(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  if (seen.length > 0) {
    throw new Error(
      `unhandled rejections/exceptions during this file: ${seen
        .map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)))
        .join('; ')}`,
    );
  }
});
