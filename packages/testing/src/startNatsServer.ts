// A real nats-server for tests, benches and demos: on loopback, a free port
// and a temporary JetStream store; restartable on the same port and store
// (a broker restart), and stopped with its store removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** The executable. Default: `nats-server` on `PATH`, else Debian's `/usr/sbin/nats-server`. */
  readonly binary?: string;
  /** Default: a free port. */
  readonly port?: number;
  /** How long to wait for `Server is ready`. Default 10 000 ms. */
  readonly readyTimeoutMs?: number;
}

/** A running nats-server with JetStream. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** SIGKILLs it and starts it again on the same port and store; resolves once it is ready. */
  restart(): Promise<void>;
  /** SIGKILLs it (the store is kept, for a `restart()`). */
  kill(): Promise<void>;
  /** Starts it again after a `kill()`. */
  start(): Promise<void>;
  /** Stops it (SIGTERM) and removes its store. */
  stop(): Promise<void>;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `nats-server` on PATH, else Debian's; throws with what to install when there is none. */
export function natsServerBinary(): string {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'nats-server'));
  const found = [...onPath, '/usr/sbin/nats-server'].find(executable);
  if (found === undefined) {
    throw new Error(
      'nats-server not found on PATH or at /usr/sbin/nats-server: install it (Debian: apt-get install -y nats-server; npm test does this when it can)',
    );
  }
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function launch(
  binary: string,
  port: number,
  store: string,
  readyTimeoutMs: number,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nats-server was not ready within ${readyTimeoutMs} ms:\n${log}`));
    }, readyTimeoutMs);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString('utf8');
      if (log.includes('Server is ready')) {
        clearTimeout(timer);
        child.stderr.off('data', onData);
        child.stderr.resume();
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${String(code)}) before it was ready:\n${log}`));
    };
    child.stderr.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a nats-server with JetStream on 127.0.0.1 (a free port, a
 * temporary store) and resolves once it is ready.
 *
 * @example
 * ```ts
 * const nats = await startNatsServer();
 * const cluster = await joinCluster(troupe, { servers: nats.url });
 * // …
 * await nats.stop();
 * ```
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = options.binary ?? natsServerBinary();
  const port = options.port ?? (await freePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  const store = mkdtempSync(join(tmpdir(), 'troupe-nats-'));
  let child: ChildProcess | null = await launch(binary, port, store, readyTimeoutMs);
  const kill = async (): Promise<void> => {
    if (child === null) return;
    const dying = child;
    child = null;
    dying.kill('SIGKILL');
    await exited(dying);
  };
  const start = async (): Promise<void> => {
    if (child !== null) return;
    child = await launch(binary, port, store, readyTimeoutMs);
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    start,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      if (child !== null) {
        const stopping = child;
        child = null;
        stopping.kill('SIGTERM');
        await exited(stopping);
      }
      rmSync(store, { recursive: true, force: true });
    },
  };
}
