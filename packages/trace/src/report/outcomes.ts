/**
 * What a run did, before how fast it did it: k6's checks with their pass rates and its
 * thresholds; the requests by method × route × status from the canonical `request finished`
 * lines (the edge's own answers beside the services'), a path that matched no route, or whose
 * id was not a number, shown as it was sent; what each group's lines say about why (error code
 * and cause, db_ms, shed); which instances stopped logging early and which replicas the edge
 * could not reach; the todos before and after; and the iterations' think time. The verdict's
 * functional findings (functional-verdict.ts) are pure functions of these.
 */
import { EDGE_SERVICE } from '@taskoverflow/observability';
import { endpointOf, isHealthCheck } from '../endpoint.js';
import { eventKind, numberField, textField, type LogEntry } from '../log-entry.js';
import type { K6Group, K6Summary, ReportInputs, TodoCounts } from './inputs.js';

/**
 * Request ids of the requests pnpm loadtest itself sends around a run (counting the todos):
 * not the load's, so left out of its requests.
 */
export const LOADTEST_REQUEST_ID_PREFIX = 'pnpm-loadtest-';

/** Fastify's line at start: `Server listening at http://127.0.0.1:39773`. */
const LISTENING = /^Server listening at (https?:\/\/\S+)$/;
/** What the cache's Redis client says when its connection drops (packages/cache). */
const REDIS_LOST = 'redis connection lost';

/** Distinct paths as sent kept per method, route and status; more are counted under the route. */
const MAX_PATHS_AS_SENT = 20;

export interface CheckResult {
  name: string;
  passes: number;
  fails: number;
  /** 0–1. */
  passRate: number;
}

export interface ThresholdResult {
  metric: string;
  expression: string;
  ok: boolean;
}

/** Requests of one method, path and status, answered by one service (or the edge itself). */
export interface RequestGroup {
  method: string;
  /** The route pattern (`/api/v1/todos/:id`), or the path as sent (`/api/v1/todos/undefined`) when `asSent`. */
  path: string;
  /** The path matched no route, or a route's `:id` was not a number: shown as the client sent it. */
  asSent: boolean;
  status: number;
  /** The service that answered (`todo-write`), or `edge` for the edge's own answers (its queue's 503, 502, 504). */
  answeredBy: string;
  count: number;
  /** One of them, for `pnpm trace <request-id>`. */
  exampleRequestId: string | undefined;
  firstAtMs: number;
  lastAtMs: number;
  medianMs: number;
  maxMs: number;
  /** The commonest error code and cause of their lines (the canonical line's error_code, error_cause). */
  errorCode: string | undefined;
  errorCause: string | undefined;
  /** The median of their db_ms. */
  dbMedianMs: number;
  /** Why load shedding refused them, when it did. */
  shed: string | undefined;
}

/** When an instance logged, from its first to its last line of the run. */
export interface InstanceActivity {
  instance: string;
  service: string;
  firstAtMs: number;
  lastAtMs: number;
}

/** The edge's `replica unreachable` warnings, per replica and error code. */
export interface UnreachableReplica {
  replica: string;
  code: string;
  count: number;
  firstAtMs: number;
  lastAtMs: number;
}

/** The edge's health checks taking a replica out of rotation, or back in. */
export interface TargetChange {
  /** The replica's origin, `http://127.0.0.1:39773`. */
  target: string;
  healthy: boolean;
  atMs: number;
}

/** Reads that went past the cache because Redis could not be used. */
export interface CacheBypass {
  /** When a service first said it lost its Redis connection; undefined when none did. */
  lostAtMs: number | undefined;
  reads: number;
  firstAtMs: number;
  lastAtMs: number;
  exampleRequestId: string | undefined;
}

/** k6's iterations: how long each took, and how much of that was requests rather than think time. */
export interface Iterations {
  count: number;
  meanMs: number;
  requestsPerIteration: number;
  /** Time in requests per iteration: requestsPerIteration × the mean request duration. */
  requestMsPerIteration: number;
  /** Think time per iteration, s: as the script states it (its busiest scenario's), else the mean iteration less its requests. */
  thinkSeconds: number;
  thinkSource: 'script' | 'estimated';
}

