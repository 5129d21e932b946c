/**
 * CloudWatch Logs Insights queries over the services' JSON lines (DESIGN.md, "Logs"): every
 * line has time, level, service, hostname, msg and, inside a request, request_id, method and
 * url; the "request finished" line adds status and duration_ms; SQL lines add sql, rows and
 * duration_ms. They are saved in the console under "taskoverflow/".
 */
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
    'fields time, service, hostname, level, msg, duration_ms, status, @message',
    `| filter request_id = "${REQUEST_ID_PLACEHOLDER}"`,
    '| sort time asc',
    '| limit 1000',
  ].join('\n'),
};

/**
 * Latency percentiles per endpoint. The path loses its query string and a trailing numeric id
 * (`/api/v1/todos/42` → endpoint `/api/v1/todos`, by_id 1), so each route is one row.
 */
export const slowestEndpoints: LogQuery = {
  name: 'taskoverflow/slowest-endpoints',
  query: [
    'filter msg = "request finished"',
    '| parse url /^(?<path>[^?]*)/',
    '| parse path /^(?<collection>.+)\\/\\d+\\/?$/',
    '| fields coalesce(collection, path) as endpoint, ispresent(collection) as by_id',
    '| stats count(*) as requests, pct(duration_ms, 50) as p50_ms, pct(duration_ms, 95) as p95_ms,',
    '    pct(duration_ms, 99) as p99_ms, max(duration_ms) as max_ms by service, method, endpoint, by_id',
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
    'filter msg = "request finished"',
    '| fields greatest(0, least(1, floor(status / 100) - 4)) as is_5xx',
    '| stats count(*) as requests, sum(is_5xx) as errors_5xx, 100 * sum(is_5xx) / count(*) as error_rate_percent',
    '    by service, bin(5m) as period',
    '| sort period desc, service asc',
  ].join('\n'),
};

export const logQueries: readonly LogQuery[] = [requestTimeline, slowestEndpoints, errorRate];
