import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { roundMs } from './context.js';
import { REQUEST_FINISHED_MESSAGE, type ServiceRequestFinished } from './log-schema.js';
import type { RequestStats } from './stats.js';

/** Label of the correlation ID in every log line of a request. */
export const REQUEST_ID_LOG_LABEL = 'request_id';

/** At most one health-check summary line per this interval. */
const HEALTH_SUMMARY_INTERVAL_MS = 60_000;

/**
 * Fastify's request lines in our schema. One canonical `request finished` line per request
 * (request_id, method and url come from the request's logger) with everything known about
 * it: route, status, duration, bytes, cache outcome, tier and time, database queries and
 * time, and for a request answered with an error its code and cause; `request started` is at debug. Each request also counts towards the `stats` line.
 * Successful health checks — one every few seconds per load-balancer target — are counted
 * and summarised once a minute instead of logged one by one; failing ones are logged.
 */
export class RequestLogController extends LogController {
  private healthChecksSinceSummary = 0;
  private lastHealthSummaryAt = Date.now();

  constructor(
    private readonly healthPath: string | undefined,
    private readonly stats: RequestStats | undefined,
  ) {
    super({ requestIdLogLabel: REQUEST_ID_LOG_LABEL });
  }

  override incomingRequest(request: FastifyRequest): void {
    if (request.url !== this.healthPath) request.log.debug('request started');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const status = reply.statusCode;
    if (request.url === this.healthPath && !error && status === 200) {
      this.countHealthCheck(request);
      return;
    }
    const record = request.record;
    const durationMs = reply.elapsedTime;
    this.stats?.add(status, durationMs, record);
    const cacheMs = record?.cacheMs;
    const fields: ServiceRequestFinished = {
      route: request.routeOptions.url,
      status,
      duration_ms: roundMs(durationMs),
      bytes: responseBytes(reply),
      cache: record?.cache,
      cache_tier: record?.cacheTier,
      cache_ms: cacheMs === undefined ? undefined : roundMs(cacheMs),
      db_queries: record?.dbQueries ?? 0,
      db_ms: roundMs(record?.dbMs ?? 0),
      shed: record?.shed,
      error_code: record?.errorCode,
      error_cause: record?.errorCause,
    };
    if (error) {
      fields.err = error;
      reply.log.error(fields, REQUEST_FINISHED_MESSAGE);
    } else {
      reply.log.info(fields, REQUEST_FINISHED_MESSAGE);
    }
  }

  /** The finished line carries the 404; Fastify's extra "route not found" line is noise. */
  override routeNotFound(): void {}

  private countHealthCheck(request: FastifyRequest): void {
    this.healthChecksSinceSummary += 1;
    const now = Date.now();
    if (now - this.lastHealthSummaryAt < HEALTH_SUMMARY_INTERVAL_MS) return;
    request.log.info(
      { health_checks: this.healthChecksSinceSummary, period_s: Math.round((now - this.lastHealthSummaryAt) / 1000) },
      'health checks answered',
    );
    this.healthChecksSinceSummary = 0;
    this.lastHealthSummaryAt = now;
  }
}

/** The response body's size, from its Content-Length (every body this API sends has one); 0 without. */
function responseBytes(reply: FastifyReply): number {
  const length = reply.getHeader('content-length');
  return length === undefined ? 0 : Number(length);
}
