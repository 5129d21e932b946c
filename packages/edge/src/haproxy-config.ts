import { BODY_TOO_LARGE, REQUEST_BODY_LIMIT_BYTES } from '@taskoverflow/domain';
import { AMZN_TRACE_ROOT, SAFE_REQUEST_ID } from '@taskoverflow/observability';
import {
  defaultService,
  HEALTH_PATH,
  KEEP_ALIVE_TIMEOUT_MS,
  LISTEN_BACKLOG,
  pathPatternToRegExp,
  routingRules,
  SERVICES,
  type ServiceName,
} from '@taskoverflow/routing';
import type { EdgeConfig } from './config.js';
import { DEFAULT_HEALTH_CHECK, DEFAULT_UPSTREAM_TIMEOUT_MS } from './edge.js';
import {
  atCapacity,
  CLIENT_ERRORS,
  hostsAt,
  MALFORMED_REQUEST,
  MAX_HEADER_BYTES,
  queueTooLong,
  rawResponse,
  waitedTooLong,
} from './raw-responses.js';

/**
 * HAProxy as the edge: the same routing table, limits and answers as the Node edge
 * (EdgeConfig, read from the same variables), at a fraction of its CPU per request. `pnpm start`
 * runs it when `haproxy` is on PATH (packages/stack, haproxy-process.ts).
 */
export interface HaproxySetup {
  /** The configuration file's text. */
  config: string;
  /** Files the configuration names, by file name in `dir`: the error answers, as raw HTTP. */
  files: Record<string, string>;
}

export interface HaproxySetupOptions {
  /** Where the caller writes `files` (and the configuration). */
  dir: string;
  /** The runtime API's UNIX socket (register and deregister replicas, read counters). */
  adminSocket: string;
  /** Server slots per backend beyond the replicas given: the replicas a rolling restart may add. */
  spareSlots: number;
  /** HAProxy's open-file limit (ulimit -n): it needs two per connection, client and replica. */
  fileDescriptorLimit: number;
  /**
   * Where HAProxy writes its log lines: a file descriptor it inherits. 1 (stdout) to have its
   * parent read them; the log file itself (opened for appending) to spare every request a hop
   * through another process.
   */
  logFd: number;
}

/** Descriptors HAProxy keeps for itself beyond two per connection: listeners, health checks, logs. */
const RESERVED_FILE_DESCRIPTORS = 200;

/** The server slot names of a backend: `replica-1`, `replica-2`… */
export function slotName(index: number): string {
  return `replica-${index + 1}`;
}

/** The index of a slot named by slotName; -1 for another name. */
export function slotIndex(name: string): number {
  const match = /^replica-(\d+)$/.exec(name);
  return match ? Number(match[1]) - 1 : -1;
}

/**
 * The log line of each request, in the edge's `request finished` schema (EdgeRequestFinished;
 * `time` in ms since the epoch). `termination` is HAProxy's two-letter termination state (`--`
 * a normal end; `sQ` refused after waiting in the queue; `cD` the client stopped reading…).
 * `upstream` is `http://-:-` when no replica answered. parseLogRecord (@taskoverflow/observability)
 * reads these two as the Node edge's fields.
 */
export const HAPROXY_LOG_FORMAT =
  '{"level":"info","time":%Ts%ms,"service":"edge","hostname":"edge",' +
  '"request_id":"%[var(txn.request_id),json(utf8s)]","method":"%HM","url":"%[capture.req.uri,json(utf8s)]",' +
  '"status":%ST,"duration_ms":%Ta,"bytes":%B,"upstream":"http://%si:%sp","termination":"%ts","msg":"request finished"}';

/** The stick table of each backend's completion rate (the queue's admission rule). */
const COMPLETIONS_TABLE = 'completions';

/** The log levels at which the edge logs each request. */
const REQUEST_LOG_LEVELS = new Set(['info', 'debug', 'trace']);

