/**
 * The per-period metrics inside k6's web-dashboard HTML export, as a time series.
 *
 * The export embeds the dashboard's event stream (gzip, base64, one JSON event per line):
 * `param` gives the period and which aggregates each metric type has, each `metric` event
 * declares new metrics, and each `snapshot` holds one period's aggregates of every metric
 * declared so far, in metric-name order. Reading it costs nothing during the run, where k6's
 * per-request output (`--out json`) would be gigabytes at stress rates.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export interface PeriodPoint {
  /** Seconds since the test started, at the end of the period. */
  atSeconds: number;
  vus: number;
  requestsPerSecond: number;
  /** Share of requests that failed in this period (0–1). */
  failedShare: number;
  /** Latency of the requests of this period, ms; undefined when there were none. */
  medianMs: number | undefined;
  p95Ms: number | undefined;
  maxMs: number | undefined;
}

interface DashboardEvent {
  event: string;
  data: unknown;
}

interface Param {
  period: number;
  aggregates: Record<string, string[]>;
}

const DATA_ELEMENT = /<script id="data" type="application\/json; charset=utf-8; gzip; base64">([^<]*)<\/script>/;

export async function readDashboardSeries(reportPath: string): Promise<PeriodPoint[]> {
  const html = await readFile(reportPath, 'utf8');
  const encoded = DATA_ELEMENT.exec(html)?.[1];
  if (!encoded)
    throw new Error(`${reportPath} has no embedded dashboard data: was it exported by k6 v1's web dashboard?`);
  const events = gunzipSync(Buffer.from(encoded.trim(), 'base64'))
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as DashboardEvent);
  return seriesOf(events);
}

function seriesOf(events: DashboardEvent[]): PeriodPoint[] {
  const param = events.find((event) => event.event === 'param')?.data as Param | undefined;
  const start = (events.find((event) => event.event === 'start')?.data as number[][] | undefined)?.[0]?.[0];
  if (!param || start === undefined) throw new Error('the dashboard data has no param or start event');

  const types = new Map<string, string>();
  const points: PeriodPoint[] = [];
  // A period in which k6 took no sample of the VU gauge has none: the count has not changed.
  // Before its first sample the count is unknown, not 0 (requests flow): those periods take
  // the first sampled count (and stay 0 only in a run too short for any sample).
  let vus: number | undefined;
  for (const { event, data } of events) {
    if (event === 'metric') {
      for (const [name, { type }] of Object.entries(data as Record<string, { type: string }>)) types.set(name, type);
    } else if (event === 'snapshot') {
      const values = snapshotValues(data as number[][], types, param.aggregates);
      const time = values('time', 'value');
      if (time === undefined) continue;
      const requests = values('http_reqs', 'count') ?? 0;
      const sampled = values('vus', 'value');
      if (sampled !== undefined && vus === undefined) for (const unsampled of points) unsampled.vus = sampled;
      vus = sampled ?? vus;
      points.push({
        atSeconds: (time - start) / 1000,
        vus: vus ?? 0,
        requestsPerSecond: values('http_reqs', 'rate') ?? 0,
        failedShare: requests > 0 ? (values('http_req_failed', 'rate') ?? 0) : 0,
        medianMs: requests > 0 ? values('http_req_duration', 'med') : undefined,
        p95Ms: requests > 0 ? values('http_req_duration', 'p(95)') : undefined,
        maxMs: requests > 0 ? values('http_req_duration', 'max') : undefined,
      });
    }
  }
  return points;
}

/** A lookup of one snapshot's values by metric name and aggregate name. */
function snapshotValues(snapshot: number[][], types: Map<string, string>, aggregates: Record<string, string[]>) {
  // The snapshot lists every metric declared so far, sorted by name (byte order, as Go sorts).
  const names = [...types.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return (metric: string, aggregate: string): number | undefined => {
    const index = names.indexOf(metric);
    const position = aggregates[types.get(metric) ?? '']?.indexOf(aggregate) ?? -1;
    if (index < 0 || position < 0) return undefined;
    const value = snapshot[index]?.[position];
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  };
}

/**
 * Periods in a row whose p95 must be above the bound before it counts as crossed: one slow
 * second (a pause of the machine's other work, a GC) is not where the system stopped keeping up.
 */
export const SUSTAINED_PERIODS = 3;

/**
 * The VU count at which p95 crossed `boundMs` for good: that of the first of SUSTAINED_PERIODS
 * periods in a row with p95 above it; undefined when it never did.
 */
export function vusWhereP95Crosses(points: PeriodPoint[], boundMs: number): number | undefined {
  let run = 0;
  for (const [index, point] of points.entries()) {
    run = point.p95Ms !== undefined && point.p95Ms > boundMs ? run + 1 : 0;
    if (run === SUSTAINED_PERIODS) return points[index - SUSTAINED_PERIODS + 1]!.vus;
  }
  return undefined;
}
