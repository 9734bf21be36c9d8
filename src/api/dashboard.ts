/**
 * Serves the web dashboard (built by Vite from web/ into dist/web) at `/`. The files are found
 * relative to this module, so it works from src/ (tsx) and from the compiled dist/src/.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { Api } from './server.js';

/** dist/web beside src/ (running from sources), or web/ beside dist/src/ (running compiled). */
export function dashboardDir(): string | undefined {
  const root = resolve(import.meta.dirname, '..', '..');
  const candidates = [join(root, 'dist', 'web'), ...(basename(root) === 'dist' ? [join(root, 'web')] : [])];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

export async function dashboardRoutes(app: Api, dir = dashboardDir()): Promise<void> {
  if (!dir) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) => {
      reply.code(503).type('text/plain; charset=utf-8');
      return 'The dashboard is not built. Run `npm run build` (or `npm run build:web`) and restart the service.\n';
    });
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    // Only the built files, no directory listings; the API owns every other path.
    wildcard: false,
    index: ['index.html'],
    schemaHide: true,
    setHeaders(res, path) {
      // File names under assets/ carry a content hash; index.html must be revalidated.
      res.header(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
