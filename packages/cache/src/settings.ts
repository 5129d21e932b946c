import { redactPassword, type EnvReader } from '@taskoverflow/config';

export interface CacheSettings {
  /** Unset: no cache (todo-read reads PostgreSQL on every request, todo-write skips invalidation). */
  redisUrl: string | undefined;
  /**
   * The longest any entry serves. Invalidation normally makes entries unreachable at once;
   * this bounds staleness if an invalidation is lost (todo-write could not reach Redis).
   */
  ttlSeconds: number;
  /**
   * A backstop, not a latency budget: a Redis command still unanswered after this long means
   * Redis is out (frozen, or the network lost it), and reads go to PostgreSQL for a while. A
   * reply that is merely late because this process was busy must not trip it, so it sits well
   * above the event-loop delay at which the service sheds load (see todo-read's config).
   */
  commandBackstopMs: number;
  memoryMaxBytes: number;
  /**
   * How long a read replica's lease on pushed dataset versions lasts (VersionLease); 0: each
   * replica reads the version from Redis once per event-loop turn instead. A write waits at
   * most this long for a replica that stopped answering.
   */
  versionLeaseMs: number;
}

function describeRedisUrlProblem(url: string): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return `REDIS_URL is not a URL: "${redactPassword(url)}". Expected redis://host:6379 (or rediss:// for TLS; a password with @ / # or spaces percent-encoded)`;
  }
  return protocol === 'redis:' || protocol === 'rediss:'
    ? undefined
    : `REDIS_URL is not a redis URL: "${protocol}//…". Expected redis://host:6379 (or rediss:// for TLS)`;
}

/** REDIS_URL, CACHE_TTL_SECONDS, REDIS_COMMAND_BACKSTOP_MS, CACHE_MEMORY_MAX_MB and CACHE_VERSION_LEASE_MS. */
export function readCacheSettings(reader: EnvReader): CacheSettings {
  const redisUrl = reader.string('REDIS_URL', '') || undefined;
  if (redisUrl) reader.check(describeRedisUrlProblem(redisUrl));
  return {
    redisUrl,
    ttlSeconds: reader.integer('CACHE_TTL_SECONDS', 60, { min: 1, max: 86_400 }),
    commandBackstopMs: reader.integer('REDIS_COMMAND_BACKSTOP_MS', 1_000, { min: 100, max: 60_000 }),
    memoryMaxBytes: reader.integer('CACHE_MEMORY_MAX_MB', 64, { min: 1, max: 4_096 }) * 1024 * 1024,
    versionLeaseMs: reader.integer('CACHE_VERSION_LEASE_MS', 1_000, { min: 0, max: 10_000 }),
  };
}
