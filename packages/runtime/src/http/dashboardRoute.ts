import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidConfigError } from '@troupe/core';

/** `dashboard` of `troupe.listen()` and `troupe.httpHandler()`. */
export type DashboardOption = boolean | { readonly controls?: boolean };

/** What `@troupe/dashboard` gives (the runtime loads it only when asked for). */
export interface DashboardInstance {
  handle(req: IncomingMessage, res: ServerResponse, file: string): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  close(): Promise<void>;
}

interface DashboardModule {
  createDashboard(troupe: unknown, options: { controls?: boolean }): DashboardInstance;
}

/** The package's name, in a variable: the runtime does not depend on it. */
const PACKAGE = '@troupe/dashboard';

/**
 * Loads `@troupe/dashboard` and creates the troupe's dashboard. Rejects
 * with `ERR_INVALID_CONFIG` saying what to install when it is missing.
 */
export async function loadDashboard(
  troupe: unknown,
  option: DashboardOption,
): Promise<DashboardInstance> {
  let module: DashboardModule;
  try {
    module = (await import(PACKAGE)) as DashboardModule;
  } catch (error) {
    throw new InvalidConfigError(
      `dashboard: true needs the package ${PACKAGE} (npm install ${PACKAGE}); it could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, context: { field: 'dashboard', operation: 'listen' } },
    );
  }
  return module.createDashboard(troupe, {
    controls: typeof option === 'object' && option.controls === true,
  });
}

/**
 * Routes `<prefix>/dashboard…` to the dashboard: `/dashboard` redirects to
 * `/dashboard/` (the page's assets are relative), the rest are the page's
 * files; WebSocket upgrades of `<prefix>/dashboard/live` go to its socket.
 * `attach(server)` takes a server's upgrades; the route attaches to the
 * server of the first request it sees, so a handler mounted in any
 * `node:http` server needs nothing more. Returns false for other paths.
 */
export function dashboardRoute(
  prefix: string,
  dashboard: Promise<DashboardInstance>,
  onError: (error: unknown) => void,
): {
  route(req: IncomingMessage, res: ServerResponse, path: string): boolean;
  attach(server: Server): void;
} {
  const base = `${prefix}/dashboard`;
  const attached = new WeakSet<Server>();
  const attach = (server: Server): void => {
    if (attached.has(server)) return;
    attached.add(server);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== `${base}/live`) return;
      dashboard.then(
        (d) => {
          d.upgrade(req, socket, head);
        },
        (error: unknown) => {
          onError(error);
          socket.destroy();
        },
      );
    });
  };
  return {
    attach,
    route(req, res, path) {
      if (path !== base && !path.startsWith(`${base}/`)) return false;
      const server = (req.socket as { server?: unknown }).server;
      if (server !== undefined && typeof (server as Server).on === 'function') {
        attach(server as Server);
      }
      if (path === base) {
        res.writeHead(308, { location: `${base}/` });
        res.end();
        return true;
      }
      dashboard.then(
        (d) => {
          d.handle(req, res, decodeURIComponent(path.slice(base.length + 1)));
        },
        (error: unknown) => {
          onError(error);
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`${error instanceof Error ? error.message : String(error)}\n`);
        },
      );
      return true;
    },
  };
}
