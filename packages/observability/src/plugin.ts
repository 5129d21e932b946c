import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { recordError, RequestRecord, requestRecords, roundMs } from './context.js';
import type { RequestStats } from './stats.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request did in its dependencies (see RequestRecord); null before onRequest. */
    record: RequestRecord | null;
  }
  interface FastifyInstance {
    /** The `stats` lines' figures, for plugins that add a gauge to them; undefined when they are off. */
    stats: RequestStats | undefined;
  }
}

export interface ObservabilityOptions {
  /** The `stats` lines' counters (see fastifyLogging); undefined when they are off. */
  stats?: RequestStats | undefined;
}

/**
 * Per-request record (logger and dependency figures, via AsyncLocalStorage; a failed request's
 * error code and cause), the
 * `x-request-id` response header (the request's correlation ID), the `Server-Timing` header (`db` and `cache` time spent on this request, and `total`), the
 * periodic `stats` line, and the log lines still buffered written out when the app closes.
 */
export const observabilityPlugin = fp<ObservabilityOptions>(
  async function observabilityPlugin(app: FastifyInstance, { stats }) {
    app.decorateRequest('record', null);
    app.decorate('stats', stats);

    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      const record = new RequestRecord(request.log);
      request.record = record;
      requestRecords.run(record, done);
    });
    // A request with a body continues from the socket's 'end' event, outside the context
    // entered in onRequest: enter it again.
    app.addHook('preValidation', (request, _reply, done) => {
      if (request.record === null || requestRecords.getStore() === request.record) done();
      else requestRecords.run(request.record, done);
    });

    // Only requests answered with an error run it: the error's code and cause go on the
    // canonical line, so that a failed request's one line says why.
    app.addHook('onError', (request, _reply, error, done) => {
      if (request.record) recordError(request.record, error);
      done();
    });

    app.addHook('onSend', (request, reply, payload, done) => {
      reply.header('server-timing', serverTiming(request, reply.elapsedTime));
      done(null, payload);
    });

    if (stats) {
      app.addHook('onReady', (done) => {
        stats.start(app.log);
        done();
      });
    }
    app.addHook('onClose', (_instance, done) => {
      // The last interval's figures, then every line still buffered (LOG_FILE).
      stats?.stop();
      // A pino logger (fastifyLogging's) has flush; Fastify types app.log as its base logger.
      const log = app.log as Partial<Logger>;
      if (log.flush) log.flush(() => done());
      else done();
    });
  },
  { fastify: '5.x', name: 'taskoverflow-observability' },
);

function serverTiming(request: FastifyRequest, totalMs: number): string {
  const record = request.record;
  const db = `db;dur=${roundMs(record?.dbMs ?? 0)}, `;
  const cache = record?.cacheMs === undefined ? '' : `cache;dur=${roundMs(record.cacheMs)}, `;
  return `${db}${cache}total;dur=${roundMs(totalMs)}`;
}
