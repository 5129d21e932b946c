import { redactPassword } from '@taskoverflow/config';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';

/**
 * A Redis client that fails fast instead of queueing: while Redis is disconnected, commands
 * reject at once, and a command Redis leaves unanswered rejects after `commandBackstopMs`, so
 * callers fall back to PostgreSQL; the client keeps reconnecting in the background so the
 * cache comes back by itself.
 */
export function connectRedis(
  url: string,
  { name, commandBackstopMs, log }: { name: string; commandBackstopMs: number; log: FastifyBaseLogger },
): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // ioredis checks this with a timer, and timers run before the poll phase that reads the
    // reply: after an event-loop stall longer than this, a reply already waiting in the socket
    // counts as timed out. Hence a generous backstop, far above the shedding threshold.
    commandTimeout: commandBackstopMs,
    connectTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    // Commands issued in one event-loop turn go out in one write.
    enableAutoPipelining: true,
  });
  let connected = false;
  redis.on('ready', () => {
    connected = true;
    log.info({ redis: redactPassword(url) }, 'redis connected');
  });
  // Connection errors repeat on every reconnect attempt; the cache and the invalidator log
  // what an outage means for requests, once. Without a listener ioredis prints each one.
  redis.on('error', (error: Error) => log.debug({ err: error }, 'redis error'));
  // ioredis emits 'reconnecting' after a close it did not ask for, and 'end' instead after a
  // requested quit() or disconnect(): our own shutdown is no outage.
  redis.on('reconnecting', () => {
    if (!connected) return;
    connected = false;
    log.warn({ redis: redactPassword(url) }, 'redis connection lost; reconnecting');
  });
  return redis;
}
