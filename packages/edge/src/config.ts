import { EnvReader, LOG_LEVELS, type Env, type LogLevel } from '@taskoverflow/config';
import { readStatsIntervalMs } from '@taskoverflow/observability';
import type { ServiceName } from '@taskoverflow/routing';
import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from './client-limits.js';
import { DEFAULT_REPLICA_QUEUE, type ReplicaQueueSettings } from './replica.js';

/** Where the edge listens, where it routes and how it logs, read from the environment by server.ts. */
export interface EdgeConfig {
  host: string;
  port: number;
  upstreams: Record<ServiceName, string[]>;
  queue: ReplicaQueueSettings;
  limits: ClientLimits;
  /**
   * EDGE_ALLOWED_HOSTS: the Host headers served (DNS-rebinding defence); undefined: any. By
   * default, on a loopback address, the loopback names at the edge's port; elsewhere any.
   */
  allowedHosts: string[] | undefined;
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
      connections: reader.integer('EDGE_REPLICA_CONNECTIONS', DEFAULT_REPLICA_QUEUE.connections, {
        min: 1,
        max: 10_000,
      }),
      maxQueueWaitMs: reader.integer('EDGE_MAX_QUEUE_WAIT_MS', DEFAULT_REPLICA_QUEUE.maxQueueWaitMs, {
        min: 1,
        max: 600_000,
      }),
      minQueueLimit: DEFAULT_REPLICA_QUEUE.minQueueLimit,
      retryAfterSeconds: DEFAULT_REPLICA_QUEUE.retryAfterSeconds,
    },
    limits: readClientLimits(reader),
    allowedHosts: undefined,
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logFile: reader.string('LOG_FILE', '') || undefined,
    statsIntervalMs: readStatsIntervalMs(reader),
  };
  config.allowedHosts = readAllowedHosts(reader, config.host);
  reader.done();
  return config;
}

function readClientLimits(reader: EnvReader): ClientLimits {
  const defaults = DEFAULT_CLIENT_LIMITS;
  const limits: ClientLimits = {
    headersTimeoutMs: reader.integer('EDGE_HEADERS_TIMEOUT_MS', defaults.headersTimeoutMs, { min: 100, max: 600_000 }),
    requestTimeoutMs: reader.integer('EDGE_REQUEST_TIMEOUT_MS', defaults.requestTimeoutMs, { min: 100, max: 600_000 }),
    drainTimeoutMs: reader.integer('EDGE_CLIENT_DRAIN_TIMEOUT_MS', defaults.drainTimeoutMs, { min: 100, max: 600_000 }),
    maxBufferedBytes:
      reader.integer('EDGE_MAX_BUFFERED_MB', defaults.maxBufferedBytes / 1024 / 1024, { min: 0, max: 65_536 }) *
      1024 *
      1024,
    maxConnections: reader.integer('EDGE_MAX_CONNECTIONS', defaults.maxConnections, { min: 1, max: 1_000_000 }),
    maxConnectionsPerClient: reader.integer('EDGE_MAX_CONNECTIONS_PER_CLIENT', defaults.maxConnectionsPerClient, {
      min: 1,
      max: 1_000_000,
    }),
  };
  // Node refuses a headers timeout longer than the request's: the request's includes its headers.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    reader.check(
      `EDGE_HEADERS_TIMEOUT_MS (${limits.headersTimeoutMs}) must not exceed EDGE_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs}), ` +
        'which bounds the whole request, headers included: lower the first or raise the second',
    );
  }
  return limits;
}

/** The names a browser uses for a loopback address: a page elsewhere (DNS rebinding) sends its own. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** Comma-separated Host values (`name` or `name:port`), `*` for any; by default see EdgeConfig.allowedHosts. */
function readAllowedHosts(reader: EnvReader, host: string): string[] | undefined {
  const value = reader.string('EDGE_ALLOWED_HOSTS', '').trim();
  if (value === '*') return undefined;
  if (value === '') return LOOPBACK_HOSTS.has(host) ? LOOPBACK_NAMES : undefined;
  const hosts = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  for (const name of hosts) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(name)) {
      reader.check(
        `EDGE_ALLOWED_HOSTS must list Host names, comma-separated (e.g. localhost,todo.test:8080), or be *; "${name}" is not one`,
      );
    }
  }
  return hosts;
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
    if (!URL.canParse(url) || new URL(url).protocol !== 'http:')
      reader.check(`${expected} ("${url}" is not an http:// URL)`);
  }
  return urls;
}
