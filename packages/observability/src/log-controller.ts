import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { roundMs } from './context.js';

/** Label of the correlation ID in every log line of a request. */
export const REQUEST_ID_LOG_LABEL = 'request_id';

/** At most one health-check summary line per this interval. */
const HEALTH_SUMMARY_INTERVAL_MS = 60_000;

/**
 * Fastify's request lines in our schema: "request started" and "request finished" with
 * `status` and `duration_ms` (request_id, method and url come from the request's logger).
 * Successful health checks — one every few seconds per load-balancer target — are counted
 * and summarised once a minute instead of logged one by one; failing ones are logged.
 */
export class RequestLogController extends LogController {
  private healthChecksSinceSummary = 0;
  private lastHealthSummaryAt = Date.now();

  constructor(
    private readonly healthPath: string | undefined,
    private readonly finishedFields?: (request: FastifyRequest, reply: FastifyReply) => Record<string, unknown>,
  ) {
    super({ requestIdLogLabel: REQUEST_ID_LOG_LABEL });
  }

  private isHealthCheck(request: FastifyRequest): boolean {
    return request.url === this.healthPath;
  }

  override incomingRequest(request: FastifyRequest): void {
    if (this.isHealthCheck(request)) return;
    request.log.info('request started');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = {
      status: reply.statusCode,
      duration_ms: roundMs(reply.elapsedTime),
      ...this.finishedFields?.(request, reply),
    };
    if (this.isHealthCheck(request) && !error && reply.statusCode === 200) {
      this.countHealthCheck(request);
      return;
    }
    if (error) reply.log.error({ ...fields, err: error }, 'request finished');
    else reply.log.info(fields, 'request finished');
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
