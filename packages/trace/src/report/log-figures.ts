/**
 * The figures of the log lines (the edge's and the services' `request finished` lines, the
 * services' `stats` lines), accumulated in one pass as they are read.
 */
import { EDGE_LISTENING_MESSAGE, EDGE_SERVICE, isCacheOutcome, STATS_MESSAGE } from '@taskoverflow/observability';
import { routeRequest } from '@taskoverflow/routing';
import { endpointOf, isHealthCheck } from '../endpoint.js';
import { percentile } from '../endpoint-stats.js';
import { eventKind, numberField, textField, type LogEntry } from '../log-entry.js';
import { isCountedRequest } from '../request-filter.js';
import { SlowestRequests } from '../slowest.js';
import type {
  CachePeriod,
  EndpointFigures,
  FailureFigures,
  Figures,
  Percentiles,
  ReplicaFigures,
} from './figure-types.js';
import type { K6Summary } from './inputs.js';
import { clientFailures } from './k6-figures.js';
import { LOADTEST_REQUEST_ID_PREFIX } from './outcomes.js';

/** The cached read path's service, where the routing table sends reads; its GET/HEAD lines are the reads. */
export const READ_SERVICE = routeRequest('GET', '/api/v1/todos');
/** Width of a period of the read path's series: the services' default stats interval. */
export const PERIOD_MS = 5000;
/** Slowest requests shown with their waterfall. */
export const SLOWEST_SHOWN = 5;

/** Nearest-rank percentiles (as pnpm trace --endpoints); undefined for no requests. */
export function percentiles(durations: number[]): Percentiles | undefined {
  if (durations.length === 0) return undefined;
  const sorted = Float64Array.from(durations).sort();
  const list = Array.from(sorted);
  return {
    count: list.length,
    p50Ms: percentile(list, 50),
    p95Ms: percentile(list, 95),
    p99Ms: percentile(list, 99),
    maxMs: list[list.length - 1]!,
  };
}

type CacheCounts = Omit<CachePeriod, 'atSeconds'>;
const noCounts = (): CacheCounts => ({ hit: 0, miss: 0, stale: 0, bypass: 0, none: 0 });

/** The request and stats lines, accumulated as they are read. */
export class LogFigures {
  readonly edge: number[] = [];
  readonly edgeFinishedAtMs: number[] = [];
  readonly all: number[] = [];
  readonly serviceFinishedAtMs: number[] = [];
  readonly byService = new Map<string, number[]>();
  readonly slowest = new SlowestRequests(SLOWEST_SHOWN, {});
  startMs = Number.POSITIVE_INFINITY;
  endMs = Number.NEGATIVE_INFINITY;
  /** The balancer that ran as the edge (its `edge listening` line): `HAProxy 2.6.12`, `Node edge`. */
  balancer: string | undefined;
  private readonly endpoints = new Map<string, { service: string; atService: number[]; atEdge: number[] }>();
  private readonly cache = noCounts();
  private readonly cacheByPeriod = new Map<number, CacheCounts>();
  private reads = 0;
  private queries = 0;
  private readonly uncached = { durations: [] as number[], dbMs: 0, cacheMs: 0, totalMs: 0 };
  private shed = 0;
  private rateLimited = 0;
  private serverErrors = 0;
  private readonly replicas = new Map<string, ReplicaFigures>();
  private readonly edgeStatuses = new Map<number, number>();
  private readonly serviceStatuses = new Map<number, number>();
  private edgeRefusedAtOnce = 0;
  private edge503Forwarded = 0;

  /** @param fromMs when k6 started: what happened before (the seeding, start-up) is not the run's. */
  constructor(private readonly fromMs: number | undefined) {}

  add(entry: LogEntry): void {
    if (entry.msg === EDGE_LISTENING_MESSAGE && entry.service === EDGE_SERVICE) {
      this.balancer = textField(entry, 'balancer');
      return;
    }
    if (entry.msg === STATS_MESSAGE) {
      // A stats line sums the interval before it: one that began before k6 holds the seeding's
      // creates (and its CPU and event-loop delay), so the run's stats start with the next one.
      if (this.isRunTime(entry.timeMs - (numberField(entry, 'interval_ms') ?? 0))) this.addStats(entry);
      return;
    }
    // pnpm loadtest's own requests (the seeding, counting the todos after the run) are not the load's.
    if (!this.isRunTime(entry.timeMs) || entry.requestId?.startsWith(LOADTEST_REQUEST_ID_PREFIX)) return;
    if (
      eventKind(entry) !== 'finished' ||
      entry.url === undefined ||
      entry.durationMs === undefined ||
      isHealthCheck(entry.url)
    )
      return;
    const endpoint = this.endpoint(entry.method ?? '?', entry.url);
    if (entry.service === EDGE_SERVICE) {
      this.edge.push(entry.durationMs);
      this.edgeFinishedAtMs.push(entry.timeMs);
      endpoint.atEdge.push(entry.durationMs);
      if (entry.status !== undefined) countIn(this.edgeStatuses, entry.status);
      if (entry.status === 503) {
        if (textField(entry, 'upstream') === undefined) this.edgeRefusedAtOnce += 1;
        else this.edge503Forwarded += 1;
      }
      return;
    }
    if (!isCountedRequest(entry, {})) return;
    if (entry.status !== undefined) countIn(this.serviceStatuses, entry.status);
    this.slowest.add(entry);
    this.startMs = Math.min(this.startMs, entry.timeMs - entry.durationMs);
    this.endMs = Math.max(this.endMs, entry.timeMs);
    this.all.push(entry.durationMs);
    this.serviceFinishedAtMs.push(entry.timeMs);
    endpoint.service = entry.service;
    endpoint.atService.push(entry.durationMs);
    let durations = this.byService.get(entry.service);
    if (!durations) this.byService.set(entry.service, (durations = []));
    durations.push(entry.durationMs);
    if (entry.status === 503 && textField(entry, 'shed') !== undefined) this.shed += 1;
    if (entry.status === 429) this.rateLimited += 1;
    if (entry.status !== undefined && entry.status >= 500) this.serverErrors += 1;
    if (entry.service === READ_SERVICE && (entry.method === 'GET' || entry.method === 'HEAD'))
      this.addRead(entry, entry.durationMs);
  }