export interface Outcomes {
  /** Undefined without k6's summary. */
  checks: CheckResult[] | undefined;
  thresholds: ThresholdResult[];
  /** Failures first (by count), then the rest by count. */
  requests: RequestGroup[];
  instances: InstanceActivity[];
  unreachableReplicas: UnreachableReplica[];
  targetChanges: TargetChange[];
  /** Each instance by the origin it said it listens at (`Server listening at …`), to name the edge's replicas. */
  instanceAt: Record<string, string>;
  cacheBypass: CacheBypass | undefined;
  todos: TodoCounts | undefined;
  iterations: Iterations | undefined;
  /** When the run's window ends: k6's start plus its duration, else the last line. */
  endMs: number | undefined;
}

/** A status the client did not want: any 4xx or 5xx (k6 counts these as failed by default). */
export function isFailure(group: Pick<RequestGroup, 'status'>): boolean {
  return group.status >= 400;
}

/** The run's outcomes from its inputs, in one pass over the logs. */
export async function collectOutcomes(inputs: ReportInputs): Promise<Outcomes> {
  const startMs = inputs.processes?.startedAtMs ?? inputs.processes?.samples[0]?.atMs;
  const durationMs = inputs.k6Summary?.state?.testRunDurationMs;
  const endMs = startMs !== undefined && durationMs !== undefined ? startMs + durationMs : undefined;
  const lines = new OutcomeLines(startMs);
  await inputs.logs?.forEach((entry) => lines.add(entry));
  return {
    checks: inputs.k6Summary?.root_group ? checksOf(inputs.k6Summary.root_group) : undefined,
    thresholds: thresholdsOf(inputs.k6Summary),
    requests: lines.groups(),
    instances: [...lines.instances.values()],
    unreachableReplicas: [...lines.unreachable.values()],
    targetChanges: lines.targetChanges,
    instanceAt: Object.fromEntries(lines.instanceAt),
    cacheBypass: lines.bypass && { ...lines.bypass, lostAtMs: lines.redisLostAtMs },
    todos: inputs.todoCounts,
    iterations: iterationsOf(inputs.k6Summary),
    endMs: endMs ?? lines.lastAtMs,
  };
}

function checksOf(group: K6Group): CheckResult[] {
  return [...group.checks, ...group.groups.flatMap((inner) => checksOf(inner))].map(({ name, passes, fails }) => ({
    name,
    passes,
    fails,
    passRate: passes + fails === 0 ? 1 : passes / (passes + fails),
  }));
}

function thresholdsOf(summary: K6Summary | undefined): ThresholdResult[] {
  return Object.entries(summary?.metrics ?? {}).flatMap(([metric, value]) =>
    Object.entries(value?.thresholds ?? {}).map(([expression, { ok }]) => ({ metric, expression, ok })),
  );
}

/**
 * Think time per iteration. The script's own figure when it states one (the built-in
 * scenarios: that of the scenario with the most iterations' worth of VUs, the studiers);
 * otherwise the mean iteration less the time its requests took.
 */
export function iterationsOf(summary: K6Summary | undefined): Iterations | undefined {
  const value = (metric: string, stat: string): number | undefined => summary?.metrics[metric]?.values?.[stat];
  const count = value('iterations', 'count');
  const meanMs = value('iteration_duration', 'avg');
  const requests = value('http_reqs', 'count');
  const requestMs = value('http_req_duration', 'avg');
  if (!count || meanMs === undefined || requests === undefined || requestMs === undefined) return undefined;
  const requestsPerIteration = requests / count;
  const requestMsPerIteration = requestsPerIteration * requestMs;
  const stated = summary?.run?.thinkSeconds;
  // The studiers set the pace of the built-in scenarios: many VUs, one request per think time.
  const statedThink = stated ? (stated.studiers ?? Math.max(...Object.values(stated))) : undefined;
  return {
    count,
    meanMs,
    requestsPerIteration,
    requestMsPerIteration,
    thinkSeconds: statedThink ?? Math.max(0, meanMs - requestMsPerIteration) / 1000,
    thinkSource: statedThink === undefined ? 'estimated' : 'script',
  };
}

