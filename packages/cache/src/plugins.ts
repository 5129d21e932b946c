import { performance } from 'node:perf_hooks';
import { currentLogger, recordTiming, roundMs } from '@taskoverflow/observability';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { DatasetVersion } from './dataset-version.js';
import { DATASET_VERSION_KEY } from './keys.js';
import { connectRedis } from './redis.js';
import { ResponseCache } from './response-cache.js';
import { VersionAcknowledgements } from './version-leases.js';
import type { CacheSettings } from './settings.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The service's one Redis connection (fail-fast, see connectRedis), shared by the cache and
     * the rate limiter; undefined when REDIS_URL is not set.
     */
    redis: Redis | undefined;
    /** Undefined when REDIS_URL is not set: todo-read then serves every read from PostgreSQL. */
    responseCache: ResponseCache | undefined;
    /** Makes every read replica's cached responses unreachable; never throws. */
    invalidateCachedReads: () => Promise<void>;
  }
}

/** `beforeDisconnect` runs on close while Redis is still connected. */
function connect(
  app: FastifyInstance,
  settings: CacheSettings,
  name: string,
  beforeDisconnect: () => Promise<void> | void,
): Redis | undefined {
  const redis =
    settings.redisUrl === undefined
      ? undefined
      : connectRedis(settings.redisUrl, { name, commandBackstopMs: settings.commandBackstopMs, log: app.log });
  app.decorate('redis', redis);
  if (redis) {
    app.addHook('onClose', async () => {
      await beforeDisconnect();
      redis.disconnect();
    });
    // 0 while the service runs without its cache (an outage, or a Redis down at start-up).
    app.stats?.addGauge('redis_connected', () => (redis.status === 'ready' ? 1 : 0));
  }
  return redis;
}

/** todo-read's response cache (`app.responseCache`). */
export const responseCachePlugin = fp(
  async function responseCachePlugin(app: FastifyInstance, settings: CacheSettings) {
    const redis = connect(app, settings, 'todo-read', () => cache?.close());
    if (!redis) app.log.warn('REDIS_URL is not set: todo-read runs uncached, every read queries PostgreSQL');
    const cache =
      redis &&
      new ResponseCache({
        redis,
        log: app.log,
        memoryMaxBytes: settings.memoryMaxBytes,
        versionLeaseMs: settings.versionLeaseMs,
      });
    app.decorate('responseCache', cache);
  },
  { fastify: '5.x', name: 'taskoverflow-response-cache' },
);

/** How often todo-write retries an invalidation Redis refused, until it goes through. */
const INVALIDATION_RETRY_MS = 1_000;

/**
 * todo-write's side: `app.invalidateCachedReads()` replaces the dataset version, which readers
 * check on every request, and waits until every replica holding a version lease has taken it
 * (or its lease has ended). Called after a write commits and before it answers. If Redis
 * refuses, the write still answers (it is committed; failing it would invite a duplicate
 * retry), and the invalidation is retried every second until it goes through, so readers
 * that can reach Redis serve stale data for at most that long — or CACHE_TTL_SECONDS.
 */
export const cacheInvalidationPlugin = fp(
  async function cacheInvalidationPlugin(app: FastifyInstance, settings: CacheSettings) {
    const redis = connect(app, settings, 'todo-write', () => acknowledgements.close());
    if (!redis) {
      app.log.warn('REDIS_URL is not set: todo-write does not invalidate a cache');
      app.decorate('invalidateCachedReads', async () => {});
      return;
    }
    const acknowledgements = new VersionAcknowledgements(redis, new DatasetVersion(redis));
    let retry: NodeJS.Timeout | undefined;

    const invalidate = async (): Promise<void> => {
      const started = performance.now();
      try {
        const { leases, lapsed } = await acknowledgements.replace();
        const durationMs = performance.now() - started;
        recordTiming('cache', durationMs);
        currentLogger(app.log).info(
          { cache: 'invalidate', key: DATASET_VERSION_KEY, leases, lapsed, duration_ms: roundMs(durationMs) },
          'cache',
        );
        if (lapsed > 0)
          app.log.warn(
            { leases, lapsed, duration_ms: roundMs(durationMs) },
            'cache invalidation waited for read replicas that did not acknowledge the new version until their leases ended (CACHE_VERSION_LEASE_MS)',
          );
        if (retry) {
          clearInterval(retry);
          retry = undefined;
          app.log.info('cache invalidation went through after a retry');
        }
      } catch (error) {
        if (retry) return;
        app.log.error(
          { err: error, retry_every_ms: INVALIDATION_RETRY_MS, ttl_s: settings.ttlSeconds },
          'cache invalidation failed: readers may serve stale data until a retry succeeds or entries expire',
        );
        retry = setInterval(() => void invalidate(), INVALIDATION_RETRY_MS);
        retry.unref();
      }
    };
    app.decorate('invalidateCachedReads', invalidate);
    // Redis back (after an outage, or for the first time after a start without it): a pending
    // invalidation goes at once, not at the retry's next tick, so readers that reconnect find
    // no entry older than a write that answered meanwhile for as short a time as possible.
    redis.on('ready', () => {
      if (retry) void invalidate();
    });
    app.addHook('onClose', async () => clearInterval(retry));
  },
  { fastify: '5.x', name: 'taskoverflow-cache-invalidation' },
);
