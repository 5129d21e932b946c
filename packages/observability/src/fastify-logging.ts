import type { FastifyServerOptions } from 'fastify';
import { RequestLogController } from './log-controller.js';
import { createLogger, type LoggerSettings } from './logger.js';
import { correlationId } from './request-id.js';
import type { RequestStats } from './stats.js';

export interface FastifyLoggingSettings extends LoggerSettings {
  /** Requests to this path are health checks: counted, not logged one by one. */
  healthPath?: string;
  /** Counts every request for the `stats` line; register observabilityPlugin with the same one. */
  stats?: RequestStats | undefined;
}

/**
 * The Fastify options that put a server's logs in the TaskOverflow schema: the logger, the
 * request id (validated x-request-id, else the ALB trace Root, else a UUID — never the raw
 * header), the request lines, and method and url on every line of a request.
 */
export function fastifyLogging(
  settings: FastifyLoggingSettings,
): Pick<
  FastifyServerOptions,
  'loggerInstance' | 'logController' | 'genReqId' | 'requestIdHeader' | 'childLoggerFactory'
> {
  return {
    loggerInstance: createLogger(settings),
    requestIdHeader: false,
    genReqId: correlationId,
    logController: new RequestLogController(settings.healthPath, settings.stats),
    childLoggerFactory: (logger, bindings, options, rawRequest) =>
      logger.child({ ...bindings, method: rawRequest.method, url: rawRequest.url }, options),
  };
}
