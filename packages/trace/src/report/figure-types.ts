/**
 * The shapes of a run's figures (figures.ts collects them; bottlenecks.json holds them): what
 * the verdict, the HTML page and run comparisons read.
 */
import type { CacheOutcome } from '@taskoverflow/observability';
import type { RequestSummary } from '../slowest.js';
import type { AwsFigures } from './aws-figures.js';

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
    /** The balancer that ran as the edge, from its `edge listening` line; undefined without the edge's log. */
    balancer: string | undefined;
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

/** A threshold of k6's summary: `http_req_duration{scenario:studiers}` and `p(95)<200`. */
export interface K6Threshold {
  metric: string;
  expression: string;
}
