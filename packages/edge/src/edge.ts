import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import replyFrom from '@fastify/reply-from';
import { BODY_TOO_LARGE, REQUEST_BODY_LIMIT_BYTES } from '@taskoverflow/domain';
import { fastifyLogging, type LoggerSettings } from '@taskoverflow/observability';
import { routeRequest, SERVICES, type ServiceName } from '@taskoverflow/routing';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TargetGroup, type HealthCheckSettings } from './target-group.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Each service's replicas; register and deregister them while the edge runs. */
    targetGroups: Record<ServiceName, TargetGroup>;
  }
}

export interface EdgeOptions {
  /** Base URLs of each service's replicas, e.g. `{ 'todo-read': ['http://127.0.0.1:3101'], … }`. */
  upstreams: Record<ServiceName, string[]>;
  /** Log settings; the edge logs JSON lines as `service: "edge"` at `info` by default. */
  logging?: Partial<Omit<LoggerSettings, 'service'>>;
  /** How long a replica may take to start its response. Default: 60 s, the ALB's idle timeout. */
  upstreamTimeoutMs?: number;
  /** Health checks of the replicas. Default: GET /api/v1/health every 500 ms, 1 s timeout. */
  healthCheck?: Partial<HealthCheckSettings>;
}

const DEFAULT_HEALTH_CHECK: HealthCheckSettings = { path: '/api/v1/health', intervalMs: 500, timeoutMs: 1_000 };

const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;
/** Longer than the ALB's 60 s idle timeout, as the services' own keep-alive is. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/**
 * Connection errors that mean the request never reached the replica, so another replica may
 * take it without risking a write being applied twice. A replica that is restarting refuses
 * connections; this is what lets a rolling restart lose no request.
 */
const NOT_CONNECTED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** QUERY requests that came without a Content-Type: the edge gave them one only to read them. */
const untypedQueries = new WeakSet<FastifyRequest>();

/**
 * The local stand-in for the AWS ALB: routes each request by the shared routing table,
 * spreads it round robin over the service's healthy replicas (health-checked like an ALB
 * target group), fails over when a replica refuses the connection, and tags each request
 * with an `x-request-id`.
 */
export async function buildEdge(options: EdgeOptions): Promise<FastifyInstance> {
  const timeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const upstreamOf = new WeakMap<FastifyRequest, string>();

  const app = Fastify({
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // The correlation id, as the services derive it: a well-formed x-request-id, else the
    // Root of the ALB's trace id, else a new UUID. It is passed on as x-request-id.
    ...fastifyLogging({
      service: 'edge',
      hostname: 'edge',
      level: 'info',
      ...options.logging,
      finishedFields: (request) => ({ upstream: upstreamOf.get(request) }),
    }),
  });
  const healthCheck = { ...DEFAULT_HEALTH_CHECK, ...options.healthCheck };
  const targetGroups = Object.fromEntries(
    SERVICES.map((service) => [
      service,
      new TargetGroup(service, replicaOrigins(service, options.upstreams[service]), healthCheck, app.log),
    ]),
  ) as Record<ServiceName, TargetGroup>;
  app.decorate('targetGroups', targetGroups);
  app.addHook('onReady', async () => Object.values(targetGroups).forEach((group) => group.startHealthChecks()));
  app.addHook('onClose', async () => Object.values(targetGroups).forEach((group) => group.stopHealthChecks()));

  // destroyAgent: close() also closes the keep-alive connections to the replicas.
  await app.register(replyFrom, { disableRequestLogging: true, destroyAgent: true });

  // Bodies are read whole but not parsed: parsing and 415s are the services' business. Whole,
  // so that a body can go to the next replica when one refuses the connection. Bodies over
  // the services' limit are refused here, as the services would: a service answers those
  // with 413 and closes the connection, which a proxy still uploading sees as a reset
  // (EPIPE) before it can read the 413.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: REQUEST_BODY_LIMIT_BYTES }, (_request, body, done) =>
    done(null, body),
  );
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode ?? 500;
    sendError(reply, status, error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? BODY_TOO_LARGE : error.message);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Fastify answers a QUERY without Content-Type with its own 400 (RFC 10008 §2) before
    // any parser runs. The ALB passes such a request on, so the edge reads it as untyped
    // bytes and forwards it as it came (see rewriteRequestHeaders): the service answers it.
    if (request.method === 'QUERY' && request.headers['content-type'] === undefined) {
      untypedQueries.add(request);
      request.headers['content-type'] = 'application/octet-stream';
    }
  });

  app.all('/*', (request, reply) => {
    const service = routeRequest(request.method, request.url.split('?', 1)[0] ?? '/');
    const body = Buffer.isBuffer(request.body) ? request.body : undefined;
    const replicas = targetGroups[service].inTurn();
    if (replicas.length === 0) return sendError(reply, 502, `${service} is unavailable: no replica is registered`);
    forward({ request, reply, service, body, timeoutMs, replicas, failures: [], upstreamOf });
  });

  return app;
}