interface GroupBuilder {
  group: RequestGroup;
  durations: number[];
  dbMs: number[];
  codes: Map<string, number>;
  causes: Map<string, number>;
}

/** The request lines, accumulated as they are read. */
class OutcomeLines {
  readonly instances = new Map<string, InstanceActivity>();
  readonly unreachable = new Map<string, UnreachableReplica>();
  bypass: CacheBypass | undefined;
  redisLostAtMs: number | undefined;
  readonly targetChanges: TargetChange[] = [];
  readonly instanceAt = new Map<string, string>();
  lastAtMs: number | undefined;
  private readonly builders = new Map<string, GroupBuilder>();
  /** Paths as sent so far per method, route and status. */
  private readonly pathsAsSent = new Map<string, Set<string>>();

  /** @param fromMs when k6 started: earlier lines (the seeding) are not the run's. */
  constructor(private readonly fromMs: number | undefined) {}

  add(entry: LogEntry): void {
    // Where an instance listens is said at its start, before the run.
    const listening = LISTENING.exec(entry.msg)?.[1];
    if (listening !== undefined) this.instanceAt.set(new URL(listening).origin, entry.hostname || entry.service);
    if (this.fromMs !== undefined && entry.timeMs < this.fromMs) return;
    if (entry.requestId?.startsWith(LOADTEST_REQUEST_ID_PREFIX)) return;
    this.noteInstance(entry);
    if (entry.service === EDGE_SERVICE && entry.level === 'warn' && textField(entry, 'replica') !== undefined) {
      this.noteUnreachable(entry, textField(entry, 'replica')!, textField(entry, 'code') ?? 'unknown');
      return;
    }
    const target = textField(entry, 'target');
    if (entry.service === EDGE_SERVICE && target !== undefined && typeof entry.record.healthy === 'boolean') {
      this.targetChanges.push({ target, healthy: entry.record.healthy, atMs: entry.timeMs });
      return;
    }
    if (entry.level === 'warn' && entry.msg.startsWith(REDIS_LOST)) this.redisLostAtMs ??= entry.timeMs;
    const { url, status } = entry;
    if (eventKind(entry) !== 'finished' || url === undefined || status === undefined || isHealthCheck(url)) return;
    // The edge's lines count only for the answers it gave itself: the services logged the rest.
    if (entry.service === EDGE_SERVICE && !isEdgeOwnAnswer(entry)) return;
    if (textField(entry, 'cache') === 'bypass') this.noteBypass(entry);
    this.addRequest(entry, url, status);
  }

  private noteInstance(entry: LogEntry): void {
    const instance = entry.hostname || entry.service;
    const activity = this.instances.get(instance);
    if (activity) activity.lastAtMs = Math.max(activity.lastAtMs, entry.timeMs);
    else
      this.instances.set(instance, {
        instance,
        service: entry.service,
        firstAtMs: entry.timeMs,
        lastAtMs: entry.timeMs,
      });
    this.lastAtMs = Math.max(this.lastAtMs ?? entry.timeMs, entry.timeMs);
  }

  private noteUnreachable(entry: LogEntry, replica: string, code: string): void {
    const key = `${replica} ${code}`;
    const found = this.unreachable.get(key);
    if (found) {
      found.count += 1;
      found.lastAtMs = entry.timeMs;
    } else {
      this.unreachable.set(key, { replica, code, count: 1, firstAtMs: entry.timeMs, lastAtMs: entry.timeMs });
    }
  }

