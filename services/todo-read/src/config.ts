import { readCacheSettings, type CacheSettings } from '@taskoverflow/cache';
import { readPoolSettings, type PoolSettings } from '@taskoverflow/db';
import { loadServiceConfig, type BaseServiceConfig } from '@taskoverflow/http-kit';

export interface TodoReadConfig extends BaseServiceConfig {
  database: PoolSettings;
  cache: CacheSettings;
}

/** Reads and validates the service's environment; throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TodoReadConfig {
  return loadServiceConfig(env, { service: 'todo-read', defaultPort: 3000 }, (reader) => ({
    database: readPoolSettings(reader, 'todo-read'),
    cache: readCacheSettings(reader),
  }));
}
