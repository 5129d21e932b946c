import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BODY_TOO_LARGE, REQUEST_BODY_LIMIT_BYTES } from '@taskoverflow/domain';
import {
  correlationId,
  createLogger,
  EDGE_LISTENING_MESSAGE,
  EDGE_SERVICE,
  LoadBalancerStats,
  REQUEST_FINISHED_MESSAGE,
  roundMs,
  type EdgeListening,
  type EdgeRequestFinished,
  type LoggerSettings,
} from '@taskoverflow/observability';
import {
  HEALTH_PATH,
  KEEP_ALIVE_TIMEOUT_MS,
  LISTEN_BACKLOG,
  routeRequest,
  SERVICES,
  type ServiceName,
} from '@taskoverflow/routing';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import {
  ClientConnections,
  DEFAULT_CLIENT_LIMITS,
  MAX_PIPELINED_REQUESTS,
  SATURATION_HOLD_MS,
  TIMEOUT_CHECK_INTERVAL_MS,
  type ClientConnection,
  type ClientLimits,
  type ConnectionTurn,
} from './client-limits.js';
import {
  atCapacity,
  CLIENT_ERRORS,
  hostsAt,
  MALFORMED_REQUEST,
  queueTooLong,
  rawResponse,
  waitedTooLong,
  type AllowedHosts,
} from './raw-responses.js';
import { DEFAULT_REPLICA_QUEUE, Replica, type QueuedExchange, type ReplicaQueueSettings } from './replica.js';
import { replicaAt, TargetGroup, type HealthCheckSettings, type TargetOrder } from './target-group.js';

export interface EdgeOptions {
  /** Base URLs of each service's replicas, e.g. `{ 'todo-read': ['http://127.0.0.1:3101'], … }`. */
  upstreams: Record<ServiceName, string[]>;
  /** Log settings; the edge logs JSON lines as `service: "edge"` at `info` by default. */
  logging?: Partial<Omit<LoggerSettings, 'service'>>;
  /** How long a replica may take to start its response. Default: 60 s, the ALB's idle timeout. */
  upstreamTimeoutMs?: number;
  /** Health checks of the replicas. Default: GET /api/v1/health every 500 ms, 1 s timeout. */
  healthCheck?: Partial<HealthCheckSettings>;
  /** The bounded queue in front of each replica. Default: DEFAULT_REPLICA_QUEUE. */
  queue?: Partial<ReplicaQueueSettings>;
  /** A `stats` line every this many ms (STATS_INTERVAL_MS), and one on close; 0 or unset: none. */
  statsIntervalMs?: number;
  /** What a client may hold: timeouts and connection caps. Default: DEFAULT_CLIENT_LIMITS. */
  limits?: Partial<ClientLimits>;
  /**
   * The Host headers served (e.g. `localhost:8080`; an entry without a port means at the port
   * the edge listens on); any other is answered 421. Unset: any Host.
   */
  allowedHosts?: readonly string[];
}

