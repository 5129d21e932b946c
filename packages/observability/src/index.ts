export {
  currentLogger,
  recordCacheLookup,
  recordQuery,
  recordShed,
  recordTiming,
  RequestRecord,
  roundMs,
} from './context.js';
export {
  CACHE_OUTCOMES,
  EDGE_LISTENING_MESSAGE,
  EDGE_SERVICE,
  isCacheOutcome,
  LEVEL_LABELS,
  parseLogRecord,
  REQUEST_FINISHED_MESSAGE,
  STATS_MESSAGE,
  type AnyStatsLine,
  type CacheOutcome,
  type CacheOutcomeCounts,
  type CacheTier,
  type EdgeCountedFields,
  type EdgeListening,
  type EdgeRequestFinished,
  type EdgeStatsLine,
  type ServiceCountedFields,
  type ServiceRequestFinished,
  type ServiceStatsLine,
  type StatsFields,
  type StatsGauge,
} from './log-schema.js';
export { RequestLogController, REQUEST_ID_LOG_LABEL } from './log-controller.js';
export { createLogger, LOG_FORMATS, loggerOptions, type LogFormat, type LoggerSettings } from './logger.js';
export { observabilityPlugin, type ObservabilityOptions } from './plugin.js';
export { LoadBalancerStats, readStatsIntervalMs, RequestStats, type MeasuredProcess, type StatsLog } from './stats.js';
export { QueryLog } from './query-log.js';
export { AMZN_TRACE_ROOT, correlationId, SAFE_REQUEST_ID } from './request-id.js';
export { fastifyLogging, type FastifyLoggingSettings } from './fastify-logging.js';
export { cloudWatchTransportTarget, type CloudWatchTransportTarget } from './cloudwatch/config.js';
