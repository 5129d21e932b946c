import { performance } from 'node:perf_hooks';
import { currentLogger, recordTiming, roundMs } from '@taskoverflow/observability';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { decodeResponse, encodeResponse, type CachedResponse } from './cached-response.js';
import { DatasetVersion } from './dataset-version.js';
import { entryKey } from './keys.js';

export interface ResponseCacheOptions {
  redis: Redis;
  log: FastifyBaseLogger;
  /** Bytes of responses kept in this process (the first tier). */
  memoryMaxBytes: number;
  /** After a Redis failure, skip the cache for this long before trying again. */
  outageBackoffMs?: number;
}

/** What one lookup found, as logged: `stale` is an in-process entry from an older version. */
export type CacheOutcome = 'hit' | 'miss' | 'stale' | 'error';

interface MemoryEntry {
  version: string;
  response: CachedResponse;
  expiresAt: number;
}

const DEFAULT_OUTAGE_BACKOFF_MS = 1_000;

/**
 * Two-tier cache of serialized responses for todo-read: this process's memory, then Redis,
 * then the loader (PostgreSQL). Every lookup first learns the current dataset version (one
 * Redis read per event-loop turn), so no tier can answer with data older than a write that
 * has already answered. Concurrent misses of one key in one process share one load. When
 * Redis fails, lookups go straight to the loader, and Redis is tried again after a short
 * back-off; reads never fail because of the cache.
 */
export class ResponseCache {
  private readonly version: DatasetVersion;
  private readonly memory: LRUCache<string, MemoryEntry>;
  private readonly loads = new Map<string, Promise<CachedResponse>>();
  private readonly outageBackoffMs: number;
  private unavailableUntil = 0;
  private unavailable = false;

  constructor(private readonly options: ResponseCacheOptions) {
    this.version = new DatasetVersion(options.redis);
    this.outageBackoffMs = options.outageBackoffMs ?? DEFAULT_OUTAGE_BACKOFF_MS;
    this.memory = new LRUCache<string, MemoryEntry>({
      maxSize: options.memoryMaxBytes,
      sizeCalculation: (entry) => entry.response.body.length + entry.response.etag.length + 64,
    });
  }

  /**
   * The response for `key`, from a tier that is current, or from `load`. `ttlSeconds` bounds
   * how long an entry may serve even if an invalidation was lost (and how long a result that
   * depends on the clock, like a deadline window, stays).
   */
  async get(key: string, ttlSeconds: number, load: () => Promise<CachedResponse>): Promise<CachedResponse> {
    const started = performance.now();
    if (performance.now() < this.unavailableUntil) return this.bypass(key, started, load);
    let version: string;
    try {
      version = await this.version.current();
    } catch (error) {
      this.markUnavailable(error);
      return this.bypass(key, started, load);
    }
    this.markAvailable();

    const local = this.memory.get(key);
    if (local && local.version === version && local.expiresAt > Date.now()) {
      this.logLookup(key, 'hit', 'memory', started);
      return local.response;
    }
    const loadKey = `${version}:${key}`;
    let shared = this.loads.get(loadKey);
    if (!shared) {
      shared = this.fill(version, key, ttlSeconds, load, local ? 'stale' : 'miss', started).finally(() =>
        this.loads.delete(loadKey),
      );
      this.loads.set(loadKey, shared);
    } else {
      this.logLookup(key, local ? 'stale' : 'miss', 'shared-load', started);
    }
    return shared;
  }

  /** The Redis tier, then the loader; stores what it loaded in both tiers. */
  private async fill(
    version: string,
    key: string,
    ttlSeconds: number,
    load: () => Promise<CachedResponse>,
    outcome: CacheOutcome,
    started: number,
  ): Promise<CachedResponse> {
    const redisKey = entryKey(version, key);
    let stored: CachedResponse | undefined;
    try {
      const value = await this.options.redis.getBuffer(redisKey);
      stored = value ? decodeResponse(value) : undefined;
    } catch (error) {
      this.markUnavailable(error);
    }
    const expiresAt = Date.now() + ttlSeconds * 1000;
    if (stored) {
      this.logLookup(key, 'hit', 'redis', started);
      this.memory.set(key, { version, response: stored, expiresAt });
      return stored;
    }
    this.logLookup(key, outcome, 'none', started);
    const response = await load();
    this.memory.set(key, { version, response, expiresAt });
    this.options.redis.set(redisKey, encodeResponse(response), 'EX', ttlSeconds).catch((error: unknown) => {
      this.markUnavailable(error);
    });
    return response;
  }

  /** Redis is out: answer from the loader, which is always current. */
  private bypass(key: string, started: number, load: () => Promise<CachedResponse>): Promise<CachedResponse> {
    this.logLookup(key, 'error', 'none', started);
    return load();
  }

  private logLookup(key: string, outcome: CacheOutcome, tier: string, started: number): void {
    const durationMs = performance.now() - started;
    recordTiming('cache', durationMs);
    currentLogger(this.options.log).info({ cache: outcome, tier, key, duration_ms: roundMs(durationMs) }, 'cache');
  }

  private markUnavailable(error: unknown): void {
    this.unavailableUntil = performance.now() + this.outageBackoffMs;
    if (this.unavailable) return;
    this.unavailable = true;
    this.options.log.warn(
      { err: error, retry_in_ms: this.outageBackoffMs },
      'cache unavailable: serving reads from PostgreSQL until Redis answers again',
    );
  }

  private markAvailable(): void {
    if (!this.unavailable) return;
    this.unavailable = false;
    this.options.log.info('cache available again');
  }
}