  private isRunTime(atMs: number): boolean {
    return this.fromMs === undefined || atMs >= this.fromMs;
  }

  private endpoint(method: string, url: string): { service: string; atService: number[]; atEdge: number[] } {
    const name = endpointOf(method, url);
    let figures = this.endpoints.get(name);
    if (!figures) this.endpoints.set(name, (figures = { service: '', atService: [], atEdge: [] }));
    return figures;
  }

  private addRead(entry: LogEntry, durationMs: number): void {
    if (textField(entry, 'shed') !== undefined) return;
    this.reads += 1;
    const queries = numberField(entry, 'db_queries') ?? 0;
    this.queries += queries;
    const cache = textField(entry, 'cache');
    const outcome = isCacheOutcome(cache) ? cache : 'none';
    this.cache[outcome] += 1;
    const period = Math.floor(entry.timeMs / PERIOD_MS);
    let counts = this.cacheByPeriod.get(period);
    if (!counts) this.cacheByPeriod.set(period, (counts = noCounts()));
    counts[outcome] += 1;
    if (queries > 0) {
      this.uncached.durations.push(durationMs);
      this.uncached.totalMs += durationMs;
      this.uncached.dbMs += numberField(entry, 'db_ms') ?? 0;
      this.uncached.cacheMs += numberField(entry, 'cache_ms') ?? 0;
    }
  }

  private addStats(entry: LogEntry): void {
    const instance = entry.hostname || entry.service;
    let replica = this.replicas.get(instance);
    if (!replica) {
      replica = { instance, requests: 0, eventLoopDelayP99MaxMs: undefined, peakRssMb: undefined, cpuMs: undefined };
      this.replicas.set(instance, replica);
    }
    replica.requests += numberField(entry, 'requests') ?? 0;
    replica.eventLoopDelayP99MaxMs = maxOf(
      replica.eventLoopDelayP99MaxMs,
      numberField(entry, 'event_loop_delay_p99_ms'),
    );
    replica.peakRssMb = maxOf(replica.peakRssMb, numberField(entry, 'rss_mb'));
    const cpuMs = numberField(entry, 'cpu_ms');
    if (cpuMs !== undefined) replica.cpuMs = (replica.cpuMs ?? 0) + cpuMs;
  }

  failures(summary: K6Summary | undefined): FailureFigures {
    return {
      client: clientFailures(summary),
      edgeStatuses: Object.fromEntries(this.edgeStatuses),
      serviceStatuses: Object.fromEntries(this.serviceStatuses),
      edgeQueueFull: this.edgeRefusedAtOnce,
      edgeQueueTimeout: Math.max(0, this.edge503Forwarded - (this.serviceStatuses.get(503) ?? 0)),
    };
  }

  endpointFigures(): EndpointFigures[] {
    return [...this.endpoints]
      .filter(([, figures]) => figures.atService.length > 0)
      .map(([endpoint, figures]) => ({
        endpoint,
        service: figures.service,
        atService: percentiles(figures.atService)!,
        atEdge: percentiles(figures.atEdge),
      }))
      .sort((a, b) => b.atService.count - a.atService.count);
  }

  readPath(): Figures['readPath'] {
    const periods = [...this.cacheByPeriod.keys()].sort((a, b) => a - b);
    const firstPeriod = periods[0] ?? 0;
    const { durations, dbMs, cacheMs, totalMs } = this.uncached;
    return {
      reads: this.reads,
      cache: { ...this.cache },
      queriesPer1000Reads: this.reads > 0 ? (this.queries * 1000) / this.reads : undefined,
      uncached: {
        reads: durations.length,
        atService: percentiles(durations),
        dbMs,
        cacheMs,
        otherMs: totalMs - dbMs - cacheMs,
      },
      shed: this.shed,
      rateLimited: this.rateLimited,
      serverErrors: this.serverErrors,
      replicas: [...this.replicas.values()].sort((a, b) => a.instance.localeCompare(b.instance)),
      series: periods.map((period) => ({
        atSeconds: ((period - firstPeriod + 1) * PERIOD_MS) / 1000,
        ...this.cacheByPeriod.get(period)!,
      })),
    };
  }
}

function countIn(counts: Map<number, number>, key: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function maxOf(current: number | undefined, value: number | undefined): number | undefined {
  return value === undefined ? current : current === undefined ? value : Math.max(current, value);
}
