import { EnvReader, LOG_LEVELS, type LogLevel } from '@taskoverflow/config';
import { hostname } from 'node:os';
import {
  cloudWatchTransportTarget,
  LOG_FORMATS,
  readStatsIntervalMs,
  type LogFormat,
} from '@taskoverflow/observability';
import type { ServiceName } from '@taskoverflow/routing';
import type { TransportTargetOptions } from 'pino';
import type { LoadSheddingSettings } from './load-shedding.js';
import type { RateLimitSettings } from './rate-limit.js';

/** Settings every service reads. */
export interface BaseServiceConfig {
  host: string;
  port: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /**
   * LOG_FILE: every log line goes to this file (asynchronously) and stdout carries only
   * warnings, errors and `stats` lines. Unset: every line goes to stdout.
   */
  logFile: string | undefined;
  /** A `stats` log line (request rate, latency, cache, CPU…) every this many ms; 0: none. */
  statsIntervalMs: number;
  /** Distinguishes replicas in logs, e.g. todo-read-2; defaults to the host name. */
  instance: string | undefined;
  /** Where logs go besides stdout: CloudWatch Logs when CLOUDWATCH_LOG_GROUP is set. */
  logTargets: TransportTargetOptions[];
  loadShedding: LoadSheddingSettings;
  /**
   * After SIGTERM, fail health checks but keep serving for this long before closing, so a
   * load balancer that health-checks (the local edge) stops routing here first. On ECS the
   * target is deregistered before SIGTERM, so 0 suits it.
   */
  shutdownDrainMs: number;
  /**
   * Proxies in front of the service that append to X-Forwarded-For (the ALB, or the local
   * edge: 1). `request.ip`, which the rate limit counts by, is the address the outermost of
   * them saw; entries a client wrote itself further left are ignored.
   */
  trustProxyHops: number;
  rateLimit: RateLimitSettings;
  /**
   * A connection whose response has waited this long for its client to read is closed: its
   * request stops counting in flight and its bytes leave SHED_MAX_MB_IN_FLIGHT. Longer than
   * the edge's own bound (EDGE_CLIENT_DRAIN_TIMEOUT_MS), which gives up on its client first.
   */
  clientDrainTimeoutMs: number;
}

export function readBaseServiceConfig(
  reader: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
  { service, defaultPort }: { service: ServiceName; defaultPort: number },
): BaseServiceConfig {
  const instance = reader.string('SERVICE_INSTANCE', '') || undefined;
  return {
    host: reader.string('HOST', '0.0.0.0'),
    port: reader.integer('PORT', defaultPort, { min: 0, max: 65_535 }),
    logLevel: reader.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    logFormat: reader.oneOf('LOG_FORMAT', LOG_FORMATS, 'json'),
    logFile: reader.string('LOG_FILE', '') || undefined,
    statsIntervalMs: readStatsIntervalMs(reader),
    instance,
    logTargets: readLogTargets(reader, env, service, instance ?? hostname()),
    loadShedding: {
      maxEventLoopDelayMs: reader.integer('SHED_EVENT_LOOP_DELAY_MS', 500, { min: 0, max: 60_000 }),
      maxEventLoopUtilization: reader.integer('SHED_EVENT_LOOP_UTILIZATION_PERCENT', 0, { min: 0, max: 100 }) / 100,
      maxConcurrentRequests: reader.integer('SHED_MAX_CONCURRENT_REQUESTS', 0, { min: 0, max: 100_000 }),
      maxBytesInFlight: reader.integer('SHED_MAX_MB_IN_FLIGHT', 16, { min: 0, max: 4_096 }) * 1024 * 1024,
      retryAfterSeconds: reader.integer('SHED_RETRY_AFTER_S', 1, { min: 1, max: 3_600 }),
    },
    shutdownDrainMs: reader.integer('SHUTDOWN_DRAIN_MS', 0, { min: 0, max: 120_000 }),
    trustProxyHops: reader.integer('TRUST_PROXY_HOPS', 1, { min: 0, max: 10 }),
    clientDrainTimeoutMs: reader.integer('CLIENT_DRAIN_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    rateLimit: {
      maxRequests: reader.integer('RATE_LIMIT_MAX_REQUESTS', 0, { min: 0, max: 1_000_000_000 }),
      windowSeconds: reader.integer('RATE_LIMIT_WINDOW_S', 60, { min: 1, max: 86_400 }),
    },
  };
}

function readLogTargets(
  reader: EnvReader,
  env: Readonly<Record<string, string | undefined>>,
  service: ServiceName,
  host: string,
): TransportTargetOptions[] {
  try {
    const createLogGroup = reader.boolean('CLOUDWATCH_CREATE_LOG_GROUP', false);
    const cloudWatch = cloudWatchTransportTarget(env, { service, hostname: host, createLogGroup });
    return cloudWatch ? [cloudWatch as TransportTargetOptions] : [];
  } catch (error) {
    reader.check((error as Error).message);
    return [];
  }
}

/**
 * Reads a service's configuration: the base settings plus the service's own (`readOwn`, which
 * can check its settings against the base ones). Throws a ConfigError listing every problem at once.
 */
export function loadServiceConfig<Own extends object>(
  env: Readonly<Record<string, string | undefined>>,
  service: { service: ServiceName; defaultPort: number },
  readOwn: (reader: EnvReader, base: BaseServiceConfig) => Own,
): BaseServiceConfig & Own {
  const reader = new EnvReader(env);
  const base = readBaseServiceConfig(reader, env, service);
  const config = { ...base, ...readOwn(reader, base) };
  reader.done();
  return config;
}
