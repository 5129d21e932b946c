/** The run's metrics (metric-requests.ts), read with GetMetricData in one-minute periods. */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { METRIC_PERIOD_SECONDS, type MetricRequest, type MetricSeries } from './metric-requests.js';

/** GetMetricData's most queries per call. */
const QUERIES_PER_CALL = 500;

/** The requested series over [startMs, endMs), whole periods; a series without data has no points. */
export async function readMetrics(
  client: CloudWatchClient,
  requests: MetricRequest[],
  startMs: number,
  endMs: number,
): Promise<MetricSeries[]> {
  const series: MetricSeries[] = requests.map((request) => ({ ...request, timestamps: [], values: [] }));
  for (let first = 0; first < requests.length; first += QUERIES_PER_CALL) {
    const batch = requests.slice(first, first + QUERIES_PER_CALL);
    const queries: MetricDataQuery[] = batch.map((request, index) => ({
      Id: `q${first + index}`,
      MetricStat: {
        Metric: {
          Namespace: request.namespace,
          MetricName: request.metric,
          Dimensions: Object.entries(request.dimensions).map(([Name, Value]) => ({ Name, Value })),
        },
        Period: METRIC_PERIOD_SECONDS,
        Stat: request.stat,
      },
      ReturnData: true,
    }));
    let nextToken: string | undefined;
    do {
      const answer = await client.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: new Date(startMs),
          EndTime: new Date(endMs),
          ScanBy: 'TimestampAscending',
          NextToken: nextToken,
        }),
      );
      for (const result of answer.MetricDataResults ?? []) {
        const target = series[Number(result.Id?.slice(1))];
        if (!target) continue;
        (result.Timestamps ?? []).forEach((timestamp, index) => {
          const value = result.Values?.[index];
          if (value === undefined || !Number.isFinite(value)) return;
          target.timestamps.push(timestamp.getTime());
          target.values.push(value);
        });
      }
      nextToken = answer.NextToken;
    } while (nextToken);
  }
  for (const one of series) sortByTime(one);
  return series;
}

function sortByTime(series: MetricSeries): void {
  const order = series.timestamps
    .map((_, index) => index)
    .sort((a, b) => series.timestamps[a]! - series.timestamps[b]!);
  series.timestamps = order.map((index) => series.timestamps[index]!);
  series.values = order.map((index) => series.values[index]!);
}
