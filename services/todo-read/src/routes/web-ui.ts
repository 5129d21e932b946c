import { join } from 'node:path';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import { builtWebUiDir } from '@taskoverflow/web-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The web UI, as packages/web-ui builds it: the page at `/` and its files under `/assets/`
 * (the paths the routing table sends here). Startup fails, naming the build command, when the
 * UI has not been built.
 *
 * Registered as an encapsulated plugin, so the security headers below are sent with the UI's
 * responses only, not with the JSON API's.
 */
export async function webUi(app: FastifyInstance): Promise<void> {
  const distDir = builtWebUiDir();

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      // Everything the page loads is its own: one script and one stylesheet from /assets/, and
      // the API on the same origin; no inline script or style.
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    xFrameOptions: { action: 'deny' },
    // TLS, and so HSTS, is the load balancer's to decide; the stack serves plain HTTP.
    strictTransportSecurity: false,
  });

  // Vite puts a content hash in every asset's name: a changed file gets a new URL, so browsers
  // may keep each one for a year without asking again.
  await app.register(fastifyStatic, {
    root: join(distDir, 'assets'),
    prefix: '/assets/',
    wildcard: false,
    index: false,
    maxAge: '365d',
    immutable: true,
  });

  // The page names the current assets, so browsers must revalidate it on every load (a 304
  // when unchanged, by its ETag).
  app.get('/', (_request, reply) =>
    reply.header('cache-control', 'no-cache').sendFile('index.html', distDir, { cacheControl: false }),
  );
}
