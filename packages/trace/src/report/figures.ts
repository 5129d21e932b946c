/**
 * The figures of a load-test run, from what it left behind (inputs.ts): the client's
 * percentiles (k6) beside the edge's and the services' (their canonical `request finished`
 * lines), CPU and memory per process (the /proc samples), the read path over time (cache
 * outcomes, queries, the services' `stats` lines) and the slowest requests. The verdict
 * (verdict.ts) is a pure function of these; bottlenecks.json is these plus the verdict.
 */
import type { LogEntry } from '../log-entry.js';
import { awsFiguresOf } from './aws-figures.js';
import type { Figures } from './figure-types.js';
import type { ReportInputs } from './inputs.js';
import { clientGroups, k6Thresholds, p95TargetOf, peakVusOf, throughputOf } from './k6-figures.js';
import { LogFigures, percentiles } from './log-figures.js';
import { processFigures, type ServedRequests } from './process-figures.js';

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
      balancer: logs.balancer,
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
