/**
 * A run against a deployment on AWS, read back from CloudWatch: the services' log lines of the
 * run's window (saved as `logs/<instance>.log`, as the local stack writes them) and the
 * metrics of the ECS services, the ALB, RDS and ElastiCache (saved in `cloudwatch.json`), for
 * the bottleneck report. Imported as `@taskoverflow/trace/cloudwatch` by `pnpm loadtest`, and
 * used by `pnpm trace --report DIR --aws-outputs FILE`. Read-only: docs/deploy.md lists the
 * IAM permissions.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TraceNothingFoundError } from '../errors.js';
import { readReportInputs, REPORT_INPUT_FILES } from '../report/inputs.js';
import { readLogWindow, writeStreamFiles, type LogWindowRead } from './log-window.js';
import { metricRequests, metricWindow, readMetrics, type MetricSeries } from './metrics.js';
import type { AwsReadSettings, AwsResources } from './resources.js';

export { TRACE_NOTHING_FOUND_CODE, TRACE_USAGE_CODE } from '../errors.js';
export { AWS_CLI_OPTIONS, AWS_CLI_USAGE, awsReadSettings, STACK_OUTPUT, type AwsCliValues, type AwsReadSettings } from './resources.js';

/** What `cloudwatch.json` holds: what was asked, of which window, and what came back. */
export interface CloudWatchRun {
  resources: AwsResources;
  /** The run's window: from k6's start to its end (the runner's first and last /proc samples). */
  window: { startMs: number; endMs: number };
  /** Undefined when no log group was named. */
  logs:
    | {
        logGroupName: string;
        events: number;
        pages: number;
        streams: Array<{ stream: string; file: string; events: number }>;
        /** Why the read stopped before the window's end, and where; undefined when it read it all. */
        stopped: { because: string; atMs: number } | undefined;
      }
    | undefined;
  metrics: MetricSeries[];
  /** What could not be read, each a sentence with the fix. */
  problems: string[];
}

/** Lines written up to this long after k6's last request still belong to the run (its last stats lines). */
const LOG_TAIL_MS = 15_000;
/**
 * Log lines reach CloudWatch seconds after they are written (the awslogs driver sends every
 * few seconds), so the first read waits until this long after the run; it reads again, every
 * RECHECK_MS, while lines keep arriving, up to MAX_LOG_WAIT_MS after the run.
 */
const LOG_DELIVERY_MS = 10_000;
const RECHECK_MS = 5_000;
const MAX_LOG_WAIT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Reads the run's window from CloudWatch into its directory: `logs/` (replaced) and
 * `cloudwatch.json`. What cannot be read (no access, no data in that region) is a problem in
 * the file, not an error: the report says it and shows the rest.
 * @throws TraceNothingFoundError when the run's window is unknown (no process-samples.json) or
 *   the directory holds a local run's logs
 */
export async function readCloudWatch(runDir: string, settings: AwsReadSettings, progress: (line: string) => void): Promise<CloudWatchRun> {
  const logsDir = join(runDir, REPORT_INPUT_FILES.logs);
  if (existsSync(logsDir) && !existsSync(join(runDir, REPORT_INPUT_FILES.cloudWatch))) {
    throw new TraceNothingFoundError(
      `${runDir} holds the local stack's logs: CloudWatch is read for runs against a deployment (ENDPOINT), not for this one`,
    );
  }
  const window = await runWindow(runDir);
  const { resources } = settings;
  const clientSettings = { region: resources.region, requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS } };
  const problems: string[] = [];
  const run: CloudWatchRun = { resources, window, logs: undefined, metrics: [], problems };

  if (resources.logGroupName) {
    const client = new CloudWatchLogsClient(clientSettings);
    try {
      const logWindow = {
        logGroupName: resources.logGroupName,
        startMs: window.startMs,
        endMs: window.endMs + LOG_TAIL_MS,
        maxEvents: settings.maxLogEvents,
      };
      const read = await readDelivered(client, logWindow, progress);
      // An empty read (another region, say) keeps the lines read before; the report says none were found.
      const streams = read.events > 0 ? await writeStreamFiles(logsDir, read) : [];
      run.logs = {
        logGroupName: resources.logGroupName,
        events: read.events,
        pages: read.pages,
        streams,
        stopped: read.stoppedBecause && read.stoppedAtMs !== undefined ? { because: read.stoppedBecause, atMs: read.stoppedAtMs } : undefined,
      };
      progress(
        `CloudWatch Logs: ${read.events.toLocaleString('en-US')} lines from ${streams.length} streams of ${resources.logGroupName} ✓` +
          (run.logs.stopped ? ` (stopped at ${run.logs.stopped.because}, at ${new Date(run.logs.stopped.atMs).toISOString()})` : ''),
      );
    } catch (error) {
      problems.push(awsProblem(error, `the log group ${resources.logGroupName}`, 'logs:FilterLogEvents', resources.region));
    } finally {
      client.destroy();
    }
  } else {
    problems.push("no log group named (--aws-log-group, or the stack's logGroupName): the services' lines were not read");
  }

  const requests = metricRequests(resources);
  if (requests.length > 0) {
    const client = new CloudWatchClient(clientSettings);
    try {
      const periods = metricWindow(window.startMs, window.endMs);
      run.metrics = await readMetrics(client, requests, periods.startMs, periods.endMs);
      const withData = run.metrics.filter((series) => series.values.length > 0).length;
      progress(`CloudWatch metrics: ${withData} of ${requests.length} series with data ✓`);
    } catch (error) {
      problems.push(awsProblem(error, 'the metrics', 'cloudwatch:GetMetricData', resources.region));
    } finally {
      client.destroy();
    }
  } else {
    problems.push('no ECS cluster, load balancer, database or cache named: no metrics were read (--aws-outputs, or the --aws-* flags)');
  }
  for (const problem of problems) progress(`CloudWatch: ${problem}`);
  await writeFile(join(runDir, REPORT_INPUT_FILES.cloudWatch), `${JSON.stringify(run, null, 2)}\n`);
  return run;
}

