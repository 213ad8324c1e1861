import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Troupe } from '@troupe/runtime';
import { WebSocketServer, type WebSocket } from 'ws';
import { DashboardModel } from './DashboardModel.js';
import { DASHBOARD_PROTOCOL, type DashboardControl, type DashboardMessage } from './protocol.js';
import { servePage } from './servePage.js';

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /**
   * Let the page stop or restart a runner and start the shutdown. Off by
   * default; even when on, only clients on loopback get the controls.
   */
  readonly controls?: boolean;
}

/** A dashboard of one troupe, to mount in an HTTP server. */
export interface Dashboard {
  /**
   * Serves the page (`file` is the path below the dashboard's URL, `''`
   * for the page itself).
   */
  handle(req: IncomingMessage, res: ServerResponse, file: string): void;
  /** Takes a WebSocket upgrade of the dashboard's live URL (`<dashboard>/live`). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Pages connected now. */
  readonly clients: number;
  /** Inspection events the dashboard processed so far. */
  readonly events: number;
  /**
   * Stops taking pages; those connected stay until the troupe stopped and
   * got its report, then are closed (the troupe's shutdown calls this in
   * CLOSING). Resolves at once.
   */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** True for a request from this machine. */
export function fromLoopback(req: IncomingMessage): boolean {
  return LOOPBACK.has(req.socket.remoteAddress ?? '');
}

/**
 * A live dashboard of the whole troupe: the page (built, shipped with this
 * package, no internet needed) and its WebSocket. Each page first gets the
 * whole current state (`hello`: every statechart, every live actor, the
 * last five minutes of samples, the last errors, the shutdown so far), then
 * the changes. Read-only unless `controls` is on.
 *
 * Most users get it through the troupe: `troupe.listen({ dashboard: true })`
 * or `troupe.httpHandler({ dashboard: true })` serve it at `/dashboard/`.
 *
 * @example
 * ```ts
 * const { url } = await troupe.listen({ port: 9090, dashboard: true });
 * console.log(`dashboard: ${url}/dashboard/`);
 * ```
 */
export function createDashboard(troupe: Troupe, options: DashboardOptions = {}): Dashboard {
  const controls = options.controls === true;
  const sockets = new Map<WebSocket, { controls: boolean }>();
  const pages = new Map<string, Promise<Buffer | null>>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  let accepting = true;
  let finished = false;

  const send = (socket: WebSocket, message: DashboardMessage): void => {
    if (socket.readyState !== socket.OPEN) return;
    // A page that cannot keep up gets the whole state again on reconnect, not an ever-growing buffer.
    if (socket.bufferedAmount > 16 * 1024 * 1024) {
      socket.terminate();
      return;
    }
    socket.send(JSON.stringify(message));
  };
  const model = new DashboardModel(troupe, (message) => {
    for (const socket of sockets.keys()) send(socket, message);
  });

  const finish = (): void => {
    if (finished) return;
    finished = true;
    model.close();
    for (const socket of sockets.keys()) socket.close(1001, 'the troupe stopped');
    wss.close();
    // Sockets that do not answer the close handshake.
    const force = setTimeout(() => {
      for (const socket of sockets.keys()) socket.terminate();
    }, 1_000);
    force.unref();
  };
  const onPhase = ({ phase }: { phase: string }): void => {
    if (phase !== 'stopped') return;
    troupe.off('shutdown:phase', onPhase);
    void model.report().finally(finish);
  };
  troupe.on('shutdown:phase', onPhase);

  const control = async (message: DashboardControl): Promise<string> => {
    switch (message.type) {
      case 'stopRunner': {
        const runner = troupe.runner(message.runnerId);
        if (runner === undefined) throw new Error(`no runner "${message.runnerId}"`);
        await runner.stop();
        return `runner "${message.runnerId}" stopped`;
      }
      case 'restartRunner': {
        const runner = troupe.runner(message.runnerId);
        if (runner === undefined) throw new Error(`no runner "${message.runnerId}"`);
        await runner.restart();
        return `runner "${message.runnerId}" restarted`;
      }
      case 'shutdown':
        void troupe.shutdown({ reason: message.reason || 'dashboard' });
        return 'shutdown began';
    }
  };

  const onConnection = async (socket: WebSocket, req: IncomingMessage): Promise<void> => {
    const mayControl = controls && fromLoopback(req);
    sockets.set(socket, { controls: mayControl });
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0 && !finished) model.unwatch();
    });
    socket.on('error', () => {
      socket.terminate();
    });
    socket.on('message', (data: Buffer) => {
      let message: DashboardControl;
      try {
        message = JSON.parse(data.toString('utf8')) as DashboardControl;
      } catch {
        return;
      }
      const id = typeof message.id === 'number' ? message.id : 0;
      if (!mayControl) {
        send(socket, {
          type: 'controlResult',
          id,
          ok: false,
          message: 'controls are off (createDashboard({ controls: true }), loopback only)',
        });
        return;
      }
      control(message).then(
        (text) => send(socket, { type: 'controlResult', id, ok: true, message: text }),
        (error: unknown) =>
          send(socket, {
            type: 'controlResult',
            id,
            ok: false,
            message: error instanceof Error ? error.message : String(error),
          }),
      );
    });
    await model.watch();
    send(socket, {
      type: 'hello',
      protocol: DASHBOARD_PROTOCOL,
      machines: model.machines,
      controls: mayControl,
      state: model.state(),
    });
  };

  return {
    handle(req, res, file) {
      servePage(pages, file, res, req.method === 'HEAD');
    },
    upgrade(req, socket, head) {
      if (!accepting || finished) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        void onConnection(ws, req);
      });
    },
    get clients() {
      return sockets.size;
    },
    get events() {
      return model.events;
    },
    close() {
      accepting = false;
      // Closed by hand while the troupe runs: at once. By the shutdown: the
      // pages watch it to the end and get the report (at 'stopped').
      if (troupe.phase === 'running' || troupe.phase === 'stopped') finish();
      return Promise.resolve();
    },
  };
}
