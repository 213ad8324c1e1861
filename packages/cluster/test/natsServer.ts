// A real nats-server (Debian's, installed by npm test when missing) on
// loopback, a free port and a temporary JetStream store; restartable on the
// same port and store (a broker restart).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER = '/usr/sbin/nats-server';

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

export interface NatsServer {
  readonly url: string;
  /** SIGKILLs it and starts it again on the same port and store; resolves once it is ready. */
  restart(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

function start(port: number, store: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString('utf8');
      if (log.includes('Server is ready')) {
        child.stderr.off('data', onData);
        child.stderr.resume();
        resolve(child);
      }
    };
    child.stderr.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(new Error(`nats-server exited (${String(code)}) before it was ready:\n${log}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a nats-server with JetStream on 127.0.0.1. */
export async function startNatsServer(): Promise<NatsServer> {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'troupe-nats-'));
  let child = await start(port, store);
  const kill = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited(child);
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      child = await start(port, store);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
      rmSync(store, { recursive: true, force: true });
    },
  };
}
