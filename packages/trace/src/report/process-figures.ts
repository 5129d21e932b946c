/**
 * CPU and memory per process, from the /proc samples (inputs.ts), and CPU per request over the
 * requests the run served.
 */
import { SERVICES } from '@taskoverflow/routing';
import type { CpuPeriod, Figures, PerRequestWindow, ProcessFigures, ProcessKind } from './figure-types.js';
import type { ProcessSample, ReportInputs } from './inputs.js';

/** Samples of a stretch that counts as a peak: a single busy second is a GC, not a limit. */
export const PEAK_SAMPLES = 3;

/** A replica that answered requests (todo-read-1…), by its instance name. */
const REPLICA_NAME = new RegExp(`^(${SERVICES.join('|')})-\\d+$`);

/**
 * The ceilings' processes (`pnpm loadtest --target ceiling`, `balanced-ceiling`): the bare
 * servers (`ceiling`, `ceiling-1`…), which serve as replicas do, and the balanced ceiling's load
 * balancer, an edge beside the idle stack's own.
 */
export const CEILING_EDGE_PROCESS = 'ceiling-edge';
const CEILING_SERVER_NAME = /^ceiling(-\d+)?$/;

export function isCeilingProcess(name: string): boolean {
  return name === CEILING_EDGE_PROCESS || CEILING_SERVER_NAME.test(name);
}

export function processKind(name: string): ProcessKind {
  if (name === 'k6' || name === 'edge' || name === 'redis' || name === 'postgres') return name;
  if (name === CEILING_EDGE_PROCESS) return 'edge';
  if (REPLICA_NAME.test(name) || CEILING_SERVER_NAME.test(name)) return 'replica';
  return name === RUNNER_PROCESS ? 'runner' : 'other';
}

/** Kinds of process whose CPU serves the requests: the system under test, without the load generator. */
const STACK_KINDS = new Set<ProcessKind>(['edge', 'replica', 'redis', 'postgres']);

/** A figure of the system under test's processes (STACK_KINDS) added up; undefined when one of them lacks it. */
export function stackTotal(
  processes: ProcessFigures[],
  figure: (process: ProcessFigures) => number | undefined,
): number | undefined {
  const values = processes.filter((process) => STACK_KINDS.has(process.kind)).map(figure);
  return values.length > 0 && values.every((value) => value !== undefined)
    ? values.reduce((sum, value) => sum + value, 0)
    : undefined;
}

/** The name the sampler gives the process that runs the load test and the stack. */
export const RUNNER_PROCESS = 'pnpm loadtest';

/** When each request the stack served finished, by the lines that count them. */
export interface ServedRequests {
  counted: 'edge' | 'services';
  finishedAtMs: number[];
}

export function processFigures(inputs: ReportInputs, served: ServedRequests | undefined): Figures['processes'] {
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
