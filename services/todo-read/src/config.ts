import { readPoolSettings, type PoolSettings } from '@taskoverflow/db';
import { EnvReader, readBaseServiceConfig, type BaseServiceConfig } from '@taskoverflow/http-kit';

export interface TodoReadConfig extends BaseServiceConfig {
  database: PoolSettings;
}

/** Reads and validates the service's environment; throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TodoReadConfig {
  const reader = new EnvReader(env);
  const config = { ...readBaseServiceConfig(reader, 3000), database: readPoolSettings(reader, 'todo-read') };
  reader.done();
  return config;
}
