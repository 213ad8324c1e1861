import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A named pipe that blocks whoever opens it for reading, until released. */
export interface BlockingPipe {
  readonly path: string;
  /** Every reader, blocked now or later, gets end-of-file at once. */
  release(): void;
  /** Releases it and removes it. */
  remove(): void;
}

/**
 * Creates a {@link BlockingPipe} (POSIX `mkfifo`): a thread that opens it
 * synchronously (`TeardownMode.block` of `fixtures.controllable`) cannot
 * be terminated until it is released.
 *
 * @example
 * ```ts
 * const pipe = blockingPipe();
 * // ... workerData: { control, pipe: pipe.path }
 * pipe.remove();
 * ```
 */
export function blockingPipe(): BlockingPipe {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-pipe-'));
  const path = join(dir, 'pipe');
  const made = spawnSync('mkfifo', [path]);
  if (made.status !== 0) throw new Error(`mkfifo failed: ${String(made.stderr)}`);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    // Opened read-write, a FIFO wakes its blocked readers without blocking
    // here; readers that come later find a plain empty file in its place.
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
    rmSync(path);
    writeFileSync(path, '');
    closeSync(fd);
  };
  return {
    path,
    release,
    remove: () => {
      release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
