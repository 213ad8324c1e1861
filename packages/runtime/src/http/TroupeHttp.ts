import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ShutdownPhase } from '@troupe/core';
import type { ResourceRegistry } from '../resources/types.js';
import {
  dashboardRoute,
  loadDashboard,
  type DashboardInstance,
  type DashboardOption,
} from './dashboardRoute.js';
import { probeHandler } from './probeHandler.js';

/** What the HTTP surface reads of its troupe. */
export interface TroupeHttpSource {
  readonly troupe: unknown;
  readonly nodeId: string;
  readonly phase: ShutdownPhase;
  readonly ready: boolean;
  readonly reason: string | null;
  readonly resources: Pick<ResourceRegistry, 'register'>;
  metrics(): Promise<{ contentType: string; text: string }>;
  reportError(error: unknown): void;
}

/** Options of `troupe.httpHandler()`. */
export interface HttpHandlerOptions {
  readonly prefix?: string;
  readonly dashboard?: DashboardOption;
}

/** Options of `troupe.listen()`. */
export interface ListenOptions {
  readonly port?: number;
  readonly host?: string;
  readonly id?: string;
  /** Also serve the dashboard at `<url>/dashboard/` (needs `@troupe/dashboard`). */
  readonly dashboard?: DashboardOption;
}

/**
 * A troupe's HTTP surface: the probes and metrics (`probeHandler`), the
 * dashboard when asked for (loaded on demand, created once, a resource the
 * shutdown closes), and `listen()`'s own server (a resource too).
 */
export class TroupeHttp {
  readonly #source: TroupeHttpSource;
  #dashboard: Promise<DashboardInstance> | null = null;

  constructor(source: TroupeHttpSource) {
    this.#source = source;
  }

  /** The `node:http` request listener. */
  handler(options: HttpHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
    return this.#listener(options).listener;
  }

  /** Serves the handler on a server of its own, registered as a resource. */
  async listen(
    options: ListenOptions = {},
  ): Promise<{ readonly url: string; close(): Promise<void> }> {
    const dashboard = options.dashboard ?? false;
    // A missing @troupe/dashboard rejects here, before anything listens.
    if (dashboard !== false) await this.#dashboardFor(dashboard);
    const http = this.#listener({ dashboard });
    const server = createServer(http.listener);
    http.attach(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    let closing: Promise<void> | null = null;
    const close = (): Promise<void> => {
      closing ??= new Promise<void>((resolve) => {
        if (dashboard === false) {
          server.close(() => {
            resolve();
          });
          server.closeAllConnections();
          return;
        }
        // The dashboard's pages (upgraded sockets, which the server still
        // counts) watch the shutdown to its end; the dashboard closes them
        // once the troupe stopped. Everything else is closed now.
        server.close();
        server.closeAllConnections();
        resolve();
      });
      return closing;
    };
    this.#source.resources.register({ id: options.id ?? 'http', close });
    return { url: `http://${host}:${address.port}`, close };
  }

  /** The request listener, and (with a dashboard) how a server's WebSocket upgrades reach it. */
  #listener(options: HttpHandlerOptions): {
    listener: (req: IncomingMessage, res: ServerResponse) => void;
    attach: (server: Server) => void;
  } {
    const probes = this.#probes(options.prefix);
    const dashboard = options.dashboard ?? false;
    if (dashboard === false) return { listener: probes, attach: () => {} };
    const route = dashboardRoute(
      (options.prefix ?? '').replace(/\/$/, ''),
      this.#dashboardFor(dashboard),
      (error) => {
        this.#source.reportError(error);
      },
    );
    return {
      listener: (req, res) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        if (!route.route(req, res, path)) probes(req, res);
      },
      attach: (server) => {
        route.attach(server);
      },
    };
  }

  /** The dashboard of this troupe, created once (a resource: the shutdown closes it). */
  #dashboardFor(option: DashboardOption): Promise<DashboardInstance> {
    this.#dashboard ??= loadDashboard(this.#source.troupe, option).then((dashboard) => {
      this.#source.resources.register({ id: 'dashboard', close: () => dashboard.close() });
      return dashboard;
    });
    return this.#dashboard;
  }

  #probes(prefix: string | undefined): (req: IncomingMessage, res: ServerResponse) => void {
    const source = this.#source;
    return probeHandler(
      {
        nodeId: source.nodeId,
        get phase() {
          return source.phase;
        },
        get ready() {
          return source.ready;
        },
        shutdownReason: () => source.reason,
        failure: () =>
          source.reason !== null && source.reason.startsWith('escalation') ? source.reason : null,
        metrics: () => source.metrics(),
      },
      prefix === undefined ? {} : { prefix },
    );
  }
}
