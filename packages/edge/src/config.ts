import { EnvReader, LOG_LEVELS, type Env, type LogLevel } from '@taskoverflow/config';
import { readStatsIntervalMs } from '@taskoverflow/observability';
import type { ServiceName } from '@taskoverflow/routing';
import { DEFAULT_REPLICA_QUEUE, type ReplicaQueueSettings } from './replica.js';

/** Where the edge listens, where it routes and how it logs, read from the environment by server.ts. */
export interface EdgeConfig {
  host: string;
  port: number;
  upstreams: Record<ServiceName, string[]>;
  queue: ReplicaQueueSettings;
  logLevel: LogLevel;
  /** LOG_FILE: every line to that file, only warnings, errors and `stats` on stdout (see createLogger). */
  logFile: string | undefined;
  /** STATS_INTERVAL_MS: a `stats` line this often (0: none), as the services write. */
  statsIntervalMs: number;
}

/**
 * Reads the edge's settings with the services' EnvReader: a ConfigError lists every bad value
 * at once, each naming the variable and what is expected.
 */
export function readEdgeConfig(env: Env): EdgeConfig {
  const reader = new EnvReader(env);
  const config: EdgeConfig = {
    host: reader.string('HOST', '127.0.0.1'),
    port: reader.integer('PORT', 8080, { min: 0, max: 65_535 }),
    upstreams: {
      'todo-read': readUpstreams(reader, env, 'READ_UPSTREAMS', 'http://127.0.0.1:3101,http://127.0.0.1:3102'),
      'todo-write': readUpstreams(reader, env, 'WRITE_UPSTREAMS', 'http://127.0.0.1:3201'),
    },
    queue: {
      connections: reader.integer('EDGE_REPLICA_CONNECTIONS', DEFAULT_REPLICA_QUEUE.connections, { min: 1, max: 10_000 }),
      maxQueueWaitMs: reader.integer('EDGE_MAX_QUEUE_WAIT_MS', DEFAULT_REPLICA_QUEUE.maxQueueWaitMs, { min: 1, max: 600_000 }),
      minQueueLimit: DEFAULT_REPLICA_QUEUE.minQueueLimit,
      retryAfterSeconds: DEFAULT_REPLICA_QUEUE.retryAfterSeconds,
    },
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logFile: reader.string('LOG_FILE', '') || undefined,
    statsIntervalMs: readStatsIntervalMs(reader),
  };
  reader.done();
  return config;
}

/** A comma-separated list of http base URLs, one per replica. */
function readUpstreams(reader: EnvReader, env: Env, variable: string, example: string): string[] {
  const expected = `${variable} must list the replicas' base URLs, comma-separated, e.g. ${variable}=${example}`;
  const value = env[variable];
  const urls = (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (urls.length === 0) reader.check(`${expected} (it is ${value === undefined ? 'unset' : 'empty'})`);
  for (const url of urls) {
    if (!URL.canParse(url) || new URL(url).protocol !== 'http:') reader.check(`${expected} ("${url}" is not an http:// URL)`);
  }
  return urls;
}
