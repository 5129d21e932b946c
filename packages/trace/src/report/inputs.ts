/**
 * What a load-test run leaves in its results directory, read back for the bottleneck report:
 * the instances' logs, k6's summary and per-second series, the latency plot, the processes'
 * CPU and memory sampled from /proc and the todos counted before and after. Every part may be
 * missing (a run against ENDPOINT has no logs or samples of the services); the report says
 * what it could not see. The services' log lines come through a LogSource: the run's `logs`
 * directory by default, or any other source of the same lines (CloudWatch Logs).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CloudWatchRun } from '../cloudwatch/index.js';
import type { LogEntry } from '../log-entry.js';
import { listLogFiles, readLogEntries } from '../log-reader.js';
import type { PeriodPoint } from './dashboard-data.js';

/** Files the load test writes for the report, beside k6's own. */
export const REPORT_INPUT_FILES = {
  processSamples: 'process-samples.json',
  k6Series: 'k6-series.json',
  latencyPlot: 'latency.svg',
  logs: 'logs',
  todoCounts: 'todo-counts.json',
  /** A run against AWS: what CloudWatch held for its window (@taskoverflow/trace/cloudwatch); its log lines are in `logs`. */
  cloudWatch: 'cloudwatch.json',
} as const;

/** CPU and memory of the run's processes, sampled from /proc while it lasted. */
export interface ProcessSamples {
  /**
   * When sampling began, just before k6 started: on any platform, where the samples need
   * /proc. Absent from older run directories, where the first sample stands for it.
   */
  startedAtMs?: number;
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

/** k6's summary JSON (handleSummary's data, loadtests/k6/lib/summary.js), the parts the report reads. */
export interface K6Summary {
  /**
   * What `pnpm loadtest` ran: the scenario or script's name, scale, endpoint; `thinkSeconds`,
   * each scenario's think time per iteration when the script states it.
   */
  run?: { name?: string; scale?: string; endpoint?: string; script?: string; thinkSeconds?: Record<string, number> };
  metrics: Record<
    string,
    { values?: Record<string, number>; thresholds?: Record<string, { ok: boolean }> } | undefined
  >;
  /** The checks, in k6's groups. */
  root_group?: K6Group;
  state?: { testRunDurationMs?: number };
}

export interface K6Group {
  name: string;
  checks: Array<{ name: string; passes: number; fails: number }>;
  groups: K6Group[];
}

/**
 * Where the services' log lines come from: a run's `logs` directory (logDirectorySource), or
 * another source of the same JSON lines, such as CloudWatch Logs for a run against AWS.
 */
export interface LogSource {
  /** Said in the report: `logs/ (4 files)`, `CloudWatch Logs group /ecs/taskoverflow`… */
  description: string;
  /** The services ran on this machine: their processes were sampled with k6's. */
  local: boolean;
  /** Hands every entry to `visit`, each instance's in its order; called once per pass (the report makes two). */
  forEach(visit: (entry: LogEntry) => void): Promise<void>;
}

/** A directory of `<instance>.log` files, as `pnpm start` and `pnpm loadtest` write them. */
export function logDirectorySource(dir: string): LogSource {
  return {
    description: dir,
    local: true,
    async forEach(visit) {
      await readLogEntries(await listLogFiles(dir), visit);
    },
  };
}

/** The lines of a run against AWS, read from CloudWatch Logs and saved in its `logs` directory. */
function cloudWatchLogSource(dir: string, run: CloudWatchRun): LogSource {
  return {
    ...logDirectorySource(dir),
    description: `CloudWatch Logs group ${run.logs?.logGroupName ?? '?'} (saved in ${dir})`,
    local: false,
  };
}

/**
 * The todos there were before k6 started and after it ended (after the seeding, before the
 * stack stopped): what the run changed. Undefined where a count failed.
 */
export interface TodoCounts {
  before: number | undefined;
  after: number | undefined;
  /** How they were counted: GET /api/v1/todos. */
  countedVia: 'api';
}

export interface ReportInputs {
  runDir: string;
  /** Undefined when the run has no logs of the services (a run against ENDPOINT with no other source). */
  logs: LogSource | undefined;
  k6Summary: K6Summary | undefined;
  /** k6's per-second series (readDashboardSeries), as `pnpm loadtest` saved it. */
  k6Series: PeriodPoint[] | undefined;
  processes: ProcessSamples | undefined;
  /** k6's latency-over-time plot, as `pnpm loadtest` drew it. */
  latencySvg: string | undefined;
  todoCounts: TodoCounts | undefined;
  /** A run against AWS, read back from CloudWatch. */
  cloudWatch: CloudWatchRun | undefined;
}

/** What replaces a part of the run directory: the logs read from elsewhere (CloudWatch Logs). */
export interface ReportInputOverrides {
  logs?: LogSource;
}

/** The run directory of a path that is either one or its `logs` directory. */
export function runDirectoryOf(path: string): string {
  return basename(path) === REPORT_INPUT_FILES.logs && !existsSync(join(path, REPORT_INPUT_FILES.logs))
    ? dirname(path)
    : path;
}

export async function readReportInputs(runDir: string, overrides: ReportInputOverrides = {}): Promise<ReportInputs> {
  const logsDir = join(runDir, REPORT_INPUT_FILES.logs);
  const summaryFile = (await readdir(runDir)).find((name) => name.endsWith('-summary.json'));
  const cloudWatch = await readJson<CloudWatchRun>(join(runDir, REPORT_INPUT_FILES.cloudWatch));
  const saved = existsSync(logsDir)
    ? cloudWatch
      ? cloudWatchLogSource(logsDir, cloudWatch)
      : logDirectorySource(logsDir)
    : undefined;
  return {
    runDir,
    logs: overrides.logs ?? saved,
    cloudWatch,
    k6Summary: summaryFile ? await readJson<K6Summary>(join(runDir, summaryFile)) : undefined,
    k6Series: await readJson<PeriodPoint[]>(join(runDir, REPORT_INPUT_FILES.k6Series)),
    processes: await readJson<ProcessSamples>(join(runDir, REPORT_INPUT_FILES.processSamples)),
    latencySvg: await readText(join(runDir, REPORT_INPUT_FILES.latencyPlot)),
    todoCounts: await readJson<TodoCounts>(join(runDir, REPORT_INPUT_FILES.todoCounts)),
  };
}

async function readText(path: string): Promise<string | undefined> {
  return existsSync(path) ? readFile(path, 'utf8') : undefined;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  const text = await readText(path);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}
