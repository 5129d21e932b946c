import { requestContext } from '@fastify/request-context';
import type { FastifyBaseLogger } from 'fastify';

/** Time spent per dependency while serving one request, in milliseconds. */
export interface RequestTimings {
  db: number;
  cache: number;
  /** Whether a cache was consulted at all (Server-Timing names `cache` only then). */
  cacheUsed: boolean;
}

declare module '@fastify/request-context' {
  interface RequestContextData {
    log: FastifyBaseLogger;
    timings: RequestTimings;
  }
}

/**
 * The logger of the request being served (it carries request_id, method and url), or
 * `fallback` outside a request. Lets the database and cache layers log with the request's
 * correlation ID without it being passed down to them.
 */
export function currentLogger(fallback: FastifyBaseLogger): FastifyBaseLogger {
  return requestContext.get('log') ?? fallback;
}

/** Adds time spent in a dependency to the current request's Server-Timing; no-op outside one. */
export function recordTiming(dependency: 'db' | 'cache', durationMs: number): void {
  const timings = requestContext.get('timings');
  if (!timings) return;
  timings[dependency] += durationMs;
  if (dependency === 'cache') timings.cacheUsed = true;
}

/** Rounds a duration for logs and headers: microsecond precision is noise here. */
export function roundMs(durationMs: number): number {
  return Math.round(durationMs * 1000) / 1000;
}
