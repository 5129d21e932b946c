import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { roundMs, type RequestRecord } from './context.js';
import {
  STATS_MESSAGE,
  type EdgeCountedFields,
  type ServiceCountedFields,
  type StatsFields,
  type StatsGauge,
} from './log-schema.js';

/**
 * Durations are counted in buckets a quarter of a doubling wide (a percentile is known to
 * within 19 %), from 2^-7 ms (8 µs) to 2^17 ms (131 s): 96 counters, whatever the load.
 */
const BUCKETS_PER_DOUBLING = 4;
const SMALLEST_LOG2_MS = -7;
const LARGEST_LOG2_MS = 17;
const BUCKET_COUNT = (LARGEST_LOG2_MS - SMALLEST_LOG2_MS) * BUCKETS_PER_DOUBLING + 1;
/** The event-loop delay histogram's sampling period (ms): its own cost is one timer per period. */
const EVENT_LOOP_RESOLUTION_MS = 20;
const BYTES_PER_MB = 1024 * 1024;

/** The bucket of a duration: the first whose upper bound is at least `ms`. */
function bucketOf(ms: number): number {
  const index = Math.ceil((Math.log2(ms) - SMALLEST_LOG2_MS) * BUCKETS_PER_DOUBLING);
  // log2 of 0 is -Infinity: the first bucket; NaN fails both tests: also the first.
  return index > 0 ? Math.min(index, BUCKET_COUNT - 1) : 0;
}

function upperBoundMs(bucket: number): number {
  return 2 ** (bucket / BUCKETS_PER_DOUBLING + SMALLEST_LOG2_MS);
}

/** How a config reader (@taskoverflow/config's EnvReader) reads a whole number. */
interface IntegerReader {
  integer(name: string, fallback: number, range: { min: number; max: number }): number;
}

/**
 * STATS_INTERVAL_MS, read the same way by every process that writes a `stats` line: the ms
 * between lines, 5000 by default; 0: none.
 */
export function readStatsIntervalMs(reader: IntegerReader): number {
  return reader.integer('STATS_INTERVAL_MS', 5_000, { min: 0, max: 3_600_000 });
}

/** Where a `stats` line goes: a pino logger (a service's, the edge's), or HAProxy's log (packages/stack). */
export interface StatsLog {
  info(fields: object, msg: string): void;
}

/**
 * Whose CPU time and RSS a `stats` line reports: by default the process that counts the
 * requests; the one that runs HAProxy counts HAProxy's requests and reads its figures from /proc.
 * Without a Node event loop of its own (`eventLoop: false`) the line has no event-loop delay.
 */
export interface MeasuredProcess {
  /** CPU time used since the process started, user and system, in µs. */
  cpuMicros(): number;
  rssBytes(): number;
  eventLoop: boolean;
}

const THIS_PROCESS: MeasuredProcess = {
  cpuMicros: () => {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  },
  rssBytes: () => process.memoryUsage.rss(),
  eventLoop: true,
};

/**
 * A process's figures over an interval, written as one `stats` line (info) every
 * STATS_INTERVAL_MS and once more when it closes, each time only if the interval saw requests:
 * requests and rps; p50/p95/p99 of duration_ms (bucket upper bounds, see above); 5xx (shed
 * ones included) and shed 503s; the fields of the kind of process (`takeCountedFields`); the event
 * loop's p99 delay; RSS; and the CPU time the process used. Counting a request costs a few
 * increments and one log2, and no allocation.
 */
abstract class IntervalStats<Counted extends object> {
  private readonly durations = new Uint32Array(BUCKET_COUNT);
  private requests = 0;
  private status5xx = 0;
  private shed = 0;
  private intervalStartedAt = 0;
  private cpuAtStartMicros = 0;
  private eventLoopDelay: ReturnType<typeof monitorEventLoopDelay> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private log: StatsLog | undefined;
  private readonly gauges = new Map<StatsGauge, () => number>();

  constructor(
    readonly intervalMs: number,
    private readonly measured: MeasuredProcess = THIS_PROCESS,
  ) {}

  /**
   * A state the line reports as it is when the line is written (not counted over the interval),
   * e.g. `redis_connected`: 1 or 0. CloudWatch metric filters can read it like any field.
   */
  addGauge(field: StatsGauge, read: () => number): void {
    this.gauges.set(field, read);
  }

  /** Writes a `stats` line to `log` every interval from now on. */
  start(log: StatsLog): void {
    this.log = log;
    if (this.measured.eventLoop) {
      this.eventLoopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
      this.eventLoopDelay.enable();
    }
    this.beginInterval();
    this.timer = setInterval(() => this.emit(), this.intervalMs);
    // The line is a report, not work that keeps a process alive.
    this.timer.unref();
  }