export function haproxySetup(edge: EdgeConfig, options: HaproxySetupOptions): HaproxySetup {
  const { limits, queue } = edge;
  // EDGE_MAX_CONNECTIONS, as far as the open-file limit allows (HAProxy refuses to start beyond it).
  const maxConnections = Math.min(
    limits.maxConnections,
    Math.floor((options.fileDescriptorLimit - RESERVED_FILE_DESCRIPTORS) / 2),
  );
  const retryAfter = { 'retry-after': String(queue.retryAfterSeconds) };
  const [timeoutStatus, timeoutMessage] = CLIENT_ERRORS.ERR_HTTP_REQUEST_TIMEOUT!;
  const [tooLargeStatus, tooLargeMessage] = CLIENT_ERRORS.HPE_HEADER_OVERFLOW!;
  const tooLarge = rawResponseParts(tooLargeMessage);
  const files: Record<string, string> = {
    'malformed.http': rawResponse(...MALFORMED_REQUEST),
    'timeout.http': rawResponse(timeoutStatus, timeoutMessage),
    'queue-full.http': rawResponse(
      503,
      `the replicas are at capacity: retry after ${queue.retryAfterSeconds} s`,
      retryAfter,
    ),
  };
  for (const service of SERVICES) {
    files[`${service}-502.http`] = rawResponse(502, `${service} is unavailable: no replica answered`);
    files[`${service}-503.http`] = rawResponse(
      503,
      atCapacity(service, waitedTooLong(service, queue.maxQueueWaitMs), queue.retryAfterSeconds),
      retryAfter,
    );
    files[`${service}-504.http`] = rawResponse(
      504,
      `${service} did not answer within ${DEFAULT_UPSTREAM_TIMEOUT_MS / 1000} s`,
    );
  }
  const file = (name: string): string => `${options.dir}/${name}`;
  const tooMany = rawResponseParts(
    `too many connections from this client: at most ${limits.maxConnectionsPerClient}; retry after ${queue.retryAfterSeconds} s`,
  );

  const lines = [
    'global',
    // Twice the largest header block the edge takes, so that a larger one is answered 431 (below)
    // rather than with HAProxy's own HTML 400 for a request over its buffer.
    `  tune.bufsize ${2 * MAX_HEADER_BYTES}`,
    // One thread: one core's worth, as the Node edge it stands in for.
    '  nbthread 1',
    `  maxconn ${maxConnections}`,
    `  stats socket ${options.adminSocket} mode 600 level admin`,
    '  hard-stop-after 30s',
    'defaults',
    '  mode http',
    '  option forwardfor',
    // Any idle connection to a replica serves any client's next request, as the Node edge's pool
    // does: the services keep no state per connection.
    '  http-reuse always',
    // A replica that refuses the connection never saw the request: another may take it.
    '  retries 3',
    '  retry-on conn-failure',
    '  option redispatch 1',
    '  timeout connect 5s',
    // The headers must arrive in time; the body's bound is the wait-for-body rule below.
    `  timeout http-request ${limits.headersTimeoutMs}`,
    // A client that takes nothing of its response for this long has left: its connection closes.
    `  timeout client ${limits.drainTimeoutMs}`,
    `  timeout http-keep-alive ${KEEP_ALIVE_TIMEOUT_MS}`,
    `  timeout server ${DEFAULT_UPSTREAM_TIMEOUT_MS}`,
    `  timeout queue ${queue.maxQueueWaitMs}`,
    `  timeout check ${DEFAULT_HEALTH_CHECK.timeoutMs}`,
    `  errorfile 400 ${file('malformed.http')}`,
    `  errorfile 408 ${file('timeout.http')}`,
    `  errorfile 503 ${file('queue-full.http')}`,
    'frontend edge',
    `  bind ${edge.host.includes(':') ? `[${edge.host}]` : edge.host}:${edge.port} backlog ${LISTEN_BACKLOG}`,
    `  maxconn ${maxConnections}`,
    // A line per request at info and below, as the Node edge's `request finished`; none above.
    // Only the frontend logs: the backends' messages (a replica down, none left) would be text
    // lines among the JSON; HAProxy also writes them to stderr, where they are read.
    ...(REQUEST_LOG_LEVELS.has(edge.logLevel)
      ? [`  log fd@${options.logFd} format raw local0 info`, `  log-format '${HAPROXY_LOG_FORMAT}'`]
      : []),
    '  stick-table type ipv6 size 100k expire 60s store conn_cur',
    '  tcp-request connection track-sc0 src',
    // The request id first, so that the edge's own answers below carry one too; the rule of
    // correlationId (observability): a well-formed x-request-id, else the ALB trace's Root, else a UUID.
    `  http-request set-header x-request-id %[req.hdr(x-amzn-trace-id),regsub('^.*Root=',''),regsub(';.*$','')] if { req.hdr(x-amzn-trace-id) -m reg '${AMZN_TRACE_ROOT.source}' } !{ req.hdr(x-request-id) -m reg '${SAFE_REQUEST_ID.source}' }`,
    `  http-request set-header x-request-id %[uuid()] unless { req.hdr(x-request-id) -m reg '${SAFE_REQUEST_ID.source}' }`,
    '  http-request set-var(txn.request_id) req.hdr(x-request-id)',
    // The ALB's own header: the services see the scheme the client used.
    '  http-request set-header x-forwarded-proto http',
    '  http-after-response set-header x-request-id %[var(txn.request_id)]',
    `  http-request return status 503 content-type "${tooMany.contentType}" string '${tooMany.body}' hdr retry-after ${queue.retryAfterSeconds} if { sc0_conn_cur gt ${limits.maxConnectionsPerClient} }`,
    `  http-request return status ${tooLargeStatus} content-type "${tooLarge.contentType}" string '${tooLarge.body}' if { req.hdrs,length gt ${MAX_HEADER_BYTES} }`,
    ...allowedHostsRule(edge),
    // A body over the limit is refused on its Content-Length, before waiting for it (as the
    // services do). HAProxy 2.6 then closes without draining the rest (haproxy/haproxy#2404,
    // fixed in 3.0): a client still uploading may see a reset rather than the 413.
    `  http-request return status 413 content-type "${JSON_TYPE}" string '${rawResponseParts(BODY_TOO_LARGE).body}' if { req.hdr_val(content-length) gt ${REQUEST_BODY_LIMIT_BYTES} }`,
    // The whole body is read before a replica is chosen: a dripping client holds no replica
    // connection, and is answered 408 (errorfile) when its request's bound runs out.
    `  http-request wait-for-body time ${limits.requestTimeoutMs}`,
    ...routingLines(),
    `  default_backend ${defaultService}`,
  ];
  lines.push(
    // Each backend's responses per second (gpc0_rate), counted as they arrive: its completion rate.
    `backend ${COMPLETIONS_TABLE}`,
    `  stick-table type string len 16 size ${SERVICES.length} store gpc0_rate(1s)`,
  );
  for (const service of SERVICES) {
    const replicas = edge.upstreams[service].map((url) => new URL(url).host);
    const queueFull = rawResponseParts(
      atCapacity(service, queueTooLong(service, queue.maxQueueWaitMs), queue.retryAfterSeconds),
    );
    lines.push(
      `backend ${service}`,
      '  balance roundrobin',
      `  option httpchk GET ${HEALTH_PATH}`,
      '  http-check expect status 200',
      // No replica up (none registered, or all failing their health checks): 502 at once, not a queue wait.
      `  http-request return status 502 content-type "${JSON_TYPE}" string '${rawResponseParts(`${service} is unavailable: no healthy replica`).body}' if { nbsrv eq 0 }`,
      // The Node edge's admission rule (replica.ts): a request joins the queue only if fewer are
      // waiting than the replicas complete in EDGE_MAX_QUEUE_WAIT_MS (plus a few per replica
      // before any has completed), else 503 at once; whoever joins waits at most that long.
      `  http-request set-var(txn.queue_floor) nbsrv,mul(${queue.minQueueLimit})`,
      `  http-request set-var(txn.queue_bound) str(${service}),table_gpc0_rate(${COMPLETIONS_TABLE}),mul(${queue.maxQueueWaitMs}),div(1000),add(txn.queue_floor)`,
      `  http-request return status 503 content-type "${JSON_TYPE}" string '${queueFull.body}' hdr retry-after ${queue.retryAfterSeconds} if { queue,sub(txn.queue_bound) gt 0 }`,
      `  http-response track-sc2 str(${service}) table ${COMPLETIONS_TABLE}`,
      '  http-response sc-inc-gpc0(2)',
      `  errorfile 502 ${file(`${service}-502.http`)}`,
      `  errorfile 503 ${file(`${service}-503.http`)}`,
      `  errorfile 504 ${file(`${service}-504.http`)}`,
      `  default-server check inter ${DEFAULT_HEALTH_CHECK.intervalMs} fall 1 rise 1 maxconn ${queue.connections}`,
      ...replicas.map((address, index) => `  server ${slotName(index)} ${address}`),
      // Spare slots, in maintenance until a replica is registered in one (set server … addr).
      ...Array.from(
        { length: options.spareSlots },
        (_, spare) => `  server ${slotName(replicas.length + spare)} 127.0.0.1:1 disabled`,
      ),
    );
  }
  return { config: `${lines.join('\n')}\n`, files };
}

