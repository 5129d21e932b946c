import type { EnvReader } from '@taskoverflow/config';

export interface CacheSettings {
  /** Unset: no cache (todo-read reads PostgreSQL on every request, todo-write skips invalidation). */
  redisUrl: string | undefined;
  /**
   * The longest any entry serves. Invalidation normally makes entries unreachable at once;
   * this bounds staleness if an invalidation is lost (todo-write could not reach Redis).
   */
  ttlSeconds: number;
  /** A Redis command slower than this counts as a failure and the read goes to PostgreSQL. */
  commandTimeoutMs: number;
  memoryMaxBytes: number;
}

function describeRedisUrlProblem(url: string): string | undefined {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return `REDIS_URL is not a URL: "${url}". Expected redis://host:6379 (or rediss:// for TLS)`;
  }
  return protocol === 'redis:' || protocol === 'rediss:'
    ? undefined
    : `REDIS_URL is not a redis URL: "${protocol}//…". Expected redis://host:6379 (or rediss:// for TLS)`;
}

/** REDIS_URL, CACHE_TTL_SECONDS, REDIS_COMMAND_TIMEOUT_MS and CACHE_MEMORY_MAX_MB. */
export function readCacheSettings(reader: EnvReader): CacheSettings {
  const redisUrl = reader.string('REDIS_URL', '') || undefined;
  if (redisUrl) reader.check(describeRedisUrlProblem(redisUrl));
  return {
    redisUrl,
    ttlSeconds: reader.integer('CACHE_TTL_SECONDS', 60, { min: 1, max: 86_400 }),
    commandTimeoutMs: reader.integer('REDIS_COMMAND_TIMEOUT_MS', 100, { min: 5, max: 10_000 }),
    memoryMaxBytes: reader.integer('CACHE_MEMORY_MAX_MB', 64, { min: 1, max: 4_096 }) * 1024 * 1024,
  };
}
