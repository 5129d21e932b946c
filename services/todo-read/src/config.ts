import { readCacheSettings, type CacheSettings } from '@taskoverflow/cache';
import { readPoolSettings, type PoolSettings } from '@taskoverflow/db';
import { describeLateShedding, loadServiceConfig, type BaseServiceConfig } from '@taskoverflow/http-kit';

export interface TodoReadConfig extends BaseServiceConfig {
  database: PoolSettings;
  cache: CacheSettings;
}

/** Reads and validates the service's environment; throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TodoReadConfig {
  return loadServiceConfig(env, { service: 'todo-read', defaultPort: 3000 }, (reader, base) => {
    const cache = readCacheSettings(reader);
    // A late Redis reply must meet shedding, not the backstop that sends reads to PostgreSQL.
    if (cache.redisUrl)
      reader.check(
        describeLateShedding(base.loadShedding, { setting: 'REDIS_COMMAND_BACKSTOP_MS', ms: cache.commandBackstopMs }),
      );
    return { database: readPoolSettings(reader, 'todo-read'), cache };
  });
}
