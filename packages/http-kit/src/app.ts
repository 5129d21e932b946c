import { hostname } from 'node:os';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { INPUT_DATE_FORMAT, operationSchemas, parseInputDate, REQUEST_BODY_LIMIT_BYTES } from '@taskoverflow/domain';
import { fastifyLogging, observabilityPlugin, RequestStats, type LogFormat } from '@taskoverflow/observability';
import { HEALTH_PATH, KEEP_ALIVE_TIMEOUT_MS, type ServiceName } from '@taskoverflow/routing';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { TransportTargetOptions } from 'pino';
import { BodyNotUtf8Error, installErrorHandler } from './errors.js';
import { type LoadSheddingSettings, loadSheddingPlugin } from './load-shedding.js';
import { installNotFoundHandler } from './not-found.js';
import { closeUndrainedConnections } from './undrained-responses.js';
import type { LogLevel } from '@taskoverflow/config';
import type { BaseServiceConfig } from './config.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Fail health checks from now on: the first step of a graceful shutdown. */
    startDraining: () => void;
  }
}

/**
 * A request's headers, and the whole request with its body, must arrive within this long of
 * its first byte, or it is answered 408 and its connection closed: a client dripping them
 * holds a connection and a body buffer for 10 s, not Node's default 300 s. Node times a
 * request from its first byte, not from the previous response, so an idle keep-alive
 * connection (KEEP_ALIVE_TIMEOUT_MS, @taskoverflow/routing) is not cut short by these.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 10_000;
/** How often Node checks those two (its default, 30 s, would stretch a 10 s bound to 40 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** Fastify options shared by every service (and the OpenAPI generator). */
export function fastifyOptions(): FastifyServerOptions {
  return {
    bodyLimit: REQUEST_BODY_LIMIT_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8 * 1024 },
    ajv: {
      customOptions: {
        // The contract rejects wrong types and unknown keys instead of fixing them up, and
        // reports "extra fields" before "missing title", which needs every error collected.
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: true,
        allowUnionTypes: true,
        formats: { [INPUT_DATE_FORMAT]: (value: string) => parseInputDate(value) !== undefined },
      },
    },
  };
}

export interface ServiceAppOptions {
  service: ServiceName;
  logLevel?: LogLevel;
  logFormat?: LogFormat;
  /** Write every line to this file, only warnings, errors and `stats` to stdout (LOG_FILE). */
  logFile?: string | undefined;
  /** A `stats` line every this many ms (STATS_INTERVAL_MS); 0 or unset: none. */
  statsIntervalMs?: number;
  /** Extra log destinations, e.g. CloudWatch Logs. */
  logTargets?: TransportTargetOptions[];
  /** Replica name for logs (e.g. todo-read-2); defaults to the host name. */
  instance?: string | undefined;
  /** Unset: no load shedding (e.g. in unit tests). */
  loadShedding?: LoadSheddingSettings;
  /** Proxies that append to X-Forwarded-For in front of the service (see BaseServiceConfig). Default: 0. */
  trustProxyHops?: number;
  /** A connection whose response waits this long for its client to read is closed (CLIENT_DRAIN_TIMEOUT_MS). Unset: never. */
  clientDrainTimeoutMs?: number;
}

/**
 * A Fastify app configured as every TaskOverflow service is: JSON logs with the service name
 * and correlation id, x-request-id and Server-Timing on every response, contract-shaped
 * errors, 404/405 for the whole API, and the health route.
 */
export function createServiceApp(options: ServiceAppOptions) {
  const stats = options.statsIntervalMs ? new RequestStats(options.statsIntervalMs) : undefined;
  const logging = fastifyLogging({
    service: options.service,
    hostname: options.instance ?? hostname(),
    level: options.logLevel ?? 'info',
    format: options.logFormat ?? 'json',
    file: options.logFile,
    targets: options.logTargets ?? [],
    healthPath: HEALTH_PATH,
    stats,
  });
  const trustedHops = options.trustProxyHops ?? 0;
  const base = Fastify({
    ...fastifyOptions(),
    ...logging,
    // Fastify's numeric trustProxy, spelled as the function its types accept.
    trustProxy: (_address: string, hop: number) => hop < trustedHops,
    http: { headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
  });
  if (options.clientDrainTimeoutMs) closeUndrainedConnections(base.server, options.clientDrainTimeoutMs);
  // Fastify parses text/plain by default; the API takes JSON only, anything else is a 415.
  base.removeContentTypeParser('text/plain');
  // On the base instance: the helpers take a plain FastifyInstance, which the type-provided one is not.
  installStrictJsonParser(base);
  base.register(observabilityPlugin, { stats });
  if (options.loadShedding)
    base.register(loadSheddingPlugin, { settings: options.loadShedding, healthPath: HEALTH_PATH });
  // After the plugins: the 404 handler gets only the hooks added before it (x-request-id…).
  installErrorHandler(base);
  installNotFoundHandler(base, options.service);
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  // Set on SIGTERM (see runService): the health check fails so that the load balancer takes
  // this replica out of rotation while it still serves what reaches it.
  let draining = false;
  app.decorate('startDraining', () => {
    draining = true;
  });
  app.get(HEALTH_PATH, { schema: operationSchemas.health }, async (_request, reply) =>
    draining ? reply.code(503).send({ status: 'draining' as const }) : { status: 'ok' as const },
  );
  return app;
}

export type ServiceApp = ReturnType<typeof createServiceApp>;

/**
 * A service's app: the factory's defaults configured from the service's config, with the
 * service's own plugin registered on it.
 */
export async function buildServiceApp<Config extends BaseServiceConfig>(
  service: ServiceName,
  config: Config,
  plugin: (app: ServiceApp, options: Config) => Promise<void>,
): Promise<ServiceApp> {
  const app = createServiceApp({
    service,
    logLevel: config.logLevel,
    logFormat: config.logFormat,
    logFile: config.logFile,
    statsIntervalMs: config.statsIntervalMs,
    logTargets: config.logTargets,
    instance: config.instance,
    loadShedding: config.loadShedding,
    trustProxyHops: config.trustProxyHops,
    clientDrainTimeoutMs: config.clientDrainTimeoutMs,
  });
  await app.register(plugin, config);
  return app;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON must be UTF-8 (RFC 8259). Node would quietly turn invalid bytes into U+FFFD and store
 * them; this parser refuses them with a 400 and otherwise hands over to Fastify's own JSON
 * parser (prototype-poisoning protection included).
 *
 * An empty body sent to a route that takes none (a DELETE from a client that puts
 * `Content-Type: application/json` on every request) is no body, not malformed JSON.
 */
function installStrictJsonParser(app: FastifyInstance): void {
  // Fastify's default parser is the callback kind (lib/content-type-parser.js); its type is the
  // union of both parser kinds.
  const parseJson = app.getDefaultJsonParser('error', 'error') as (
    request: FastifyRequest,
    body: string,
    done: (error: Error | null, body?: unknown) => void,
  ) => void;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if ((body as Buffer).length === 0 && request.routeOptions.schema?.body === undefined) {
      done(null, undefined);
      return;
    }
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new BodyNotUtf8Error(), undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
