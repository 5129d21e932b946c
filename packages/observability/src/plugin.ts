import { fastifyRequestContext } from '@fastify/request-context';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { roundMs } from './context.js';

/**
 * Per-request context (logger and dependency timings, via AsyncLocalStorage) and the
 * `Server-Timing` header: `db` and `cache` time spent on this request, and `total`.
 */
export const observabilityPlugin = fp(
  async function observabilityPlugin(app: FastifyInstance) {
    await app.register(fastifyRequestContext);

    app.addHook('onRequest', async (request) => {
      request.requestContext.set('log', request.log);
      request.requestContext.set('timings', { db: 0, cache: 0, cacheUsed: false });
    });

    app.addHook('onSend', async (request, reply, payload) => {
      const timings = request.requestContext.get('timings');
      if (timings) {
        const parts = [`db;dur=${roundMs(timings.db)}`];
        if (timings.cacheUsed) parts.push(`cache;dur=${roundMs(timings.cache)}`);
        parts.push(`total;dur=${roundMs(reply.elapsedTime)}`);
        reply.header('server-timing', parts.join(', '));
      }
      return payload;
    });
  },
  { fastify: '5.x', name: 'taskoverflow-observability' },
);