/** One `use_backend` per routing rule, in priority order, as the ALB evaluates them. */
function routingLines(): string[] {
  return [...routingRules]
    .sort((a, b) => a.priority - b.priority)
    .flatMap((rule) => {
      const patterns = rule.pathPatterns.map((pattern) => singleQuoted(pathPatternToRegExp(pattern).source));
      return [
        `  acl ${rule.name}_method method ${rule.methods.join(' ')}`,
        `  acl ${rule.name}_path path_reg ${patterns.join(' ')}`,
        `  use_backend ${rule.service satisfies ServiceName} if ${rule.name}_method ${rule.name}_path`,
      ];
    });
}

/** EDGE_ALLOWED_HOSTS: any other Host is answered 421, as by the Node edge. */
function allowedHostsRule(edge: EdgeConfig): string[] {
  if (!edge.allowedHosts) return [];
  const hosts = hostsAt(edge.allowedHosts, edge.port);
  const refusal = rawResponseParts(hosts.refusal);
  return [
    `  http-request return status 421 content-type "${refusal.contentType}" string '${refusal.body}' unless { req.hdr(host) -i ${[...hosts.names].join(' ')} }`,
  ];
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** A JSON error body (as rawResponse writes it) for an `http-request return` line. */
function rawResponseParts(message: string): { contentType: string; body: string } {
  return { contentType: JSON_TYPE, body: singleQuotedBody(JSON.stringify({ error: message })) };
}

/** In single quotes HAProxy reads every character as it is, but a single quote cannot appear. */
function singleQuoted(text: string): string {
  return `'${singleQuotedBody(text)}'`;
}

function singleQuotedBody(text: string): string {
  if (text.includes("'")) throw new Error(`cannot put ${text} in an HAProxy configuration: it holds a single quote`);
  return text;
}
