/**
 * What a load-test run leaves in its results directory, read back for the bottleneck report:
 * the instances' logs, k6's summary and per-second series, the latency plot and the processes'
 * CPU and memory sampled from /proc. Every part may be missing (a run against ENDPOINT has no
 * logs or samples of the services); the report says what it could not see.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { PeriodPoint } from './dashboard-data.js';

/** Files the load test writes for the report, beside k6's own. */
export const REPORT_INPUT_FILES = {
  processSamples: 'process-samples.json',
  k6Series: 'k6-series.json',
  latencyPlot: 'latency.svg',
  logs: 'logs',
} as const;

/** CPU and memory of the run's processes, sampled from /proc while it lasted. */
export interface ProcessSamples {
  /** The cores this machine has. */
  cores: number;
  intervalMs: number;
  samples: ProcessSample[];
}

export interface ProcessSample {
  atMs: number;
  /** CPU seconds the whole machine spent busy since the first sample, every core and process. */
  machineCpuSeconds: number | undefined;
  /**
   * By process name (k6, edge, todo-read-1, redis, postgres, pnpm loadtest): CPU seconds since
   * the first sample, resident memory now (summed over a server's processes) and how many.
   */
  processes: Record<string, { cpuSeconds: number; rssBytes: number; count: number }>;
}

/** k6's summary JSON, the parts the report reads. */
export interface K6Summary {
  run?: { name?: string; scale?: string; endpoint?: string };
  metrics: Record<string, { values?: Record<string, number>; thresholds?: Record<string, { ok: boolean }> } | undefined>;
}

export interface ReportInputs {
  runDir: string;
  /** Undefined when the run has no logs of the services (a run against ENDPOINT). */
  logsDir: string | undefined;
  k6Summary: K6Summary | undefined;
  /** k6's per-second series (readDashboardSeries), as `pnpm loadtest` saved it. */
  k6Series: PeriodPoint[] | undefined;
  processes: ProcessSamples | undefined;
  /** k6's latency-over-time plot, as `pnpm loadtest` drew it. */
  latencySvg: string | undefined;
}

/** The run directory of a path that is either one or its `logs` directory. */
export function runDirectoryOf(path: string): string {
  return basename(path) === REPORT_INPUT_FILES.logs && !existsSync(join(path, REPORT_INPUT_FILES.logs)) ? dirname(path) : path;
}

export async function readReportInputs(runDir: string): Promise<ReportInputs> {
  const logsDir = join(runDir, REPORT_INPUT_FILES.logs);
  const summaryFile = (await readdir(runDir)).find((name) => name.endsWith('-summary.json'));
  return {
    runDir,
    logsDir: existsSync(logsDir) ? logsDir : undefined,
    k6Summary: summaryFile ? await readJson<K6Summary>(join(runDir, summaryFile)) : undefined,
    k6Series: await readJson<PeriodPoint[]>(join(runDir, REPORT_INPUT_FILES.k6Series)),
    processes: await readJson<ProcessSamples>(join(runDir, REPORT_INPUT_FILES.processSamples)),
    latencySvg: await readText(join(runDir, REPORT_INPUT_FILES.latencyPlot)),
  };
}

async function readText(path: string): Promise<string | undefined> {
  return existsSync(path) ? readFile(path, 'utf8') : undefined;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  const text = await readText(path);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}
