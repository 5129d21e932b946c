import underPressure, { type FastifyUnderPressureOptions as UnderPressureOptions } from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

export interface LoadSheddingSettings {
  /** Shed while the event loop's mean delay exceeds this (ms); 0 turns the check off. */
  maxEventLoopDelayMs: number;
  /** Shed while event-loop utilisation (0–1, per sample) exceeds this; 0 turns the check off. */
  maxEventLoopUtilization: number;
  /** Shed when this many requests are already in progress; 0 turns the check off. */
  maxConcurrentRequests: number;
  /** What a shed request's Retry-After says (s). */
  retryAfterSeconds: number;
}

const OVERLOADED = { error: 'service overloaded, retry shortly' };

/**
 * Over capacity, answer 503 with Retry-After at once instead of queueing requests until they
 * time out (the original's failure mode: 60 s hangs). The health route is never shed: a busy
 * task is not a broken one, and failing its health check would make the ALB kill capacity
 * exactly when it is needed.
 */
export const loadSheddingPlugin = fp(
  async function loadSheddingPlugin(
    app: FastifyInstance,
    { settings, healthPath }: { settings: LoadSheddingSettings; healthPath: string },
  ) {
    if (settings.maxConcurrentRequests > 0) limitConcurrency(app, settings, healthPath);
    if (settings.maxEventLoopDelayMs === 0 && settings.maxEventLoopUtilization === 0) return;
    await app.register(underPressure, {
      maxEventLoopDelay: settings.maxEventLoopDelayMs,
      maxEventLoopUtilization: settings.maxEventLoopUtilization,
      eventLoopUtilizationMode: 'interval',
      sampleInterval: 250,
      // A nullish return lets the request through; any other value is sent as the reply
      // (documented under-pressure behaviour that its types do not express).
      pressureHandler: ((request: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
        if (request.url === healthPath) return undefined;
        request.log.warn({ pressure: type, value }, 'overloaded: shedding the request');
        reply.code(503).header('retry-after', String(settings.retryAfterSeconds));
        return OVERLOADED;
      }) as unknown as UnderPressureOptions['pressureHandler'],
    });
  },
  { fastify: '5.x', name: 'taskoverflow-load-shedding' },
);

/**
 * A cap on requests in progress: the request over it is answered 503 in the same tick, before
 * it costs anything. Event-loop sampling reacts only after the loop has already fallen behind;
 * the cap keeps the queue, and so the latency of the requests it admits, bounded.
 */
function limitConcurrency(app: FastifyInstance, settings: LoadSheddingSettings, healthPath: string): void {
  let inProgress = 0;
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === healthPath) return;
    if (inProgress >= settings.maxConcurrentRequests) {
      request.log.warn({ pressure: 'concurrentRequests', value: inProgress }, 'overloaded: shedding the request');
      return reply.code(503).header('retry-after', String(settings.retryAfterSeconds)).send(OVERLOADED);
    }
    inProgress += 1;
    // 'close' fires once whether the response finished or the client went away.
    reply.raw.once('close', () => {
      inProgress -= 1;
    });
  });
}
