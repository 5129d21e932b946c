/**
 * The figures of a load-test run, from what it left behind (inputs.ts): the client's
 * percentiles (k6) beside the edge's and the services' (their canonical `request finished`
 * lines), CPU and memory per process (the /proc samples), the read path over time (cache
 * outcomes, queries, the services' `stats` lines) and the slowest requests. The verdict
 * (verdict.ts) is a pure function of these; bottlenecks.json is these plus the verdict.
 */
import { EDGE_SERVICE, isCacheOutcome, STATS_MESSAGE, type CacheOutcome } from '@taskoverflow/observability';
import { routeRequest, SERVICES } from '@taskoverflow/routing';
import { endpointOf, isHealthCheck } from '../endpoint.js';
import { percentile } from '../endpoint-stats.js';
import { eventKind, numberField, textField, type LogEntry } from '../log-entry.js';
import { isCountedRequest } from '../request-filter.js';
import { SlowestRequests, type RequestSummary } from '../slowest.js';
import { awsFiguresOf, type AwsFigures } from './aws-figures.js';
import type { PeriodPoint } from './dashboard-data.js';
import type { K6Summary, ProcessSample, ReportInputs } from './inputs.js';
import { LOADTEST_REQUEST_ID_PREFIX } from './outcomes.js';

/** The cached read path's service, where the routing table sends reads; its GET/HEAD lines are the reads. */
export const READ_SERVICE = routeRequest('GET', '/api/v1/todos');
/** Width of a period of the read path's series: the services' default stats interval. */
export const PERIOD_MS = 5000;
/** Slowest requests shown with their waterfall. */
export const SLOWEST_SHOWN = 5;

