import { readPoolSettings, type PoolSettings } from '@taskoverflow/db';
import { EnvReader, readBaseServiceConfig, type BaseServiceConfig } from '@taskoverflow/http-kit';

export interface TodoWriteConfig extends BaseServiceConfig {
  database: PoolSettings;
}

/** Reads and validates the service's environment; throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TodoWriteConfig {
  const reader = new EnvReader(env);
  const config = { ...readBaseServiceConfig(reader, 3001), database: readPoolSettings(reader, 'todo-write') };
  reader.done();
  return config;
}
