import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInspector } from '@statelyai/inspect';
import type { Troupe } from '@troupe/runtime';
import { WebSocketServer, type WebSocket } from 'ws';
import { bridgePage } from './bridgePage.js';

/** Options of {@link serveInspector}. */
export interface ServeInspectorOptions {
  /** Port of the relay (0: any free one). Default 0. */
  readonly port?: number;
  /** Interface to listen on. Default '127.0.0.1' (loopback only). */
  readonly host?: string;
  /** The inspector UI the page frames. Default 'https://stately.ai/inspect'. */
  readonly inspectorUrl?: string;
  /**
   * How deep definitions and snapshots are serialized. Default 64:
   * @statelyai/inspect's own default (10) truncates Troupe's nested machines.
   */
  readonly serializationDepthLimit?: number;
  /** Resource id under which the troupe's shutdown closes the relay. Default 'inspector'. */
  readonly resourceId?: string;
}

/** A running relay. */
export interface InspectorServer {
  /** Open this in a browser: the Stately inspector, fed live. */
  readonly url: string;
  /** Where inspector clients connect (`createWebSocketReceiver({ server })` too). */
  readonly wsUrl: string;
  /** Clients connected now. */
  readonly clients: number;
  /** Closes every client and the server (the troupe's shutdown does this too). */
  close(): Promise<void>;
}

/**
 * Connects a troupe to the Stately inspector the way that loses nothing: a
 * relay on loopback serves a page that frames the inspector, and every
 * client that connects (the page, or any WebSocket receiver) gets its own
 * `troupe.inspect()` subscription: first every live actor with its machine's
 * definition and current state, then the live stream. The relay is a
 * resource of the troupe, closed by its shutdown, so the process exits by
 * itself. It never opens a browser.
 *
 * @example
 * ```ts
 * const inspector = await serveInspector(troupe);
 * console.log(`inspector: open ${inspector.url}`);
 * ```
 */
export async function serveInspector(
  troupe: Troupe,
  options: ServeInspectorOptions = {},
): Promise<InspectorServer> {
  const host = options.host ?? '127.0.0.1';
  const inspectorUrl = options.inspectorUrl ?? 'https://stately.ai/inspect';
  const depth = options.serializationDepthLimit ?? 64;
  const sockets = new Set<WebSocket>();
  let wsUrl = '';
  const http: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(bridgePage(wsUrl, inspectorUrl));
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  // Attached once listening: a failed listen rejects above, with nothing to close.
  const wss = new WebSocketServer({ server: http });
  wss.on('error', () => {});
  wss.on('connection', (socket) => {
    sockets.add(socket);
    const inspector = createInspector(
      {
        send: (event: unknown) => {
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(event));
        },
        start: () => {},
        stop: () => {},
      },
      { serializationDepthLimit: depth },
    );
    // Its own subscription: the current state first, whatever it missed.
    const unsubscribe = troupe.inspect(inspector.inspect);
    socket.on('close', () => {
      unsubscribe();
      sockets.delete(socket);
    });
    socket.on('error', () => {
      socket.terminate();
    });
  });
  const address = http.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  wsUrl = `ws://${shown}:${address.port}`;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.terminate();
      wss.close();
      http.close(() => {
        resolve();
      });
      http.closeAllConnections();
    });
    return closing;
  };
  troupe.resources.register({ id: options.resourceId ?? 'inspector', close });
  return {
    url: `http://${shown}:${address.port}/`,
    wsUrl,
    get clients() {
      return sockets.size;
    },
    close,
  };
}
