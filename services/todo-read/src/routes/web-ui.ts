import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const publicDir = fileURLToPath(new URL('../../public/', import.meta.url));

/** The web UI's static files at `/`. */
export async function webUi(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: publicDir, prefix: '/', wildcard: false, index: ['index.html'] });
}
