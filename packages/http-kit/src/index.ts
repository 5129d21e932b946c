export {
  buildServiceApp,
  createServiceApp,
  fastifyOptions,
  HEALTH_PATH,
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  type ServiceApp,
  type ServiceAppOptions,
} from './app.js';
export {
  LOG_LEVELS,
  loadServiceConfig,
  readBaseServiceConfig,
  type BaseServiceConfig,
  type LogLevel,
} from './config.js';
export { RETRY_AFTER_SECONDS } from './errors.js';
export { describeLateShedding } from './load-shedding.js';
export { rateLimitPlugin, type RateLimitOptions, type RateLimitSettings } from './rate-limit.js';
export { buildOpenApiDocument, openApiRoute } from './openapi.js';
export { runService, SHUTDOWN_GRACE_MS, type RunServiceOptions } from './server.js';
export { checkRedisConnection, RedisUnreachableError, REDIS_STARTUP_TIMEOUT_MS } from './startup-checks.js';
export { describeValidationFailure } from './validation.js';
