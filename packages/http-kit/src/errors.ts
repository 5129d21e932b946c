import createError from '@fastify/error';
import { BODY_TOO_LARGE, DATABASE_UNAVAILABLE_CODE } from '@taskoverflow/domain';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeValidationFailure } from './validation.js';

/** A JSON body whose bytes are not UTF-8 (JSON must be, RFC 8259). */
export const BodyNotUtf8Error = createError(
  'TASKOVERFLOW_BODY_NOT_UTF8',
  'body is not valid UTF-8: send JSON encoded as UTF-8',
  400,
);

/** Over the rate limit (RATE_LIMIT_MAX_REQUESTS); thrown so that the shared handler words it like every other 4xx. */
export const RateLimitedError = createError<
  'TASKOVERFLOW_RATE_LIMITED',
  [max: number, window: string, retryIn: string]
>('TASKOVERFLOW_RATE_LIMITED', 'rate limit exceeded: at most %d requests per %s; retry in %s', 429);

/**
 * REDIS_URL is set but Redis rejects the service in a way no restart can fix: its AUTH token
 * (WRONGPASS, NOAUTH, NOPERM) or TLS (a certificate that does not verify). A Redis that cannot
 * be reached is no error: the service starts uncached (checkRedisConnection).
 */
export const RedisRejectedError = createError<'TASKOVERFLOW_REDIS_REJECTED', [target: string, reason: string]>(
  'TASKOVERFLOW_REDIS_REJECTED',
  'Redis at %s rejects this service: %s. A restart cannot fix this: check REDIS_URL (rediss:// for TLS, ' +
    'the AUTH token after the colon) and the server certificate; unset REDIS_URL to run without the cache',
);

/** Seconds a client should wait before retrying when a dependency is unavailable. */
export const RETRY_AFTER_SECONDS = 1;

/** Fastify's own 4xx errors, worded for API clients. */
const frameworkMessages: Record<string, (error: FastifyError) => string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => 'Content-Type must be application/json',
  FST_ERR_CTP_BODY_TOO_LARGE: () => BODY_TOO_LARGE,
  FST_ERR_CTP_EMPTY_JSON_BODY: () => 'body must be a JSON object, got an empty body',
  FST_ERR_CTP_INVALID_JSON_BODY: (error) => `malformed JSON: ${error.message}`,
};

interface PostgresError {
  code: string;
  severity?: string;
}

function isPostgresError(error: unknown): error is PostgresError {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as PostgresError).code === 'string' &&
    typeof (error as PostgresError).severity === 'string'
  );
}

function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: message });
}

/**
 * Every failure becomes a JSON body `{"error": "..."}`: bad input a 4xx naming the problem,
 * an unavailable database a 503 with Retry-After, anything else a 500 whose details stay in
 * the log.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error.validation) {
      return sendError(reply, 400, describeValidationFailure(error.validation, error.validationContext));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const describe = error.code ? frameworkMessages[error.code] : undefined;
      return sendError(reply, status, describe ? describe(error) : error.message);
    }
    if (error.code === DATABASE_UNAVAILABLE_CODE) {
      // Created by packages/db for every pg failure that means "no database now"; its cause is pg's error.
      request.log.warn({ err: error }, 'database unavailable; answering 503');
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendError(reply, 503, error.message);
    }
    if (isPostgresError(error) && /^(22|23)/.test(error.code)) {
      // Data exceptions and constraint violations come from values the schemas let through:
      // still the client's input, so a 400 — and a log line, since the schema should catch it.
      request.log.warn({ err: error }, 'input rejected by PostgreSQL');
      return sendError(reply, 400, 'invalid value');
    }
    if (status === 503) {
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return sendError(reply, 503, error.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, 'Internal Server Error');
  });
}