function replicaOrigins(service: ServiceName, baseUrls: string[] | undefined): string[] {
  if (!baseUrls?.length) {
    throw new Error(`edge: no replicas given for ${service}; pass at least one base URL, e.g. http://127.0.0.1:3101`);
  }
  return baseUrls.map((url) => new URL(url).origin);
}

interface Attempt {
  request: FastifyRequest;
  reply: FastifyReply;
  service: ServiceName;
  /** The client's request body, if it has one. */
  body: Buffer | undefined;
  timeoutMs: number;
  /** Replicas still to try, the next one first. */
  replicas: string[];
  /** Why each replica tried so far did not take the request. */
  failures: string[];
  /** Which replica served each request, for its "request finished" log line. */
  upstreamOf: WeakMap<FastifyRequest, string>;
}

function forward(attempt: Attempt): void {
  const { request, reply, service, body, timeoutMs, failures } = attempt;
  const [replica, ...fallbacks] = attempt.replicas as [string, ...string[]];
  attempt.upstreamOf.set(request, replica);
  // As a stream: reply-from would JSON-encode a Buffer sent as application/json.
  if (body) request.body = Readable.from([body]);

  reply.from(replica + request.url, {
    timeout: timeoutMs,
    // reply-from retries a GET that got a 503; the ALB passes the 503 on.
    retryDelay: () => null,
    // Hop-by-hop headers describe the replica's connection to the edge, not the client's:
    // passing on `connection: keep-alive` would keep open a connection the client asked to close.
    rewriteHeaders: (headers) => {
      const { connection: _connection, 'keep-alive': _keepAlive, ...endToEnd } = headers;
      return endToEnd;
    },
    rewriteRequestHeaders: (_request, headers) => {
      // The edge has read the whole body already (its own server answered any
      // `Expect: 100-continue`), and undici refuses to send the header on.
      const { expect: _answered, ...forwarded } = headers;
      if (untypedQueries.has(request)) delete forwarded['content-type'];
      return { ...forwarded, ...albHeaders(request) };
    },
    onError: (_sameReply, { error }) => {
      const cause = (error.cause ?? error) as NodeJS.ErrnoException;
      if (cause.code && NOT_CONNECTED_CODES.has(cause.code)) {
        failures.push(`${replica}: ${cause.code}`);
        if (fallbacks.length > 0) {
          request.log.warn({ replica, code: cause.code }, `${service} replica unreachable, trying the next one`);
          forward({ ...attempt, replicas: fallbacks });
        } else {
          sendError(reply, 502, `${service} is unavailable: no replica answered (${failures.join('; ')})`);
        }
      } else if ((error as { statusCode?: number }).statusCode === 504) {
        sendError(reply, 504, `${service} did not answer within ${timeoutMs / 1000} s (${replica})`);
      } else {
        sendError(reply, 502, `${service} replica ${replica} failed: ${cause.message}`);
      }
    },
  });
}

/** Request headers the ALB adds or keeps on the way to a target. */
function albHeaders(request: FastifyRequest): IncomingHttpHeaders {
  const forwardedFor = request.headers['x-forwarded-for'];
  return {
    // reply-from sets Host to the replica's address; the ALB keeps the client's.
    host: request.headers.host,
    'x-request-id': request.id,
    'x-forwarded-for': forwardedFor ? `${forwardedFor}, ${request.ip}` : request.ip,
    'x-forwarded-proto': 'http',
  };
}

function sendError(reply: FastifyReply, statusCode: number, message: string): void {
  reply.code(statusCode).send({ error: message });
}
