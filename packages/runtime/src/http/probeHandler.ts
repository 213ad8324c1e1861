import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ShutdownPhase } from '@troupe/core';

/** What the probe endpoints read from the troupe. */
export interface ProbeSource {
  readonly nodeId: string;
  readonly phase: ShutdownPhase;
  readonly ready: boolean;
  /** Why the troupe is shutting down, once it is. */
  shutdownReason(): string | null;
  /** Set when the troupe cannot recover (it shut itself down on an escalation). */
  failure(): string | null;
  /** Prometheus exposition text, when the troupe has metrics. */
  metrics?(): Promise<{ readonly contentType: string; readonly text: string }>;
}

function json(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(head ? undefined : text);
}

/**
 * The troupe's HTTP surface as a `node:http` request listener: `/livez`
 * (200 until the process exits, 503 once the troupe failed for good),
 * `/readyz` (200 while running, 503 from SIGNALING on), `/metrics`
 * (Prometheus text). Both probes answer JSON with the reason. Anything else
 * is 404; methods other than GET and HEAD are 405.
 */
export function probeHandler(
  source: ProbeSource,
  options: { readonly prefix?: string } = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const prefix = (options.prefix ?? '').replace(/\/$/, '');
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, { error: 'method not allowed' }, head);
      return;
    }
    const route = path.startsWith(prefix) ? path.slice(prefix.length) || '/' : null;
    const base = { nodeId: source.nodeId, phase: source.phase };
    switch (route) {
      case '/livez': {
        const failure = source.failure();
        if (failure !== null) json(res, 503, { ...base, status: 'failed', reason: failure }, head);
        else json(res, 200, { ...base, status: 'alive', reason: 'the process serves' }, head);
        return;
      }
      case '/readyz': {
        if (source.ready) {
          json(res, 200, { ...base, status: 'ready', reason: 'running' }, head);
        } else {
          json(
            res,
            503,
            {
              ...base,
              status: 'not ready',
              reason: `shutting down (${source.shutdownReason() ?? 'shutdown'})`,
            },
            head,
          );
        }
        return;
      }
      case '/metrics': {
        if (source.metrics === undefined) {
          json(res, 404, { error: 'this troupe has no metrics' }, head);
          return;
        }
        source.metrics().then(
          ({ contentType, text }) => {
            res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
            res.end(head ? undefined : text);
          },
          (error: unknown) => {
            json(res, 500, { error: `metrics failed: ${String(error)}` }, head);
          },
        );
        return;
      }
      case null:
      default:
        json(
          res,
          404,
          {
            error: `no such endpoint: ${path}`,
            endpoints: ['/livez', '/readyz', '/metrics'].map((e) => `${prefix}${e}`),
          },
          head,
        );
    }
  };
}
