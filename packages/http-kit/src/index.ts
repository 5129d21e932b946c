export {
  buildServiceApp,
  createServiceApp,
  fastifyOptions,
  HEADERS_TIMEOUT_MS,
  type ServiceApp,
  type ServiceAppOptions,
} from './app.js';
export { loadServiceConfig, readBaseServiceConfig, type BaseServiceConfig } from './config.js';
export { LOG_LEVELS, type LogLevel } from '@taskoverflow/config';
export { BodyNotUtf8Error, RateLimitedError, RedisRejectedError, RETRY_AFTER_SECONDS } from './errors.js';
export { describeLateShedding } from './load-shedding.js';
export { rateLimitPlugin, type RateLimitOptions, type RateLimitSettings } from './rate-limit.js';
export { buildOpenApiDocument, openApiRoute } from './openapi.js';
export { runService, SHUTDOWN_GRACE_MS, type RunServiceOptions } from './server.js';
export {
  checkRedisConnection,
  REDIS_STARTUP_TIMEOUT_MS,
  warnRedisUnavailable,
  type RedisAtStartup,
} from './startup-checks.js';
export { describeValidationFailure } from './validation.js';
