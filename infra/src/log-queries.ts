/**
 * CloudWatch Logs Insights queries over the services' JSON lines (docs/design.md,
 * "Observability"): every line has time, level, service, hostname, msg and, inside a request,
 * request_id, method and url. A request's one info line is "request finished" (the canonical
 * line); every few seconds a "stats" line sums up each task; both are typed in
 * @taskoverflow/observability/log-schema, and the field names below are checked against it.
 * SQL lines add sql, rows and duration_ms. They are saved in the console under "taskoverflow/".
 */
import {
  REQUEST_FINISHED_MESSAGE,
  STATS_MESSAGE,
  type ServiceRequestFinished,
  type ServiceStatsLine,
} from '@taskoverflow/observability/log-schema';

/** Fields of the canonical line, as a query names them. */
const req = (...names: Array<keyof ServiceRequestFinished>): string => names.join(', ');
/** A `stats` line's field, as a query names it. */
const stat = (name: keyof ServiceStatsLine): string => name;

export interface LogQuery {
  name: string;
  query: string;
}

/** What to replace in the timeline query with the x-request-id of the request to follow. */
export const REQUEST_ID_PLACEHOLDER = 'PASTE-REQUEST-ID-HERE';

/** Every line of one request, in order: where did the time go (SQL, cache, total)? */
export const requestTimeline: LogQuery = {
  name: 'taskoverflow/request-timeline',
  query: [
    `fields time, service, hostname, level, msg, ${req('status', 'duration_ms', 'cache', 'cache_tier', 'cache_ms', 'db_queries', 'db_ms')}, @message`,
    `| filter request_id = "${REQUEST_ID_PLACEHOLDER}"`,
    '| sort time asc',
    '| limit 1000',
  ].join('\n'),
};

/**
 * Latency percentiles per endpoint, with the database and cache time behind them: one row per
 * service, method and route pattern (`/api/v1/todos/:id`). A line without a route (a 404, or
 * the edge's) is counted under its path.
 */
export const slowestEndpoints: LogQuery = {
  name: 'taskoverflow/slowest-endpoints',
  query: [
    `filter msg = "${REQUEST_FINISHED_MESSAGE}"`,
    '| parse url /^(?<path>[^?]*)/',
    `| fields coalesce(${req('route')}, path) as endpoint`,
    `| stats count(*) as requests, pct(${req('duration_ms')}, 50) as p50_ms, pct(${req('duration_ms')}, 95) as p95_ms,`,
    `    pct(${req('duration_ms')}, 99) as p99_ms, max(${req('duration_ms')}) as max_ms, avg(${req('db_queries')}) as avg_db_queries,`,
    `    avg(${req('db_ms')}) as avg_db_ms, avg(${req('cache_ms')}) as avg_cache_ms by service, method, endpoint`,
    '| sort p95_ms desc',
    '| limit 25',
  ].join('\n'),
};

/**
 * Share of 5xx answers per service, in 5-minute bins. `is_5xx` is computed with arithmetic
 * (1 for 500–599, else 0) so that it can be summed.
 */
export const errorRate: LogQuery = {
  name: 'taskoverflow/error-rate',
  query: [
    `filter msg = "${REQUEST_FINISHED_MESSAGE}"`,
    `| fields greatest(0, least(1, floor(${req('status')} / 100) - 4)) as is_5xx`,
    '| stats count(*) as requests, sum(is_5xx) as errors_5xx, 100 * sum(is_5xx) / count(*) as error_rate_percent',
    '    by service, bin(5m) as period',
    '| sort period desc, service asc',
  ].join('\n'),
};

/**
 * The `stats` lines of every task, per service and minute: load, latency, errors, shedding,
 * cache bypasses, and how close the tasks ran to their limits.
 */
export const serviceStats: LogQuery = {
  name: 'taskoverflow/service-stats',
  query: [
    `filter msg = "${STATS_MESSAGE}"`,
    `| stats sum(${stat('requests')}) as requests, max(${stat('p99_ms')}) as worst_p99_ms,`,
    `    sum(${stat('status_5xx')}) as errors_5xx, sum(${stat('shed')}) as shed, sum(${stat('rate_limited')}) as rate_limited,`,
    `    sum(${stat('cache_hit')}) as cache_hits, sum(${stat('cache_bypass')}) as cache_bypasses, sum(${stat('db_queries')}) as db_queries,`,
    `    max(${stat('event_loop_delay_p99_ms')}) as worst_event_loop_delay_ms, max(${stat('rss_mb')}) as max_rss_mb,`,
    `    sum(${stat('cpu_ms')}) as cpu_ms by service, bin(1m) as minute`,
    '| sort minute desc, service asc',
  ].join('\n'),
};

export const logQueries: readonly LogQuery[] = [requestTimeline, slowestEndpoints, errorRate, serviceStats];
