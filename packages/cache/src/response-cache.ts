import { performance } from 'node:perf_hooks';
import { recordCacheLookup, type CacheOutcome, type CacheTier } from '@taskoverflow/observability';
import type { FastifyBaseLogger } from 'fastify';
import { ReplyError, type Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { decodeResponse, encodeResponse, type CachedResponse } from './cached-response.js';
import { DatasetVersion } from './dataset-version.js';
import { entryKey } from './keys.js';
import { VersionLease } from './version-leases.js';

export interface ResponseCacheOptions {
  redis: Redis;
  log: FastifyBaseLogger;
  /** Bytes of responses kept in this process (the first tier). */
  memoryMaxBytes: number;
  /** After Redis failed (disconnected, or silent past its backstop), skip it for this long before trying again. */
  outageBackoffMs?: number;
  /**
   * Take pushed dataset versions under a lease this long (VersionLease), instead of a Redis
   * read per event-loop turn; 0 or unset: read it every turn.
   */
  versionLeaseMs?: number;
}

export interface LookupOptions {
  /**
   * Keep this key's entry in memory outside the LRU, whatever its size (the latest version
   * only): for the one response that others are derived from (`derived`), which would
   * otherwise be fetched from Redis on every read once it outgrows the LRU.
   */
  pinned?: boolean;
}

interface MemoryEntry {
  /** The dataset version it was built under; undefined for a derived entry, valid under any (its key names its content). */
  version: string | undefined;
  response: CachedResponse;
  expiresAt: number;
}

/** What the memory tier's two stores (the LRU, the pinned entries) have in common. */
interface MemoryStore {
  get(key: string): MemoryEntry | undefined;
  set(key: string, entry: MemoryEntry): unknown;
}

const DEFAULT_OUTAGE_BACKOFF_MS = 1_000;

/**
 * Two-tier cache of serialized responses for todo-read: this process's memory, then Redis,
 * then the loader (PostgreSQL). Every lookup first learns the current dataset version (one
 * Redis read per event-loop turn), so no tier can answer with data older than a write that
 * has already answered. Concurrent misses of one key in one process share one load. When
 * Redis is out, lookups bypass it to the loader, concurrent ones of a key sharing one load
 * (`BypassLoads`), and Redis is tried again after a short back-off; reads never fail because
 * of the cache. A reply that arrives late is not an outage: only a disconnected Redis or a
 * command unanswered past the client's backstop (connectRedis) is.
 */
export class ResponseCache {
  private readonly version: DatasetVersion;
  private readonly lease: VersionLease | undefined;
  private readonly memory: LRUCache<string, MemoryEntry>;
  private readonly pinned = new Map<string, MemoryEntry>();
  private readonly loads = new Map<string, Promise<CachedResponse>>();
  private readonly bypassLoads = new BypassLoads();
  private readonly outageBackoffMs: number;
  private unavailableUntil = 0;
  private unavailable = false;
  /** The new version being set after an outage (versionAfterOutage), shared by the reads waiting for it. */
  private renewing: Promise<string> | undefined;
  private refusalLoggedUntil = 0;

  constructor(private readonly options: ResponseCacheOptions) {
    this.version = new DatasetVersion(options.redis);
    this.lease = options.versionLeaseMs
      ? new VersionLease(options.redis, this.version, options.versionLeaseMs)
      : undefined;
    this.outageBackoffMs = options.outageBackoffMs ?? DEFAULT_OUTAGE_BACKOFF_MS;
    this.memory = new LRUCache<string, MemoryEntry>({
      maxSize: options.memoryMaxBytes,
      sizeCalculation: (entry) => entry.response.body.length + entry.response.etag.length + 64,
    });
  }

  /**
   * The response for `key`, from a tier that is current, or from `load`. `ttlSeconds` bounds
   * how long an entry may serve even if an invalidation was lost.
   */
  async get(
    key: string,
    ttlSeconds: number,
    load: () => Promise<CachedResponse>,
    options: LookupOptions = {},
  ): Promise<CachedResponse> {
    const started = performance.now();
    if (started < this.unavailableUntil) return this.bypass(key, started, load);
    let version: string;
    try {
      version = await this.version.current();
      if (this.unavailable) version = await this.versionAfterOutage();
    } catch (error) {
      this.redisFailed(error);
      return this.bypass(key, started, load);
    }
    this.markAvailable();

    const memory = options.pinned ? this.pinned : this.memory;
    const local = memory.get(key);
    if (local && local.version === version && local.expiresAt > Date.now()) {
      this.logLookup(key, 'hit', 'memory', started);
      return local.response;
    }
    const loadKey = `${version}:${key}`;
    let shared = this.loads.get(loadKey);
    if (!shared) {
      shared = this.fill(memory, version, key, ttlSeconds, load, local ? 'stale' : 'miss', started).finally(() =>
        this.loads.delete(loadKey),
      );
      this.loads.set(loadKey, shared);
    } else {
      this.logLookup(key, local ? 'stale' : 'miss', 'shared-load', started);
    }
    return shared;
  }

  /**
   * A response computed in this process from one the cache returned (e.g. a filtered list from
   * the full list), kept in the memory tier only: rebuilding it costs less than a Redis round
   * trip, and Redis then holds one copy of the data per version, not one per query. `key` must
   * name the content, e.g. by the ETag of what it is derived from, so an entry never goes stale
   * and needs no version check. One larger than the memory tier is built on every call.
   */
  derived(key: string, derive: () => CachedResponse): CachedResponse {
    const local = this.memory.get(key);
    if (local) return local.response;
    const response = derive();
    this.memory.set(key, { version: undefined, response, expiresAt: Number.POSITIVE_INFINITY });
    return response;
  }

  /** The Redis tier, then the loader; stores what it loaded in both tiers. */
  private async fill(
    memory: MemoryStore,
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
      this.redisFailed(error);
    }
    const expiresAt = Date.now() + ttlSeconds * 1000;
    if (stored) {
      this.logLookup(key, 'hit', 'redis', started);
      memory.set(key, { version, response: stored, expiresAt });
      return stored;
    }
    this.logLookup(key, outcome, 'none', started);
    const response = await load();
    memory.set(key, { version, response, expiresAt });
    this.options.redis.set(redisKey, encodeResponse(response), 'EX', ttlSeconds).catch((error: unknown) => {
      this.redisFailed(error);
    });
    return response;
  }

  /** Gives up the version lease, if any, so that no writer waits for it: before Redis is disconnected. */
  async close(): Promise<void> {
    await this.lease?.close();
  }

  /** Redis cannot be used: answer from the loader, which is always current. */
  private bypass(key: string, started: number, load: () => Promise<CachedResponse>): Promise<CachedResponse> {
    const { response, shared } = this.bypassLoads.load(key, load);
    this.logLookup(key, 'bypass', shared ? 'shared-load' : 'none', started);
    return response;
  }

  /** The lookup's outcome, tier and time go on the request's canonical line (no line of its own: a cached read logs one line). */
  private logLookup(_key: string, outcome: CacheOutcome, tier: CacheTier, started: number): void {
    recordCacheLookup(outcome, tier, performance.now() - started);
  }

  /**
   * Redis answering with an error (a ReplyError: LOADING, OOM, WRONGTYPE…) is up: the read at
   * hand goes without the cache, the next ones try it again. Any other failure comes from the
   * client (ioredis rejects with plain errors that carry no code): not connected (refused,
   * closed, reconnecting) or unanswered past the backstop; Redis is then out, and is skipped
   * for the back-off instead of costing every read the backstop.
   */
  private redisFailed(error: unknown): void {
    if (error instanceof ReplyError) {
      this.logRefusal(error);
      return;
    }
    this.markUnavailable(error);
  }

  private logRefusal(error: unknown): void {
    const now = performance.now();
    // At most one line per back-off period: a Redis that refuses every command would
    // otherwise log once per read.
    if (now < this.refusalLoggedUntil) return;
    this.refusalLoggedUntil = now + this.outageBackoffMs;
    this.options.log.warn(
      { err: error },
      'cache: Redis refused a command; the read went to PostgreSQL. Check the Redis server log',
    );
  }

  private markUnavailable(error: unknown): void {
    this.unavailableUntil = performance.now() + this.outageBackoffMs;
    this.lease?.suspend();
    if (this.unavailable) return;
    this.unavailable = true;
    this.options.log.warn(
      { err: error, retry_in_ms: this.outageBackoffMs },
      'cache unavailable: serving reads from PostgreSQL until Redis answers again',
    );
  }

  /**
   * The version to use when Redis answers again after an outage: a new one. A write that
   * answered during the outage may not have invalidated yet (todo-write retries until Redis
   * takes it, and this replica may get Redis back first), so the version Redis holds, and
   * every entry built under it, may predate that write. Costs one SET and this replica's
   * entries once per outage; the reads of one turn share it.
   */
  private versionAfterOutage(): Promise<string> {
    this.renewing ??= this.version
      .bump()
      .then(({ version }) => version)
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  private markAvailable(): void {
    if (!this.unavailable) return;
    this.unavailable = false;
    this.options.log.info('cache available again');
  }
}

/**
 * Loads of reads that bypass the cache, one at a time per key. A read joins a load only if
 * the load has not started yet, i.e. it started after the read arrived: without a dataset
 * version to key on, that is what keeps read-your-writes (a load already under way may predate
 * a write that answered before this read was sent). Reads arriving while a key's load runs
 * share the next one, which starts when it ends. So an outage, or an overload that makes
 * Redis unusable, costs at most one query per key per replica at a time, never one per read.
 */
class BypassLoads {
  /** The load each key's newly arriving reads join: it has not started yet. */
  private readonly next = new Map<string, Promise<CachedResponse>>();
  /** The load under way for each key, if any. */
  private readonly running = new Map<string, Promise<unknown>>();

  /** The response for `key`; `shared` when this read joined a load another read had asked for. */
  load(key: string, load: () => Promise<CachedResponse>): { response: Promise<CachedResponse>; shared: boolean } {
    const queued = this.next.get(key);
    if (queued) return { response: queued, shared: true };
    const response = new Promise<CachedResponse>((resolve, reject) => {
      const start = (): void => {
        this.next.delete(key);
        // A loader that throws instead of rejecting still fails only its readers.
        const loading = Promise.resolve().then(load);
        const settled = loading.then(resolve, reject).finally(() => {
          if (this.running.get(key) === settled) this.running.delete(key);
        });
        this.running.set(key, settled);
      };
      const running = this.running.get(key);
      // Reads of this event-loop turn join before the load starts (as in DatasetVersion).
      if (running) void running.then(start);
      else setImmediate(start);
    });
    this.next.set(key, response);
    return { response, shared: false };
  }
}
