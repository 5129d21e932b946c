export { currentLogger, recordTiming, roundMs, type RequestTimings } from './context.js';
export { RequestLogController, REQUEST_ID_LOG_LABEL } from './log-controller.js';
export { createLogger, LOG_FORMATS, loggerOptions, STATS_MESSAGE, type LogFormat, type LoggerSettings } from './logger.js';
export { observabilityPlugin } from './plugin.js';
export { QueryLog } from './query-log.js';
export { correlationId, SAFE_REQUEST_ID } from './request-id.js';
export { fastifyLogging, type FastifyLoggingSettings } from './fastify-logging.js';
export { cloudWatchTransportTarget, type CloudWatchTransportTarget } from './cloudwatch/config.js';
