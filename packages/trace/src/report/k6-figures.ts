/**
 * The figures k6 left behind: its summary's percentiles, thresholds, VUs and failed requests,
 * and its per-second series' throughput.
 */
import type { PeriodPoint } from './dashboard-data.js';
import type { ClientGroup, FailureFigures, K6Threshold, Throughput } from './figure-types.js';
import type { K6Summary } from './inputs.js';

const CLIENT_METRIC = 'http_req_duration';

export function clientGroups(summary: K6Summary | undefined): ClientGroup[] {
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

export function k6Thresholds(summary: K6Summary): K6Threshold[] {
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

export function clientFailures(summary: K6Summary | undefined): FailureFigures['client'] {
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
