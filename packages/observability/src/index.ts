export {
  currentLogger,
  recordCacheLookup,
  recordQuery,
  recordShed,
  recordTiming,
  RequestRecord,
  roundMs,
  type CacheOutcome,
  type CacheTier,
} from './context.js';
export { RequestLogController, REQUEST_ID_LOG_LABEL } from './log-controller.js';
export { createLogger, LOG_FORMATS, loggerOptions, STATS_MESSAGE, type LogFormat, type LoggerSettings } from './logger.js';
export { observabilityPlugin, type ObservabilityOptions } from './plugin.js';
export { LoadBalancerStats, readStatsIntervalMs, RequestStats } from './stats.js';
export { QueryLog } from './query-log.js';
export { correlationId, SAFE_REQUEST_ID } from './request-id.js';
export { fastifyLogging, type FastifyLoggingSettings } from './fastify-logging.js';
export { cloudWatchTransportTarget, type CloudWatchTransportTarget } from './cloudwatch/config.js';
