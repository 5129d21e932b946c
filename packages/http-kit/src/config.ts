import { EnvReader } from '@taskoverflow/config';
import { LOG_FORMATS, type LogFormat } from '@taskoverflow/observability';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings every service reads. */
export interface BaseServiceConfig {
  host: string;
  port: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Distinguishes replicas in logs, e.g. todo-read-2; defaults to the host name. */
  instance: string | undefined;
}

export function readBaseServiceConfig(reader: EnvReader, defaultPort: number): BaseServiceConfig {
  return {
    host: reader.string('HOST', '0.0.0.0'),
    port: reader.integer('PORT', defaultPort, { min: 0, max: 65_535 }),
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logFormat: reader.oneOf('LOG_FORMAT', LOG_FORMATS, 'json'),
    instance: reader.string('SERVICE_INSTANCE', '') || undefined,
  };
}

/**
 * Reads a service's configuration: the base settings plus the service's own (`readOwn`).
 * Throws a ConfigError listing every problem at once.
 */
export function loadServiceConfig<Own extends object>(
  env: Readonly<Record<string, string | undefined>>,
  defaultPort: number,
  readOwn: (reader: EnvReader) => Own,
): BaseServiceConfig & Own {
  const reader = new EnvReader(env);
  const config = { ...readBaseServiceConfig(reader, defaultPort), ...readOwn(reader) };
  reader.done();
  return config;
}
