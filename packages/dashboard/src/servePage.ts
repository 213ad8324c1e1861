import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the built page is: `dist/page`, next to this module once built. */
export const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.ico': 'image/x-icon',
};

/**
 * Serves one file of the built page (`''` is `index.html`); 404 for
 * anything outside it. The files are read once and kept.
 */
export function servePage(
  cache: Map<string, Promise<Buffer | null>>,
  file: string,
  res: ServerResponse,
  head: boolean,
): void {
  const relative = normalize(file === '' ? 'index.html' : file);
  if (relative.startsWith('..') || relative.includes(`${sep}..`) || relative.startsWith(sep)) {
    notFound(res);
    return;
  }
  let content = cache.get(relative);
  if (content === undefined) {
    content = readFile(`${PAGE_DIR}${relative}`).catch(() => null);
    cache.set(relative, content);
  }
  content.then(
    (body) => {
      if (body === null) {
        notFound(res);
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(relative)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': relative === 'index.html' ? 'no-store' : 'max-age=3600',
      });
      res.end(head ? undefined : body);
    },
    () => notFound(res),
  );
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}