/** A running load balancer. */
export interface Edge {
  /** Each service's replicas; register and deregister them while the edge runs. */
  readonly targetGroups: Record<ServiceName, TargetGroup>;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:8080`. */
  listen(address: { host: string; port: number }): Promise<string>;
  /**
   * Stops taking connections, finishes the requests in progress (their connections then
   * close), then closes the connections to the replicas.
   */
  close(): Promise<void>;
}

/** What this balancer is called in its `edge listening` line, progress lines and reports. */
export const NODE_EDGE_BALANCER = 'Node edge';

/** How often the edge health-checks each replica by default: a draining replica leaves the rotation at its next check. */
export const HEALTH_CHECK_INTERVAL_MS = 500;
export const DEFAULT_HEALTH_CHECK: HealthCheckSettings = {
  path: HEALTH_PATH,
  intervalMs: HEALTH_CHECK_INTERVAL_MS,
  timeoutMs: 1_000,
};

export const DEFAULT_UPSTREAM_TIMEOUT_MS = 60_000;

/**
 * Connection errors that mean the request never reached the replica, so another replica may
 * take it without risking a write being applied twice. A replica that is restarting refuses
 * connections; this is what lets a rolling restart lose no request.
 */
const NOT_CONNECTED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Hop-by-hop headers describe one connection (client to edge, or edge to replica), not the
 * request or response: they are not passed on. `expect` is answered by this server already,
 * and `content-length` of a request is set from the body the edge read.
 */
const REQUEST_HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'upgrade',
  'expect',
  'trailer',
  'content-length',
]);
const RESPONSE_HOP_HEADERS = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
] as const;

/**
 * The local stand-in for the AWS ALB, lean: a `node:http` server and an undici pool per
 * replica, response bodies streamed, one log line per request. It routes each request by the
 * shared routing table, spreads it round robin over the service's healthy replicas
 * (health-checked like an ALB target group), fails over when a replica refuses the
 * connection, refuses at once (503) what would wait too long for a replica, and tags each
 * request with an `x-request-id`.
 */
export async function buildEdge(options: EdgeOptions): Promise<Edge> {
  const timeoutMs = options.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const queue = { ...DEFAULT_REPLICA_QUEUE, ...options.queue };
  const limits = { ...DEFAULT_CLIENT_LIMITS, ...options.limits };
  const healthCheck = { ...DEFAULT_HEALTH_CHECK, ...options.healthCheck };
  const log = createLogger({ service: EDGE_SERVICE, hostname: EDGE_SERVICE, level: 'info', ...options.logging });
  const newReplica = (origin: string): Replica => new Replica(origin, queue, timeoutMs);
  const targetGroups = Object.fromEntries(
    SERVICES.map((service) => [
      service,
      new TargetGroup(service, replicaOrigins(service, options.upstreams[service]), healthCheck, newReplica, log),
    ]),
  ) as Record<ServiceName, TargetGroup>;

  // The line is at info: below that level nothing is counted.
  const stats =
    options.statsIntervalMs && log.isLevelEnabled('info') ? new LoadBalancerStats(options.statsIntervalMs) : undefined;
  const context: EdgeContext = {
    targetGroups,
    log,
    stats,
    timeoutMs,
    queue,
    drainTimeoutMs: limits.drainTimeoutMs,
    maxBufferedBytes: limits.maxBufferedBytes,
    bufferedBytes: 0,
    saturatedUntil: 0,
    allowedHosts: undefined,
    closing: false,
    logStarted: log.isLevelEnabled('debug'),
  };
  const server = createServer(
    {
      // Idle keep-alive as every server here (routing's constant); a request must arrive whole in time.
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    (request, response) => {
      const connection = connections.of(request.socket);
      // A connection over the per-client cap was answered as it was accepted; one closed for
      // pipelining too far ahead still has the rest of its read parsed.
      if (!connection || request.socket.destroyed) return;
      if (!connection.admit(new Exchange(context, connection, request, response))) {
        log.warn(
          { client: request.socket.remoteAddress },
          `a client pipelined more than ${MAX_PIPELINED_REQUESTS} requests ahead: connection closed`,
        );
        request.socket.destroy();
      }
    },
  );
  const retryAfter = { 'retry-after': String(queue.retryAfterSeconds) };
  const connections = new ClientConnections(
    server,
    limits,
    {
      tooManyConnections: rawResponse(
        503,
        `too many connections from this client: at most ${limits.maxConnectionsPerClient}; retry after ${queue.retryAfterSeconds} s`,
        retryAfter,
      ),
      saturated: rawResponse(503, `the replicas are at capacity: retry after ${queue.retryAfterSeconds} s`, retryAfter),
    },
    // Twice the connections the replicas serve at once: more clients than that while their
    // queues refuse is a burst they cannot take.
    (open) => context.saturatedUntil > performance.now() && open > 2 * queue.connections * replicaCount(targetGroups),
    // No request line for these (no request was read): the stats line counts them as shed 503s.
    () => stats?.add(503, 0, true),
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(error, socket, connections.of(socket)),
  );
  let closed: Promise<void> | undefined;

  return {
    targetGroups,
    async listen({ host, port }) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      Object.values(targetGroups).forEach((group) => group.startHealthChecks());
      stats?.start(log);
      const address = server.address() as AddressInfo;
      if (options.allowedHosts) context.allowedHosts = hostsAt(options.allowedHosts, address.port);
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      log.info({ balancer: NODE_EDGE_BALANCER, url } satisfies EdgeListening, EDGE_LISTENING_MESSAGE);
      return url;
    },
    close() {
      closed ??= (async () => {
        context.closing = true;
        if (server.listening) {
          const serverClosed = new Promise((resolve) => server.close(resolve));
          // Keep-alive connections with no request in progress; busy ones close after their
          // response, which says `connection: close` from now on.
          server.closeIdleConnections();
          await serverClosed;
        }
        await Promise.all(Object.values(targetGroups).map((group) => group.close()));
        stats?.stop();
        // The lines still buffered for LOG_FILE, the last stats line among them: the process exits next.
        await new Promise<void>((resolve) => log.flush(() => resolve()));
      })();
      return closed;
    },
  };
}

function replicaCount(targetGroups: Record<ServiceName, TargetGroup>): number {
  let count = 0;
  for (const service of SERVICES) count += targetGroups[service].order.replicas.length;
  return count;
}

function replicaOrigins(service: ServiceName, baseUrls: string[] | undefined): string[] {
  if (!baseUrls?.length) {
    throw new Error(`edge: no replicas given for ${service}; pass at least one base URL, e.g. http://127.0.0.1:3101`);
  }
  return baseUrls.map((url) => new URL(url).origin);
}

