import type { ServiceName } from '@taskoverflow/routing';
import { DEFAULT_REPLICA_QUEUE, type ReplicaQueueSettings } from './replica.js';

/** Where the edge listens and where it routes, read from the environment by server.ts. */
export interface EdgeConfig {
  host: string;
  port: number;
  upstreams: Record<ServiceName, string[]>;
  queue: ReplicaQueueSettings;
}

/** A setting is missing or malformed; the message names the variable and shows a valid value. */
export class EdgeConfigError extends Error {
  override name = 'EdgeConfigError';
}

export function readEdgeConfig(env: NodeJS.ProcessEnv): EdgeConfig {
  return {
    host: env.HOST || '127.0.0.1',
    port: parsePort(env.PORT),
    upstreams: {
      'todo-read': parseUpstreams('READ_UPSTREAMS', env.READ_UPSTREAMS, 'http://127.0.0.1:3101,http://127.0.0.1:3102'),
      'todo-write': parseUpstreams('WRITE_UPSTREAMS', env.WRITE_UPSTREAMS, 'http://127.0.0.1:3201'),
    },
    queue: {
      connections: parseCount('EDGE_REPLICA_CONNECTIONS', env.EDGE_REPLICA_CONNECTIONS, DEFAULT_REPLICA_QUEUE.connections, 1),
      queueLimit: parseCount('EDGE_QUEUE_LIMIT', env.EDGE_QUEUE_LIMIT, DEFAULT_REPLICA_QUEUE.queueLimit, 0),
      queueTimeoutMs: parseCount('EDGE_QUEUE_TIMEOUT_MS', env.EDGE_QUEUE_TIMEOUT_MS, DEFAULT_REPLICA_QUEUE.queueTimeoutMs, 1),
      retryAfterSeconds: DEFAULT_REPLICA_QUEUE.retryAfterSeconds,
    },
  };
}

function parseCount(variable: string, value: string | undefined, fallback: number, min: number): number {
  if (!value) return fallback;
  const count = Number(value);
  if (!Number.isInteger(count) || count < min) {
    throw new EdgeConfigError(`${variable} must be a whole number of at least ${min}, e.g. ${variable}=${fallback} (got "${value}")`);
  }
  return count;
}

function parsePort(value: string | undefined): number {
  if (!value) return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new EdgeConfigError(`PORT must be a port number from 0 to 65535, e.g. PORT=8080 (got "${value}")`);
  }
  return port;
}

/** A comma-separated list of http base URLs, one per replica. */
function parseUpstreams(variable: string, value: string | undefined, example: string): string[] {
  const expected = `${variable} must list the replicas' base URLs, comma-separated, e.g. ${variable}=${example}`;
  const urls = (value ?? '').split(',').map((part) => part.trim()).filter(Boolean);
  if (urls.length === 0) throw new EdgeConfigError(`${expected} (it is ${value === undefined ? 'unset' : 'empty'})`);
  for (const url of urls) {
    if (!URL.canParse(url) || new URL(url).protocol !== 'http:') {
      throw new EdgeConfigError(`${expected} ("${url}" is not an http:// URL)`);
    }
  }
  return urls;
}
