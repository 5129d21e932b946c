/**
 * The log lines other programs read: the canonical `request finished` line (one per request) and
 * the periodic `stats` line. They are the contract between the services and the edge that write
 * them and `pnpm start`'s console, `pnpm trace`, the bottleneck report, `pnpm bench` and the
 * Logs Insights queries (infra/) that read them. Every line also has the fields of
 * `loggerOptions` (time, level, service, hostname, msg) and, inside a request, request_id,
 * method and url.
 *
 * This module has no imports, so that a reader (infra's Pulumi program) can import it as
 * `@taskoverflow/observability/log-schema` without loading the logger.
 */

/** The `msg` of the canonical line: one per request, written when it ends. */
export const REQUEST_FINISHED_MESSAGE = 'request finished';
/** The `msg` of the periodic summary line (stats.ts): it reaches stdout even when the rest goes to LOG_FILE. */
export const STATS_MESSAGE = 'stats';
/** The `service` of the load balancer's (the edge's) lines; the services' are routing's ServiceName. */
export const EDGE_SERVICE = 'edge';
/** The `msg` of the edge's first line, which names the balancer that runs as the edge (EdgeListening). */
export const EDGE_LISTENING_MESSAGE = 'edge listening';

/** The fields of the edge's `edge listening` line. */
export interface EdgeListening {
  /** `HAProxy 2.6.12`, `Node edge`: what the report and `--compare` name. */
  balancer: string;
  url: string;
}

/** What a cache lookup found: `stale` is an in-process entry of an older dataset version; `bypass` went past the cache. */
export const CACHE_OUTCOMES = ['hit', 'miss', 'stale', 'bypass'] as const;
export type CacheOutcome = (typeof CACHE_OUTCOMES)[number];
export function isCacheOutcome(value: unknown): value is CacheOutcome {
  return (CACHE_OUTCOMES as readonly unknown[]).includes(value);
}
/** Where a lookup's answer came from; `shared-load` joined another request's load, `none` went to the loader. */
export type CacheTier = 'memory' | 'redis' | 'shared-load' | 'none';

/** The fields of a service's `request finished` line (request_id, method and url come from the request's logger). */
export interface ServiceRequestFinished {
  /** The route pattern (`/api/v1/todos/:id`); undefined when no route matched (a 404). */
  route: string | undefined;
  status: number;
  duration_ms: number;
  /** The response body's size, from its Content-Length. */
  bytes: number;
  /** The outcome of the request's (last) cache lookup; undefined when it used no cache. */
  cache: CacheOutcome | undefined;
  cache_tier: CacheTier | undefined;
  /** Time in cache lookups and invalidations. */
  cache_ms: number | undefined;
  db_queries: number;
  db_ms: number;
  /** Why load shedding refused the request (`eventLoopDelay`, `concurrentRequests`…). */
  shed: string | undefined;
  /** The code of the error the request was answered with (`TASKOVERFLOW_DATABASE_UNAVAILABLE`, `FST_ERR_VALIDATION`…). */
  error_code: string | undefined;
  /** What that error's cause said: its code (`ECONNREFUSED`, `57P01`), else its message. */
  error_cause: string | undefined;
  /** The error itself, on a line logged at `error`. */
  err?: Error;
}

/** The fields of the edge's `request finished` line. */
export interface EdgeRequestFinished {
  request_id: string;
  method: string | undefined;
  url: string | undefined;
  status: number;
  duration_ms: number;
  bytes: number;
  /** The replica that answered (its origin); undefined for an answer the edge gave itself (a 503 refused at once, a 404…). */
  upstream: string | undefined;
  /** The client went away before the response was complete. */
  aborted?: true;
  /** The client stopped reading the response and was reset. */
  stalled?: true;
}

/** The fields of every process's `stats` line, over its last interval. */
export interface StatsFields {
  interval_ms: number;
  requests: number;
  rps: number;
  /** Percentiles of duration_ms (bucket upper bounds). */
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  /** 5xx answers, shed ones included. */
  status_5xx: number;
  /** 503s of load shedding (the edge's: refused by its bounded queue). */
  shed: number;
  /** Absent from the line of a process without a Node event loop (HAProxy as the edge). */
  event_loop_delay_p99_ms?: number;
  rss_mb: number;
  /** CPU time the process used over the interval. */
  cpu_ms: number;
}

/** Cache lookups of the interval by outcome: `cache_hit`, `cache_miss`, `cache_stale`, `cache_bypass`. */
export type CacheOutcomeCounts = { [Outcome in CacheOutcome as `cache_${Outcome}`]: number };

/** What a service counts over an interval, besides StatsFields. */
export type ServiceCountedFields = CacheOutcomeCounts & {
  /** 429s of the rate limit. */
  rate_limited: number;
  db_queries: number;
};

/** What the edge counts over an interval, besides StatsFields. */
export interface EdgeCountedFields {
  /** 502s and 504s: answers no replica gave in time or at all. */
  upstream_errors: number;
}

/**
 * States a `stats` line reports as they are when it is written (not counted over the interval):
 * `redis_connected`, 1 or 0, from a service with a Redis connection.
 */
export type StatsGauge = 'redis_connected';

/** A service's `stats` line. */
export type ServiceStatsLine = StatsFields & ServiceCountedFields & Partial<Record<StatsGauge, number>>;
/** The edge's `stats` line. */
export type EdgeStatsLine = StatsFields & EdgeCountedFields;
/** A `stats` line of a process not known in advance (a service's or the edge's). */
export type AnyStatsLine = StatsFields & Partial<ServiceCountedFields & EdgeCountedFields & Record<StatsGauge, number>>;

/**
 * pino's numeric levels by label. loggerOptions writes the label; a line written without its
 * formatter carries the number.
 */
export const LEVEL_LABELS: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * The object a JSON log line holds; undefined when it holds none (not JSON, or not an object).
 * HAProxy's `request finished` lines (packages/edge, HAPROXY_LOG_FORMAT) are read in the Node edge's
 * schema (asEdgeFields).
 */
export function parseLogRecord(line: string): Record<string, unknown> | undefined {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return undefined;
  const fields = record as Record<string, unknown>;
  if (fields.msg === REQUEST_FINISHED_MESSAGE && typeof fields.termination === 'string') {
    asEdgeFields(fields, fields.termination);
  }
  return fields;
}

/** HAProxy's `upstream` of a request no replica answered (`http://%si:%sp` without a server). */
const NO_UPSTREAM = 'http://-:-';

/**
 * HAProxy writes its request lines itself, straight to the edge's log file, so what its
 * two-letter termination state says is put in the Node edge's fields where they are read:
 * `stalled` (cD, cL: the client took nothing of its answer for `timeout client`, while the
 * replica was still sending it or had sent it all), `aborted` (C…: the client went away first),
 * and no `upstream` when no replica answered.
 */
function asEdgeFields(fields: Record<string, unknown>, termination: string): void {
  if (fields.upstream === NO_UPSTREAM) delete fields.upstream;
  if (termination === 'cD' || termination === 'cL') fields.stalled = true;
  else if (termination.startsWith('C')) fields.aborted = true;
}