interface EdgeContext {
  readonly targetGroups: Record<ServiceName, TargetGroup>;
  readonly log: Logger;
  /** Counts each request for the `stats` line; undefined when it is off. */
  readonly stats: LoadBalancerStats | undefined;
  readonly timeoutMs: number;
  readonly queue: ReplicaQueueSettings;
  /** ClientLimits.drainTimeoutMs. */
  readonly drainTimeoutMs: number;
  /** ClientLimits.maxBufferedBytes, and the bytes held now for clients slower than their replica. */
  readonly maxBufferedBytes: number;
  bufferedBytes: number;
  /** Until when (performance.now()) new connections are refused at accept: see SATURATION_HOLD_MS. */
  saturatedUntil: number;
  /** Set when listening, if the Host header is checked. */
  allowedHosts: AllowedHosts | undefined;
  /** close() was called: responses close their connections. */
  closing: boolean;
  /** Whether `request started` lines are logged (at debug). */
  readonly logStarted: boolean;
}

/**
 * One client request on its way through the edge: its body (read whole, it is at most
 * REQUEST_BODY_LIMIT_BYTES, so that a replica refusing the connection can be followed by
 * another), its turn over the replicas, and the response streamed back as it arrives.
 */
class Exchange implements Dispatcher.DispatchHandler, QueuedExchange, ConnectionTurn {
  readonly #startedAt = performance.now();
  readonly #requestId: string;
  readonly #service: ServiceName;
  readonly #order: TargetOrder;
  readonly #start: number;
  #attempt = 0;
  #headers: IncomingHttpHeaders | undefined;
  #body: Buffer | null = null;
  /** Holds one of its connections, or waits in its queue. */
  #replica: Replica | undefined;
  #queued = false;
  #controller: Dispatcher.DispatchController | undefined;
  /** Why each replica tried so far did not take the request. */
  #failures: string[] | undefined;
  /** A replica's queue was full: without another replica, the answer is 503. */
  #sawFullQueue = false;
  /** Refused by the edge's own bounded queue (a 503): `shed` in the stats line. */
  #shed = false;
  /** Ended because its client stopped reading. */
  #stalled = false;
  #bytes = 0;
  /** Armed while the client has not taken what was written (no 'drain'): ends the exchange. */
  #drainTimer: NodeJS.Timeout | undefined;
  /** Waiting for 'drain'; `#buffered` bytes of the response are held in memory for the client meanwhile. */
  #awaitingDrain = false;
  #buffered = 0;
  /** The replica's response, paused while the client catches up (the edge's buffer budget was spent). */
  #paused: Dispatcher.DispatchController | undefined;