  /** The last (partial) interval's line, then no more. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.emit();
    this.eventLoopDelay?.disable();
  }

  /** One answered request; `shed`: refused by load shedding (a 503). */
  protected count(status: number, durationMs: number, shed: boolean): void {
    this.requests += 1;
    this.durations[bucketOf(durationMs)]! += 1;
    if (status >= 500) this.status5xx += 1;
    if (shed) this.shed += 1;
  }

  /** The interval's figures of this kind of process, by field name; then its counters start again. */
  protected abstract takeCountedFields(): Counted;

  private beginInterval(): void {
    this.intervalStartedAt = performance.now();
    this.cpuAtStartMicros = this.measured.cpuMicros();
    this.eventLoopDelay?.reset();
  }

  private emit(): void {
    if (this.requests === 0 || !this.log) {
      this.beginInterval();
      return;
    }
    const intervalMs = performance.now() - this.intervalStartedAt;
    const cpuMicros = this.measured.cpuMicros() - this.cpuAtStartMicros;
    const line: StatsFields & Counted & Partial<Record<StatsGauge, number>> = {
      interval_ms: Math.round(intervalMs),
      requests: this.requests,
      rps: Math.round((this.requests / intervalMs) * 1000 * 10) / 10,
      p50_ms: this.percentileMs(50),
      p95_ms: this.percentileMs(95),
      p99_ms: this.percentileMs(99),
      status_5xx: this.status5xx,
      shed: this.shed,
      ...this.takeCountedFields(),
      ...Object.fromEntries([...this.gauges].map(([field, read]) => [field, read()])),
      ...(this.eventLoopDelay && { event_loop_delay_p99_ms: roundMs(this.eventLoopDelay.percentile(99) / 1e6) }),
      rss_mb: Math.round((this.measured.rssBytes() / BYTES_PER_MB) * 10) / 10,
      cpu_ms: Math.round(cpuMicros / 1000),
    };
    this.log.info(line, STATS_MESSAGE);
    this.durations.fill(0);
    this.requests = 0;
    this.status5xx = 0;
    this.shed = 0;
    this.beginInterval();
  }

  /** The nearest-rank percentile's bucket, as its upper bound. */
  private percentileMs(p: number): number {
    const rank = Math.max(1, Math.ceil((p / 100) * this.requests));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKET_COUNT; bucket += 1) {
      seen += this.durations[bucket]!;
      if (seen >= rank) return roundMs(upperBoundMs(bucket));
    }
    return roundMs(upperBoundMs(BUCKET_COUNT - 1));
  }
}

/**
 * A service's `stats` line: the common figures, plus 429s (`rate_limited`), cache outcomes
 * and database queries from each request's record. Health checks are not counted.
 */
export class RequestStats extends IntervalStats<ServiceCountedFields> {
  private rateLimited = 0;
  private cacheHit = 0;
  private cacheMiss = 0;
  private cacheStale = 0;
  private cacheBypass = 0;
  private dbQueries = 0;

  add(status: number, durationMs: number, record: RequestRecord | null): void {
    this.count(status, durationMs, record?.shed !== undefined);
    if (status === 429) this.rateLimited += 1;
    if (record === null) return;
    this.dbQueries += record.dbQueries;
    switch (record.cache) {
      case 'hit':
        this.cacheHit += 1;
        break;
      case 'miss':
        this.cacheMiss += 1;
        break;
      case 'stale':
        this.cacheStale += 1;
        break;
      case 'bypass':
        this.cacheBypass += 1;
        break;
      case undefined:
        break;
    }
  }

  protected takeCountedFields(): ServiceCountedFields {
    const fields: ServiceCountedFields = {
      rate_limited: this.rateLimited,
      cache_hit: this.cacheHit,
      cache_miss: this.cacheMiss,
      cache_stale: this.cacheStale,
      cache_bypass: this.cacheBypass,
      db_queries: this.dbQueries,
    };
    this.rateLimited = 0;
    this.cacheHit = 0;
    this.cacheMiss = 0;
    this.cacheStale = 0;
    this.cacheBypass = 0;
    this.dbQueries = 0;
    return fields;
  }
}

/**
 * The load balancer's `stats` line: the common figures (`shed`: its own 503s, refused by the
 * bounded queue in front of the replicas), plus `upstream_errors`: 502s and 504s, answers
 * that no replica gave in time or at all.
 */
export class LoadBalancerStats extends IntervalStats<EdgeCountedFields> {
  private upstreamErrors = 0;

  add(status: number, durationMs: number, shed: boolean): void {
    this.count(status, durationMs, shed);
    if (status === 502 || status === 504) this.upstreamErrors += 1;
  }

  protected takeCountedFields(): EdgeCountedFields {
    const fields: EdgeCountedFields = { upstream_errors: this.upstreamErrors };
    this.upstreamErrors = 0;
    return fields;
  }
}
