import fastifyRateLimit from '@fastify/rate-limit';
import type { ServiceName } from '@taskoverflow/routing';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { RateLimitedError } from './errors.js';

export interface RateLimitSettings {
  /** Requests one client (IP address) may make per window; 0 turns rate limiting off. */
  maxRequests: number;
  windowSeconds: number;
}

export interface RateLimitOptions {
  settings: RateLimitSettings;
  service: ServiceName;
  /** Where the counters live, so that the limit holds across all replicas; undefined: per replica. */
  redis: Redis | undefined;
}

/**
 * Optional per-client rate limit (429 with Retry-After) for the routes registered after it.
 * Clients are told apart by `request.ip`, which behind the load balancer is the address it
 * put last in X-Forwarded-For (TRUST_PROXY_HOPS). Counters are kept in Redis, one budget per
 * service across its replicas; if Redis fails, requests are let through rather than refused:
 * the limiter protects the service, it must not become the outage.
 */
export const rateLimitPlugin = fp(
  async function rateLimitPlugin(app: FastifyInstance, { settings, service, redis }: RateLimitOptions) {
    if (settings.maxRequests === 0) return;
    const window = `${settings.windowSeconds} s`;
    app.log.info(
      { rate_limit: settings.maxRequests, window_s: settings.windowSeconds, store: redis ? 'redis' : 'memory' },
      `rate limit: ${settings.maxRequests} requests per client per ${window}` +
        (redis ? ' across all replicas' : ' per replica (REDIS_URL is not set)'),
    );
    await app.register(fastifyRateLimit, {
      max: settings.maxRequests,
      timeWindow: settings.windowSeconds * 1_000,
      ...(redis && { redis, nameSpace: `taskoverflow:rate-limit:${service}:` }),
      skipOnError: true,
      // No log line of its own: under a flood that would double the logging, and each 429
      // already has its "request finished" line with the status.
      errorResponseBuilder: (_request, context) => new RateLimitedError(context.max, window, context.after),
    });
  },
  { fastify: '5.x', name: 'taskoverflow-rate-limit' },
);
