import { redactPassword } from '@taskoverflow/config';
import { Redis } from 'ioredis';
import { RedisUnreachableError } from './errors.js';

/** How long a starting service waits for Redis to accept it. */
export const REDIS_STARTUP_TIMEOUT_MS = 5_000;

/**
 * Connects to the Redis at `url` once (TLS and AUTH included) and pings it, before the service
 * builds and listens. A configured cache that is unreachable at start is far more often a
 * mistake (URL, token, security group) than an outage, and a task that starts without it
 * would hide the mistake behind cache misses. (Running tasks keep serving through an outage.)
 */
export async function checkRedisConnection(url: string, timeoutMs = REDIS_STARTUP_TIMEOUT_MS): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new RedisUnreachableError(redactPassword(url), (lastError ?? (error as Error)).message);
  } finally {
    redis.disconnect();
  }
}
