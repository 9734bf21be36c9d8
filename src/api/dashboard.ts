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
  // The page and its scripts hold no data (that comes from the API with a key): public.
  const page = { config: { permission: 'public' as const }, schema: { hide: true } };
  if (!dir) {
    app.get('/', page, async (_request, reply) => {
      reply.code(503).type('text/plain; charset=utf-8');
      return 'The dashboard is not built. Run `npm run build` (or `npm run build:web`) and restart the service.\n';
    });
    return;
  }
  // Only the routes below serve files (each declares its access); the plugin registers none itself.
  await app.register(fastifyStatic, {
    root: dir,
    serve: false,
    setHeaders(res, path) {
      // File names under assets/ carry a content hash; index.html must be revalidated.
      res.header(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  app.get('/', page, (_request, reply) => reply.sendFile('index.html'));
  app.get('/index.html', page, (_request, reply) => reply.sendFile('index.html'));
  // `send` refuses paths that leave the root, so the wildcard cannot reach other files.
  app.get<{ Params: { '*': string } }>('/assets/*', page, (request, reply) =>
    reply.sendFile(`assets/${request.params['*']}`),
  );
}