  constructor(
    private readonly context: EdgeContext,
    private readonly connection: ClientConnection,
    private readonly request: IncomingMessage,
    private readonly response: ServerResponse,
  ) {
    this.#requestId = correlationId(request);
    this.#service = routeRequest(request.method!, pathOf(request.url!));
    const group = context.targetGroups[this.#service];
    this.#order = group.order;
    this.#start = group.nextStart();
    response.once('close', this.#finished);
  }

  get receiving(): boolean {
    return !this.request.complete && !this.response.headersSent;
  }

  start(): void {
    const { request } = this;
    if (this.context.logStarted) {
      this.context.log.debug(
        { request_id: this.#requestId, method: request.method, url: request.url },
        'request started',
      );
    }
    const hosts = this.context.allowedHosts;
    if (hosts && !hostAllowed(hosts, request.headers.host)) {
      this.#sendError(421, hosts.refusal);
      return;
    }
    const length = request.headers['content-length'];
    if (length === undefined ? request.headers['transfer-encoding'] === undefined : length === '0') {
      this.#next();
      return;
    }
    // Bodies over the services' limit are refused here, as the services would: a service
    // answers those with 413 and closes the connection, which a proxy still uploading sees as
    // a reset (EPIPE) before it can read the 413.
    if (Number(length) > REQUEST_BODY_LIMIT_BYTES) {
      this.#sendError(413, BODY_TOO_LARGE);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= REQUEST_BODY_LIMIT_BYTES) {
        chunks.push(chunk);
        return;
      }
      request.off('data', onData).off('end', onEnd);
      this.#sendError(413, BODY_TOO_LARGE);
    };
    const onEnd = (): void => {
      this.#body = Buffer.concat(chunks, size);
      this.#next();
    };
    request.on('data', onData).on('end', onEnd);
  }

  /**
   * Offers the request to the replicas left in its turn: the first with a free connection
   * takes it (round robin, passing over a replica whose connections are all busy, as one
   * that is stalled would be), else the first whose queue has room; the edge answers for
   * itself when none is left.
   */
  #next(): void {
    for (let attempt = this.#attempt; ; attempt += 1) {
      const replica = replicaAt(this.#order, this.#start, attempt);
      if (!replica) break;
      if (replica.tryAcquire()) {
        this.#attempt = attempt + 1;
        this.dispatchTo(replica);
        return;
      }
    }
    for (;;) {
      const replica = replicaAt(this.#order, this.#start, this.#attempt);
      if (!replica) {
        this.#noReplicaLeft();
        return;
      }
      this.#attempt += 1;
      if (replica.enqueue(this)) {
        this.#replica = replica;
        this.#queued = true;
        return;
      }
      this.#sawFullQueue = true;
    }
  }

  #noReplicaLeft(): void {
    const service = this.#service;
    if (this.#sawFullQueue) {
      this.context.saturatedUntil = performance.now() + SATURATION_HOLD_MS;
      this.#refuse(queueTooLong(service, this.context.queue.maxQueueWaitMs));
    } else if (this.#order.replicas.length === 0) {
      this.#sendError(502, `${service} is unavailable: no replica is registered`);
    } else {
      // Which replicas and why go to the log, not to the client.
      this.context.log.warn(
        { request_id: this.#requestId, failures: this.#failures },
        `${service}: no replica answered`,
      );
      this.#sendError(502, `${service} is unavailable: no replica answered`);
    }
  }

  dispatchTo(replica: Replica): void {
    this.#replica = replica;
    this.#queued = false;
    if (this.response.destroyed) {
      replica.release();
      return;
    }
    const { request } = this;
    replica.dispatch(
      {
        path: request.url!,
        method: request.method as Dispatcher.HttpMethod,
        headers: (this.#headers ??= this.#upstreamHeaders()),
        body: this.#body,
      },
      this,
    );
  }

  waitedTooLong(): void {
    this.#queued = false;
    this.#replica = undefined;
    this.#refuse(waitedTooLong(this.#service, this.context.queue.maxQueueWaitMs));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.response.destroyed) controller.abort(new Error('the client closed the connection'));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: this server speaks for itself to the client
    for (const name of RESPONSE_HOP_HEADERS) delete headers[name];
    headers['x-request-id'] = this.#requestId;
    if (this.context.closing) headers.connection = 'close';
    this.response.writeHead(statusCode, headers as OutgoingHttpHeaders);
  }

  /**
   * A chunk the client cannot take yet is held for it, as nginx's proxy buffering does, so that
   * a slow client does not keep the replica's connection: the replica's response is read to
   * its end and its connection returned. Within the edge's budget for such bytes
   * (EDGE_MAX_BUFFERED_MB) only; beyond it the replica's response pauses until the client
   * drains. Either way the client has the drain bound to take it.
   */
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.response.write(chunk)) return;
    const { context } = this;
    if (context.bufferedBytes + chunk.length <= context.maxBufferedBytes) {
      context.bufferedBytes += chunk.length;
      this.#buffered += chunk.length;
    } else {
      controller.pause();
      this.#paused = controller;
    }
    this.#awaitDrain();
  }

  onResponseEnd(): void {
    this.#release();
    this.response.end();
    // What the OS did not take yet; the connection is held until it is (or the bound passes).
    if (this.response.writableLength > 0) this.#awaitDrain();
  }

  /** The client must take what is buffered within the drain bound, or it is taken for gone. */
  #awaitDrain(): void {
    if (this.#awaitingDrain) return;
    this.#awaitingDrain = true;
    if (this.#drainTimer) this.#drainTimer.refresh();
    else this.#drainTimer = setTimeout(this.#clientStalled, this.context.drainTimeoutMs);
    this.response.once('drain', this.#drained);
  }

  readonly #drained = (): void => {
    // The timer stays armed, and is ignored when it fires: refresh() re-arms a fired timer for
    // the next wait, but not a cleared one.
    this.#awaitingDrain = false;
    this.#releaseBuffered();
    const paused = this.#paused;
    this.#paused = undefined;
    paused?.resume();
  };

  #releaseBuffered(): void {
    this.context.bufferedBytes -= this.#buffered;
    this.#buffered = 0;
  }

  /**
   * Its client stopped reading: reset the connection, which frees what the OS still holds for
   * it too (a plain close would keep sending it), and 'close' aborts the replica's request.
   */
  readonly #clientStalled = (): void => {
    if (!this.#awaitingDrain) return;
    this.#stalled = true;
    this.request.socket.resetAndDestroy();
  };

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const replica = this.#release();
    if (this.response.destroyed) return; // the client went away: that is the error
    if (this.response.headersSent) {
      this.response.destroy(error);
      return;
    }
    const code = (error as NodeJS.ErrnoException).code;
    const service = this.#service;
    if (code && NOT_CONNECTED_CODES.has(code)) {
      (this.#failures ??= []).push(`${replica}: ${code}`);
      if (replicaAt(this.#order, this.#start, this.#attempt)) {
        this.context.log.warn(
          { request_id: this.#requestId, replica, code },
          `${service} replica unreachable, trying the next one`,
        );
      }
      this.#next();
    } else if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      this.context.log.warn({ request_id: this.#requestId, replica }, `${service} replica did not answer in time`);
      this.#sendError(504, `${service} did not answer within ${this.context.timeoutMs / 1000} s`);
    } else {
      // The replica's address and undici's wording stay in the log.
      this.context.log.warn(
        { request_id: this.#requestId, replica, code, err: error.message },
        `${service} replica failed`,
      );
      this.#sendError(502, `${service} failed to answer`);
    }
  }

  /** Gives the connection back; returns the replica's origin. */
  #release(): string | undefined {
    const replica = this.#replica;
    this.#controller = undefined;
    if (replica && !this.#queued) replica.release();
    return replica?.origin;
  }

  /** What the replica gets: the client's end-to-end headers and the ALB's own. */
  #upstreamHeaders(): IncomingHttpHeaders {
    const incoming = this.request.headers;
    const headers: IncomingHttpHeaders = {};
    for (const name in incoming) {
      if (!REQUEST_HOP_HEADERS.has(name)) headers[name] = incoming[name];
    }
    if (this.#body) headers['content-length'] = String(this.#body.length);
    const clientAddress = this.request.socket.remoteAddress;
    // Node joins repeated X-Forwarded-For headers into one string.
    const forwardedFor = incoming['x-forwarded-for'] as string | undefined;
    headers['x-request-id'] = this.#requestId;
    headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${clientAddress}` : clientAddress;
    headers['x-forwarded-proto'] = 'http';
    return headers;
  }

  /** 503 + Retry-After: the replicas are busy; the client is told at once rather than held. */
  #refuse(reason: string): void {
    const seconds = this.context.queue.retryAfterSeconds;
    this.#shed = true;
    this.#sendError(503, atCapacity(this.#service, reason, seconds), {
      'retry-after': String(seconds),
    });
  }

  #sendError(status: number, message: string, extraHeaders?: OutgoingHttpHeaders): void {
    const body = JSON.stringify({ error: message });
    this.#bytes = Buffer.byteLength(body);
    this.response.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': this.#bytes,
      'x-request-id': this.#requestId,
      ...(this.context.closing && { connection: 'close' }),
      ...extraHeaders,
    });
    this.response.end(body);
  }

  /** The response is done, or its client went away: the request's one log line. */
  readonly #finished = (): void => {
    const { request, response } = this;
    const completed = response.writableFinished;
    const durationMs = performance.now() - this.#startedAt;
    this.context.stats?.add(response.statusCode, durationMs, this.#shed);
    clearTimeout(this.#drainTimer);
    this.#releaseBuffered();
    if (!completed) {
      // The client went away first: stop what is under way for it.
      if (this.#queued) this.#replica?.withdraw(this);
      this.#controller?.abort(new Error('the client closed the connection'));
    }
    this.connection.finished(this);
    this.context.log.info(
      {
        request_id: this.#requestId,
        method: request.method,
        url: request.url,
        status: response.statusCode,
        duration_ms: roundMs(durationMs),
        bytes: this.#bytes,
        upstream: this.#replica?.origin,
        ...(!completed && { aborted: true }),
        ...(this.#stalled && { stalled: true }),
      } satisfies EdgeRequestFinished,
      REQUEST_FINISHED_MESSAGE,
    );
  };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function hostAllowed(hosts: AllowedHosts, host: string | undefined): boolean {
  return host !== undefined && (hosts.names.has(host) || hosts.names.has(host.toLowerCase()));
}

/**
 * A request node:http could not parse (headers over its limit, a garbage request line, a folded
 * header) or that did not arrive in time never reaches a handler; without this, node answers it
 * with an empty, untyped 400/408/431. Like the services, the edge answers every bad input with a
 * JSON error, then closes the connection, whose framing can no longer be trusted. Only when no
 * response is under way on the connection, though: written into an answer the client is
 * receiving, it would be read as part of that one. Then that answer is finished and the
 * connection closed after it, with nothing more.
 */
function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Socket,
  connection: ClientConnection | undefined,
): void {
  if (error.code !== 'ECONNRESET' && socket.writable && connection && !connection.answerable) {
    connection.closeAfterActive();
    return;
  }
  if (error.code === 'ECONNRESET' || !socket.writable || !connection) {
    socket.destroy();
    return;
  }
  const [status, message] = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED_REQUEST;
  socket.end(rawResponse(status, message));
}