export interface Percentiles {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** k6's view: all requests, then each sub-metric its thresholds made (per scenario…). */
export interface ClientGroup {
  /** `all requests`, `scenario:studiers`, `name:GET /api/v1/todos`… */
  name: string;
  count: number | undefined;
  p50Ms: number | undefined;
  p95Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
}

export interface EndpointFigures {
  endpoint: string;
  service: string;
  /** As the services logged it. */
  atService: Percentiles;
  /** As the edge logged it; undefined when no request went through the edge. */
  atEdge: Percentiles | undefined;
}

export interface ProcessFigures {
  name: string;
  kind: ProcessKind;
  cpuSeconds: number;
  /** CPU over the sampled time, in cores (1 = one core busy all along). */
  averageCores: number;
  /** The busiest stretch of PEAK_SAMPLES samples, in cores. */
  peakCores: number;
  /** Its CPU in processes.perRequest's window over the requests served in that window, µs. */
  cpuPerRequestUs: number | undefined;
  peakRssMb: number;
  /** Processes of that name (PostgreSQL's postmaster and backends…). */
  count: number;
}

export type ProcessKind = 'k6' | 'edge' | 'replica' | 'redis' | 'postgres' | 'runner' | 'other';

export interface CpuPeriod {
  atSeconds: number;
  /** Cores busy per process name over the period before. */
  cores: Record<string, number>;
  /** Cores the whole machine had busy, every process of anyone included. */
  machineCores: number | undefined;
}

export interface ReplicaFigures {
  instance: string;
  requests: number;
  /** Highest `event_loop_delay_p99_ms` of its stats lines. */
  eventLoopDelayP99MaxMs: number | undefined;
  peakRssMb: number | undefined;
  /** Sum of its stats lines' `cpu_ms`. */
  cpuMs: number | undefined;
}

/** Reads by cache outcome over a period. */
export interface CachePeriod extends Record<CacheOutcome, number> {
  atSeconds: number;
  /** Reads no cache looked at (todo-read without Redis). */
  none: number;
}

export interface Figures {
  runDir: string;
  /**
   * What the run was: from k6's summary; p95TargetMs is its tightest `p(95)<N` threshold,
   * peakVus its most VUs (peakVusOf).
   */
  run: {
    name: string | undefined;
    scale: string | undefined;
    endpoint: string | undefined;
    p95TargetMs: number | undefined;
    peakVus: number | undefined;
  };
  /**
   * First to last served request in the logs, from when k6 started (ProcessSamples'
   * startedAtMs): the seeding before it is not the run's.
   */
  window: { startMs: number; endMs: number } | undefined;
  client: ClientGroup[];
  edge: Percentiles | undefined;
  /** Every service's requests together, and each service's. */
  services: Percentiles | undefined;
  byService: Record<string, Percentiles>;
  endpoints: EndpointFigures[];
  /** Requests served by the stack: the edge's count, else the services'. */
  requests: number;
  throughput: Throughput | undefined;
  processes: {
    /** What could not be measured, and where to get it instead. */
    missing: string[];
    cores: number | undefined;
    list: ProcessFigures[];
    /** Where CPU per request is measured; undefined when no request was counted in the sampled time. */
    perRequest: PerRequestWindow | undefined;
    /** This run's processes together, period by period. */
    run: { averageCores: number; peakCores: number } | undefined;
    /** Everything on the machine, other people's work included. */
    machine: { averageCores: number; peakCores: number } | undefined;
    series: CpuPeriod[];
  };
  failures: FailureFigures;
  readPath: {
    reads: number;
    cache: Omit<CachePeriod, 'atSeconds'>;
    /** SQL statements per 1000 reads. */
    queriesPer1000Reads: number | undefined;
    /** Reads that went to PostgreSQL, and where their time went. */
    uncached: { reads: number; atService: Percentiles | undefined; dbMs: number; cacheMs: number; otherMs: number };
    shed: number;
    rateLimited: number;
    serverErrors: number;
    replicas: ReplicaFigures[];
    series: CachePeriod[];
  };
  slowest: Array<RequestSummary & { waterfall: string[] }>;
  /** A run against AWS: its figures from CloudWatch (aws-figures.ts); undefined otherwise. */
  aws?: AwsFigures | undefined;
}

/** Failed requests as k6 saw them, and where the logs say they came from. */
export interface FailureFigures {
  /**
   * k6's requests, those that failed and, by cause (`status:503`, `status:0` for no response,
   * `error_code:1050` for its timeout…), the counts its summary holds; undefined without one.
   */
  client: { requests: number; failed: number; causes: Record<string, number> } | undefined;
  /** The edge's answers by status (its `request finished` lines), and the services'. */
  edgeStatuses: Record<string, number>;
  serviceStatuses: Record<string, number>;
  /** 503s from the edge's bounded queue: refused at once (every replica's queue full; no upstream)… */
  edgeQueueFull: number;
  /** …or after waiting in it: the edge's 503s with an upstream beyond the services' own 503s. */
  edgeQueueTimeout: number;
}

/**
 * CPU per request divides the CPU spent between two times by the requests sent between the
 * same two times. k6's count over the whole sampled time comes first: the sampler runs exactly
 * as long as k6, and no cut in the logs (a trimmed run, CloudWatch read with a bound) changes
 * it. Without k6's summary, the requests the logs saw finish within the sampled time, over the
 * part of it they cover.
 */
export interface PerRequestWindow {
  fromMs: number;
  toMs: number;
  requests: number;
  /** Whose count: k6's summary, else the edge's lines, else the services'. */
  counted: 'edge' | 'services' | 'k6';
}

/** k6's throughput over the run. */
export interface Throughput {
  peakRps: number;
  peakVus: number;
  /**
   * Where throughput stopped rising while VUs kept rising: the first period at 95 % of the
   * peak, when VUs went on to grow by a fifth or more after it; undefined when it never did.
   */
  plateau: { atSeconds: number; vus: number; rps: number; vusLater: number } | undefined;
}

/** Samples of a stretch that counts as a peak: a single busy second is a GC, not a limit. */
export const PEAK_SAMPLES = 3;

/** A replica that answered requests (todo-read-1…), by its instance name. */
const REPLICA_NAME = new RegExp(`^(${SERVICES.join('|')})-\\d+$`);

export function processKind(name: string): ProcessKind {
  if (name === 'k6' || name === 'edge' || name === 'redis' || name === 'postgres') return name;
  if (REPLICA_NAME.test(name)) return 'replica';
  return name === RUNNER_PROCESS ? 'runner' : 'other';
}

/** The name the sampler gives the process that runs the load test and the stack. */
export const RUNNER_PROCESS = 'pnpm loadtest';

/** Everything the log files say, in one pass (plus one for the slowest requests' lines). */
export async function collectFigures(
  inputs: ReportInputs,
  waterfall: (entries: LogEntry[], requestId: string) => string[],
): Promise<Figures> {
  const logs = new LogFigures(inputs.processes?.startedAtMs ?? inputs.processes?.samples[0]?.atMs);
  await inputs.logs?.forEach((entry) => logs.add(entry));
  const slowest = logs.slowest.result();
  const wanted = new Map(slowest.map((request) => [request.requestId, [] as LogEntry[]]));
  if (wanted.size > 0) {
    await inputs.logs?.forEach((entry) => {
      if (entry.requestId !== undefined) wanted.get(entry.requestId)?.push(entry);
    });
  }
  const requests = logs.edge.length > 0 ? logs.edge.length : logs.all.length;
  const served: ServedRequests | undefined =
    logs.edge.length > 0
      ? { counted: 'edge', finishedAtMs: logs.edgeFinishedAtMs }
      : logs.all.length > 0
        ? { counted: 'services', finishedAtMs: logs.serviceFinishedAtMs }
        : undefined;
  return {
    runDir: inputs.runDir,
    run: {
      name: inputs.k6Summary?.run?.name,
      scale: inputs.k6Summary?.run?.scale,
      endpoint: inputs.k6Summary?.run?.endpoint,
      p95TargetMs: inputs.k6Summary ? p95TargetOf(k6Thresholds(inputs.k6Summary)) : undefined,
      peakVus: peakVusOf(inputs.k6Summary, inputs.k6Series),
    },
    window: logs.startMs <= logs.endMs ? { startMs: logs.startMs, endMs: logs.endMs } : undefined,
    client: clientGroups(inputs.k6Summary),
    edge: percentiles(logs.edge),
    services: percentiles(logs.all),
    byService: Object.fromEntries(
      [...logs.byService].map(([service, durations]) => [service, percentiles(durations)!]),
    ),
    endpoints: logs.endpointFigures(),
    requests,
    throughput: inputs.k6Series ? throughputOf(inputs.k6Series) : undefined,
    processes: processFigures(inputs, served),
    readPath: logs.readPath(),
    failures: logs.failures(inputs.k6Summary),
    slowest: slowest.map((request) => ({
      ...request,
      waterfall: waterfall(wanted.get(request.requestId) ?? [], request.requestId),
    })),
    aws: inputs.cloudWatch && awsFiguresOf(inputs.cloudWatch),
  };
}

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

const CLIENT_METRIC = 'http_req_duration';

function clientGroups(summary: K6Summary | undefined): ClientGroup[] {
  if (!summary) return [];
  return Object.entries(summary.metrics)
    .filter(
      ([metric]) =>
        metric === CLIENT_METRIC || (metric.startsWith(`${CLIENT_METRIC}{`) && !metric.includes('expected_response')),
    )
    .map(([metric, value]) => ({
      name: metric === CLIENT_METRIC ? 'all requests' : metric.slice(CLIENT_METRIC.length + 1, -1),
      count: value?.values?.count,
      p50Ms: value?.values?.med,
      p95Ms: value?.values?.['p(95)'],
      p99Ms: value?.values?.['p(99)'],
      maxMs: value?.values?.max,
    }));
}

/** A threshold of k6's summary: `http_req_duration{scenario:studiers}` and `p(95)<200`. */
export interface K6Threshold {
  metric: string;
  expression: string;
}

function k6Thresholds(summary: K6Summary): K6Threshold[] {
  return Object.entries(summary.metrics).flatMap(([metric, value]) =>
    Object.keys(value?.thresholds ?? {}).map((expression) => ({ metric, expression })),
  );
}

const P95_THRESHOLD = /^p\(95\)\s*<=?\s*(\d+(\.\d+)?)$/;

/** The tightest `p(95)<N` threshold on request duration, ms; undefined when there is none. */
export function p95TargetOf(thresholds: K6Threshold[]): number | undefined {
  const targets = thresholds
    .filter((threshold) => threshold.metric.startsWith(CLIENT_METRIC))
    .map((threshold) => P95_THRESHOLD.exec(threshold.expression)?.[1])
    .filter((value): value is string => value !== undefined)
    .map(Number);
  return targets.length > 0 ? Math.min(...targets) : undefined;
}

/**
 * The most VUs the run had: the highest value of k6's `vus` gauge (its summary's `value` is the
 * last one, 0 or a few after a ramp-down), else the per-second series' peak, else the VUs k6
 * allocated (`vus_max`: at least as many as ran); undefined when k6 left none of them.
 */
export function peakVusOf(summary: K6Summary | undefined, series: PeriodPoint[] | undefined): number | undefined {
  const gaugePeak = summary?.metrics.vus?.values?.max;
  if (gaugePeak) return gaugePeak;
  const seriesPeak = series?.reduce((peak, period) => Math.max(peak, period.vus), 0);
  return seriesPeak || summary?.metrics.vus_max?.values?.max;
}

/** k6's failure-cause sub-metrics (loadtests/k6/lib/summary.js): `http_reqs{status:503}`. */
const FAILURE_CAUSE_METRIC = /^http_reqs\{((?:status|error_code):\d+)\}$/;

function clientFailures(summary: K6Summary | undefined): FailureFigures['client'] {
  const failed = summary?.metrics.http_req_failed?.values;
  const requests = summary?.metrics.http_reqs?.values?.count;
  if (!failed || requests === undefined) return undefined;
  const causes = Object.fromEntries(
    Object.entries(summary.metrics).flatMap(([metric, value]) => {
      const cause = FAILURE_CAUSE_METRIC.exec(metric)?.[1];
      return cause === undefined ? [] : [[cause, value?.values?.count ?? 0]];
    }),
  );
  // k6's Rate counts a failed request as a pass of http_req_failed.
  return { requests, failed: failed.passes ?? 0, causes };
}

/** Share of the peak at which throughput counts as having stopped rising. */
const PLATEAU_SHARE = 0.95;
/** VUs must grow by this factor after the plateau for it to be one. */
const PLATEAU_VU_GROWTH = 1.2;

export function throughputOf(series: PeriodPoint[]): Throughput | undefined {
  if (series.length === 0) return undefined;
  // Three-period mean: one second's rate jumps with k6's batching.
  const smoothed = series.map((_, index) => {
    const window = series.slice(Math.max(0, index - 2), index + 1);
    return window.reduce((sum, period) => sum + period.requestsPerSecond, 0) / window.length;
  });
  const peakRps = Math.max(...smoothed);
  const peakVus = Math.max(...series.map((period) => period.vus));
  const first = smoothed.findIndex((rps) => rps >= PLATEAU_SHARE * peakRps);
  const at = series[first]!;
  const vusLater = Math.max(...series.slice(first).map((period) => period.vus));
  return {
    peakRps,
    peakVus,
    plateau:
      at.vus > 0 && vusLater >= PLATEAU_VU_GROWTH * at.vus
        ? { atSeconds: at.atSeconds, vus: at.vus, rps: smoothed[first]!, vusLater }
        : undefined,
  };
}

/** When each request the stack served finished, by the lines that count them. */
interface ServedRequests {
  counted: 'edge' | 'services';
  finishedAtMs: number[];
}

function processFigures(inputs: ReportInputs, served: ServedRequests | undefined): Figures['processes'] {
  const samples = inputs.processes;
  const missing: string[] = [];
  if (!samples || samples.samples.length < 2) {
    missing.push(
      inputs.logs?.local
        ? "no /proc samples (not Linux, or the run was too short): CPU per process is the services' stats lines' cpu_ms only"
        : "the services ran elsewhere (ENDPOINT): their CPU and memory are in CloudWatch (ECS CPUUtilization, MemoryUtilization per service) and in their stats lines (cpu_ms, rss_mb) in CloudWatch Logs; the load balancer's and the database's are in CloudWatch only",
    );
    return {
      missing,
      cores: samples?.cores,
      list: [],
      perRequest: undefined,
      run: undefined,
      machine: undefined,
      series: [],
    };
  }
  if (!inputs.logs?.local)
    missing.push(
      'only k6 and this machine were sampled: the services ran elsewhere (ENDPOINT), see CloudWatch for theirs',
    );
  const list = samples.samples;
  const first = list[0]!;
  const last = list[list.length - 1]!;
  const seconds = (last.atMs - first.atMs) / 1000;
  const names = [...new Set(list.flatMap((sample) => Object.keys(sample.processes)))];
  const perRequest = perRequestWindow(
    first.atMs,
    last.atMs,
    served,
    inputs.k6Summary?.metrics.http_reqs?.values?.count,
  );
  const series: CpuPeriod[] = list.slice(1).map((sample, index) => {
    const before = list[index]!;
    const span = (sample.atMs - before.atMs) / 1000;
    const cores = Object.fromEntries(
      names.map((name) => [
        name,
        Math.max(0, ((sample.processes[name]?.cpuSeconds ?? 0) - (before.processes[name]?.cpuSeconds ?? 0)) / span),
      ]),
    );
    const machineCores =
      sample.machineCpuSeconds !== undefined && before.machineCpuSeconds !== undefined
        ? (sample.machineCpuSeconds - before.machineCpuSeconds) / span
        : undefined;
    return { atSeconds: (sample.atMs - first.atMs) / 1000, cores, machineCores };
  });
  const processes = names
    .map((name): ProcessFigures => {
      const cpuSeconds = Math.max(...list.map((sample) => sample.processes[name]?.cpuSeconds ?? 0));
      return {
        name,
        kind: processKind(name),
        cpuSeconds,
        averageCores: cpuSeconds / seconds,
        peakCores: peakOf(series.map((period) => period.cores[name] ?? 0)),
        cpuPerRequestUs: perRequest
          ? ((cpuSecondsAt(list, name, perRequest.toMs) - cpuSecondsAt(list, name, perRequest.fromMs)) * 1e6) /
            perRequest.requests
          : undefined,
        peakRssMb: Math.max(...list.map((sample) => sample.processes[name]?.rssBytes ?? 0)) / 2 ** 20,
        count: Math.max(...list.map((sample) => sample.processes[name]?.count ?? 0)),
      };
    })
    .sort((a, b) => b.cpuSeconds - a.cpuSeconds);
  const runCores = series.map((period) => Object.values(period.cores).reduce((sum, cores) => sum + cores, 0));
  const run = {
    averageCores: processes.reduce((sum, process) => sum + process.cpuSeconds, 0) / seconds,
    peakCores: peakOf(runCores),
  };
  const machine = series.every((period) => period.machineCores !== undefined)
    ? {
        averageCores: last.machineCpuSeconds! / seconds,
        peakCores: peakOf(series.map((period) => period.machineCores!)),
      }
    : undefined;
  return { missing, cores: samples.cores, list: processes, perRequest, run, machine, series };
}

/** PerRequestWindow over the sampled time [firstMs, lastMs]. */
function perRequestWindow(
  firstMs: number,
  lastMs: number,
  served: ServedRequests | undefined,
  k6Requests: number | undefined,
): PerRequestWindow | undefined {
  if (k6Requests) return { fromMs: firstMs, toMs: lastMs, requests: k6Requests, counted: 'k6' };
  if (!served) return undefined;
  let earliest = Number.POSITIVE_INFINITY;
  let latest = Number.NEGATIVE_INFINITY;
  for (const atMs of served.finishedAtMs) {
    earliest = Math.min(earliest, atMs);
    latest = Math.max(latest, atMs);
  }
  const fromMs = Math.max(firstMs, earliest);
  const toMs = Math.min(lastMs, latest);
  const requests = served.finishedAtMs.filter((atMs) => atMs >= fromMs && atMs <= toMs).length;
  return toMs > fromMs && requests > 0 ? { fromMs, toMs, requests, counted: served.counted } : undefined;
}

/** A process's CPU seconds since the first sample at a time, linear between two samples. */
export function cpuSecondsAt(samples: ProcessSample[], name: string, atMs: number): number {
  let before = { atMs: samples[0]?.atMs ?? atMs, cpuSeconds: 0 };
  for (const sample of samples) {
    // A name whose processes have all exited is absent from later samples: its CPU stays.
    const cpuSeconds = Math.max(before.cpuSeconds, sample.processes[name]?.cpuSeconds ?? 0);
    if (sample.atMs >= atMs) {
      if (sample.atMs === before.atMs) return cpuSeconds;
      return (
        before.cpuSeconds + ((cpuSeconds - before.cpuSeconds) * (atMs - before.atMs)) / (sample.atMs - before.atMs)
      );
    }
    before = { atMs: sample.atMs, cpuSeconds };
  }
  return before.cpuSeconds;
}

/** The highest mean of PEAK_SAMPLES consecutive values (of all of them, when fewer). */
export function peakOf(values: number[]): number {
  if (values.length === 0) return 0;
  const width = Math.min(PEAK_SAMPLES, values.length);
  let peak = 0;
  for (let index = 0; index + width <= values.length; index += 1) {
    const mean = values.slice(index, index + width).reduce((sum, value) => sum + value, 0) / width;
    peak = Math.max(peak, mean);
  }
  return peak;
}

type CacheCounts = Omit<CachePeriod, 'atSeconds'>;
const noCounts = (): CacheCounts => ({ hit: 0, miss: 0, stale: 0, bypass: 0, none: 0 });

/** The request and stats lines, accumulated as they are read. */
class LogFigures {
  readonly edge: number[] = [];
  readonly edgeFinishedAtMs: number[] = [];
  readonly all: number[] = [];
  readonly serviceFinishedAtMs: number[] = [];
  readonly byService = new Map<string, number[]>();
  readonly slowest = new SlowestRequests(SLOWEST_SHOWN, {});
  startMs = Number.POSITIVE_INFINITY;
  endMs = Number.NEGATIVE_INFINITY;
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
