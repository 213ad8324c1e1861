import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ShutdownPhase } from '@troupe/core';

/** The troupe's shutdown phase, and its changes. */
export interface PhaseSource {
  readonly phase: ShutdownPhase;
  onPhase(listener: (phase: ShutdownPhase) => void): () => void;
}

/** Options of {@link drainHttpServer}. */
export interface DrainOptions {
  /**
   * How long `close()` waits for every open socket to have been told to
   * leave (a response with `Connection: close`) before the server stops
   * accepting and closes the idle ones.
   */
  readonly leaveGraceMs: number;
  /** Past this (from `close()`), connections still open are destroyed. */
  readonly forceAfterMs: number;
}

/**
 * Ties an `http.Server` to the troupe's shutdown so keep-alive clients
 * leave cleanly. From SIGNALING on every response carries `Connection:
 * close`: its socket closes after the response and the client reconnects
 * elsewhere, instead of being reset on a socket closed under it. The
 * server keeps answering (503 for work the runners no longer admit).
 * `close()` (the resource's, in CLOSING) first waits, up to `leaveGraceMs`,
 * until every open socket has been told so (closing the listener closes
 * idle keep-alive sockets too, under clients that may be sending on them),
 * then stops accepting, ends the idle sockets, resolves once every
 * connection is gone, and destroys what is left after `forceAfterMs`.
 * Returns that close.
 */
export function drainHttpServer(
  server: Server,
  phases: PhaseSource,
  options: DrainOptions,
): () => Promise<void> {
  const open = new Set<Socket>();
  const told = new WeakSet<Socket>();
  const changed = new Set<() => void>();
  const wake = (): void => {
    for (const listener of changed) listener();
  };
  const onConnection = (socket: Socket): void => {
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      wake();
    });
  };
  const onRequest = (
    req: { socket: Socket },
    res: { setHeader(name: string, value: string): void },
  ): void => {
    if (phases.phase === 'running') return;
    res.setHeader('connection', 'close');
    told.add(req.socket);
    wake();
  };
  server.on('connection', onConnection);
  server.prependListener('request', onRequest);
  let stopped: Promise<void> | null = null;
  /** Stops accepting; resolves once the last connection ended. */
  const stopAccepting = (): Promise<void> => {
    stopped ??= new Promise<void>((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => {
        resolve();
      });
    });
    return stopped;
  };
  const off = phases.onPhase((phase) => {
    if (phase === 'stopped') void stopAccepting();
  });
  /** Resolves once every open socket was told to leave, or after `ms`. */
  const allTold = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const check = (): void => {
        for (const socket of open) if (!told.has(socket)) return;
        finish();
      };
      const timer = setTimeout(finish, ms);
      timer.unref();
      function finish(): void {
        clearTimeout(timer);
        changed.delete(check);
        resolve();
      }
      changed.add(check);
      check();
    });
  let closing: Promise<void> | null = null;
  return () => {
    closing ??= (async () => {
      off();
      const started = Date.now();
      if (server.listening) await allTold(options.leaveGraceMs);
      const gone = stopAccepting();
      server.closeIdleConnections();
      const force = setTimeout(
        () => {
          server.closeAllConnections();
        },
        Math.max(0, options.forceAfterMs - (Date.now() - started)),
      );
      force.unref();
      try {
        await gone;
      } finally {
        clearTimeout(force);
        server.off('request', onRequest);
        server.off('connection', onConnection);
      }
    })();
    return closing;
  };
}
