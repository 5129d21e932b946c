import { redactPassword } from '@taskoverflow/config';
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { RedisRejectedError } from './errors.js';

/** How long a starting service waits for Redis to accept it before it starts uncached. */
export const REDIS_STARTUP_TIMEOUT_MS = 3_000;

/** What a starting service found at REDIS_URL. */
export type RedisAtStartup = { available: true } | { available: false; reason: string };

/**
 * Redis's refusals of a client, by the error code its reply starts with (ioredis's ReplyError
 * carries no `code` property): a wrong or missing AUTH token, or a user without the permission.
 */
const REJECTED_REPLY = /^(WRONGPASS|NOAUTH|NOPERM)\b/;
/** Node's and OpenSSL's codes for a TLS connection that failed: the protocol, or a certificate. */
const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED|UNABLE_TO_/;

/**
 * Connects to the Redis at `url` once (TLS and AUTH included) and pings it, before the service
 * builds and listens, and tells apart what a restart can fix from what it cannot:
 * - Redis rejects the service (AUTH, TLS): a RedisRejectedError, and the service exits with
 *   one line, so a wrong token or certificate fails the deploy.
 * - Redis does not answer (refused, timed out, a name that does not resolve yet, a connection
 *   closed): `{ available: false }`. A cache node being replaced, or not up yet, must not make
 *   new tasks crash-loop; the service starts uncached and says so, and its own client keeps
 *   reconnecting. (A `rediss://` URL to a server without TLS looks like this too: it times out.)
 */
export async function checkRedisConnection(url: string, timeoutMs = REDIS_STARTUP_TIMEOUT_MS): Promise<RedisAtStartup> {
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
    return { available: true };
  } catch (error) {
    const failure = lastError ?? (error as Error);
    const code = (failure as { code?: unknown }).code;
    // Redis ends its messages with a period; the line goes on after the reason.
    const reason = failure.message.replace(/\.$/, '') || String(code);
    if (REJECTED_REPLY.test(reason) || (typeof code === 'string' && TLS_FAILURE.test(code))) {
      throw new RedisRejectedError(redactPassword(url), reason);
    }
    return { available: false, reason };
  } finally {
    redis.disconnect();
  }
}

/**
 * The line a service logs (warn) when it starts without the Redis at `url`: the reason, and
 * what it does `meanwhile`. It also shows in every `stats` line as `redis_connected: 0`.
 */
export function warnRedisUnavailable(
  log: Pick<FastifyBaseLogger, 'warn'>,
  url: string,
  reason: string,
  meanwhile: string,
): void {
  log.warn(
    { redis: redactPassword(url), reason },
    `Redis unavailable at start-up (${reason}): ${meanwhile} until it answers; the client keeps reconnecting`,
  );
}