/**
 * Reads the window once its lines have had time to arrive, then again while more keep
 * arriving: the last read that found no more than the one before, or the last before the wait's bound.
 */
async function readDelivered(
  client: CloudWatchLogsClient,
  window: Parameters<typeof readLogWindow>[1],
  progress: (line: string) => void,
): Promise<LogWindowRead> {
  const runEnd = window.endMs - LOG_TAIL_MS;
  const wait = runEnd + LOG_DELIVERY_MS - Date.now();
  if (wait > 0) {
    progress(`CloudWatch Logs: waiting ${(wait / 1000).toFixed(0)} s for the run's last lines to arrive…`);
    await sleep(wait);
  }
  let read = await readLogWindow(client, window);
  while (!read.stoppedBecause && Date.now() + RECHECK_MS <= runEnd + MAX_LOG_WAIT_MS) {
    await sleep(RECHECK_MS);
    const again = await readLogWindow(client, window);
    const grew = again.events > read.events;
    read = again;
    if (!grew) break;
    progress(`CloudWatch Logs: ${read.events.toLocaleString('en-US')} lines so far, more arriving…`);
  }
  return read;
}

/**
 * The run's window, as the report counts it: from when k6 started (the samples' start) to
 * their last, as k6 ended; where /proc gave no samples (not Linux), k6's own run duration
 * from that start.
 */
async function runWindow(runDir: string): Promise<{ startMs: number; endMs: number }> {
  const { processes, k6Summary } = await readReportInputs(runDir);
  const samples = processes?.samples ?? [];
  const startMs = processes?.startedAtMs ?? samples[0]?.atMs;
  const durationMs = k6Summary?.state?.testRunDurationMs;
  const endMs =
    samples.length > 1
      ? samples[samples.length - 1]!.atMs
      : startMs !== undefined && durationMs !== undefined
        ? startMs + durationMs
        : undefined;
  if (startMs === undefined || endMs === undefined) {
    throw new TraceNothingFoundError(
      `${runDir} says neither when k6 started (${REPORT_INPUT_FILES.processSamples}) nor how long it ran (its summary), so the run's time window is unknown: give a run directory pnpm loadtest wrote`,
    );
  }
  return { startMs, endMs };
}

/** An AWS error as a sentence that says what is missing and how to get it. */
export function awsProblem(error: unknown, what: string, permission: string, region: string): string {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : JSON.stringify(error);
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) {
    return `${what} could not be read: access denied (${name}). It needs the read-only permission ${permission} (docs/deploy.md, "Reading a run back from CloudWatch")`;
  }
  if (/Credentials|UnrecognizedClient|InvalidClientTokenId|ExpiredToken|InvalidSignature|SignatureDoesNotMatch/i.test(name)) {
    return `${what} could not be read: no valid AWS credentials (${name}: ${message}). Set them as for the AWS CLI (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)`;
  }
  if (name === 'ResourceNotFoundException') {
    return `${what} could not be read: it does not exist in ${region} (${message}). Check --aws-region and the name (--aws-outputs from the deployed stack)`;
  }
  return `${what} could not be read in ${region}: ${name}: ${message}`;
}