  private noteBypass(entry: LogEntry): void {
    if (!this.bypass)
      this.bypass = {
        lostAtMs: undefined,
        reads: 0,
        firstAtMs: entry.timeMs,
        lastAtMs: entry.timeMs,
        exampleRequestId: entry.requestId,
      };
    this.bypass.reads += 1;
    this.bypass.firstAtMs = Math.min(this.bypass.firstAtMs, entry.timeMs);
    this.bypass.lastAtMs = Math.max(this.bypass.lastAtMs, entry.timeMs);
  }

  private addRequest(entry: LogEntry, url: string, status: number): void {
    const method = entry.method ?? '?';
    const { path, asSent } = this.pathOf(method, entry, url, status);
    const answeredBy = entry.service;
    const key = `${answeredBy} ${method} ${path} ${status}`;
    let builder = this.builders.get(key);
    if (!builder) {
      builder = {
        group: {
          method,
          path,
          asSent,
          status,
          answeredBy,
          count: 0,
          exampleRequestId: entry.requestId,
          firstAtMs: entry.timeMs,
          lastAtMs: entry.timeMs,
          medianMs: 0,
          maxMs: 0,
          errorCode: undefined,
          errorCause: undefined,
          dbMedianMs: 0,
          shed: textField(entry, 'shed'),
        },
        durations: [],
        dbMs: [],
        codes: new Map(),
        causes: new Map(),
      };
      this.builders.set(key, builder);
    }
    const { group } = builder;
    group.count += 1;
    group.firstAtMs = Math.min(group.firstAtMs, entry.timeMs);
    group.lastAtMs = Math.max(group.lastAtMs, entry.timeMs);
    group.exampleRequestId ??= entry.requestId;
    if (entry.durationMs !== undefined) builder.durations.push(entry.durationMs);
    builder.dbMs.push(numberField(entry, 'db_ms') ?? 0);
    countIn(builder.codes, textField(entry, 'error_code'));
    countIn(builder.causes, textField(entry, 'error_cause'));
  }

  /**
   * The route pattern when the path is the route's with numbers for its ids (endpointOf); else
   * the path as sent (no route matched, or an id was not a number), at most MAX_PATHS_AS_SENT each.
   */
  private pathOf(method: string, entry: LogEntry, url: string, status: number): { path: string; asSent: boolean } {
    const sent = endpointOf(method, url).slice(method.length + 1);
    const route = textField(entry, 'route');
    if (route !== undefined && sent === route) return { path: route, asSent: false };
    const literal = url.split(/[?#]/, 1)[0]!;
    const key = `${entry.service} ${method} ${route ?? ''} ${status}`;
    let paths = this.pathsAsSent.get(key);
    if (!paths) this.pathsAsSent.set(key, (paths = new Set()));
    if (!paths.has(literal) && paths.size >= MAX_PATHS_AS_SENT)
      return { path: `${route ?? '(no route)'} (other paths)`, asSent: true };
    paths.add(literal);
    return { path: literal, asSent: true };
  }

  groups(): RequestGroup[] {
    const groups = [...this.builders.values()].map(({ group, durations, dbMs, codes, causes }) => ({
      ...group,
      medianMs: median(durations),
      // A loop, not Math.max(...durations): a group of 400,000 requests overflows the call stack.
      maxMs: durations.reduce((max, ms) => (ms > max ? ms : max), 0),
      dbMedianMs: median(dbMs),
      errorCode: commonest(codes),
      errorCause: commonest(causes),
    }));
    return groups.sort((a, b) => Number(isFailure(b)) - Number(isFailure(a)) || b.count - a.count);
  }
}

/**
 * An answer the edge gave itself rather than passed on: one no replica took (no upstream: its
 * bounded queue's 503, a body over the limit's 413…), or a 502/504 for a replica that failed or
 * did not answer. A request whose client went away first (aborted) is the service's to log.
 */
export function isEdgeOwnAnswer(entry: LogEntry): boolean {
  if (entry.record.aborted === true) return false;
  if (entry.status === 502 || entry.status === 504) return true;
  return textField(entry, 'upstream') === undefined;
}

function countIn(counts: Map<string, number>, key: string | undefined): void {
  if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
}

function commonest(counts: Map<string, number>): string | undefined {
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
