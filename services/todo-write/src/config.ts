import { readCacheSettings, type CacheSettings } from '@taskoverflow/cache';
import { readPoolSettings, type PoolSettings } from '@taskoverflow/db';
import { loadServiceConfig, type BaseServiceConfig } from '@taskoverflow/http-kit';

export interface TodoWriteConfig extends BaseServiceConfig {
  database: PoolSettings;
  /** Where todo-read's cache lives, so writes can invalidate it. */
  cache: CacheSettings;
  /** How long an Idempotency-Key holds the outcome of its first POST. */
  idempotencyWindowSeconds: number;
}

/** Reads and validates the service's environment; throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TodoWriteConfig {
  return loadServiceConfig(env, { service: 'todo-write', defaultPort: 3001 }, (reader) => ({
    database: readPoolSettings(reader, 'todo-write'),
    cache: readCacheSettings(reader),
    idempotencyWindowSeconds: reader.integer('IDEMPOTENCY_WINDOW_SECONDS', 86_400, { min: 60, max: 30 * 86_400 }),
  }));
}
