import type { EndpointSummary } from '../endpoint-stats.js';
import type { ReadStats } from '../log-reader.js';
import type { Candidate } from '../request-lookup.js';
import type { RequestSummary } from '../slowest.js';
import type { Timeline } from '../timeline.js';
import { isoTime } from './text.js';

/**
 * The --json forms: snake_case like the log fields, durations in ms rounded to the
 * microsecond (sums of floats otherwise print as 3.0369999999999995), times in ISO 8601.
 */

function ms(value: number): number;
function ms(value: number | undefined): number | null;
function ms(value: number | undefined): number | null {
  return value === undefined ? null : Math.round(value * 1000) / 1000;
}

export function readJson(stats: ReadStats): object {
  return { files: stats.files, lines: stats.lines, unparseable: stats.unparseable };
}

export function timelineJson(timeline: Timeline): object {
  const { breakdown } = timeline;
  return {
    request_id: timeline.requestId,
    method: timeline.method ?? null,
    url: timeline.url ?? null,
    status: timeline.status ?? null,
    started_at: isoTime(timeline.startedAtMs),
    total_ms: ms(breakdown.totalMs),
    breakdown: {
      total_ms: ms(breakdown.totalMs),
      edge_ms: ms(breakdown.edgeMs),
      service_ms: ms(breakdown.serviceMs),
      db_ms: ms(breakdown.dbMs),
      cache_ms: ms(breakdown.cacheMs),
      edge_overhead_ms: ms(breakdown.edgeOverheadMs),
      other_ms: ms(breakdown.otherMs),
      queries: breakdown.queries,
      cache_lookups: breakdown.cacheLookups,
      service_requests: breakdown.serviceRequests,
    },
    // Each event is its log line as written, with where it falls in the request.
    events: timeline.events.map((event) => ({ ...event.entry.record, offset_ms: event.offsetMs, kind: event.kind })),
  };
}

export function requestJson(request: RequestSummary): object {
  return {
    request_id: request.requestId,
    method: request.method,
    url: request.url,
    endpoint: request.endpoint,
    service: request.service,
    hostname: request.hostname,
    status: request.status ?? null,
    total_ms: ms(request.totalMs),
    db_ms: ms(request.dbMs),
    cache_ms: ms(request.cacheMs),
    other_ms: ms(request.otherMs),
    queries: request.queries,
    finished_at: isoTime(request.finishedAtMs),
  };
}

export function endpointJson(endpoint: EndpointSummary): object {
  return {
    endpoint: endpoint.endpoint,
    count: endpoint.count,
    p50_ms: ms(endpoint.p50Ms),
    p95_ms: ms(endpoint.p95Ms),
    p99_ms: ms(endpoint.p99Ms),
    max_ms: ms(endpoint.maxMs),
    server_errors: endpoint.serverErrors,
    server_error_share: endpoint.serverErrors / endpoint.count,
  };
}

export function candidateJson(candidate: Candidate): object {
  return {
    request_id: candidate.requestId,
    first_seen: isoTime(candidate.timeMs),
    method: candidate.method ?? null,
    url: candidate.url ?? null,
  };
}
