/**
 * Reading a run's window from CloudWatch (index.ts's readCloudWatch loads this module when it
 * is called, so that the CLIs and the report load the AWS SDK only when they read from AWS).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TraceNothingFoundError } from '../errors.js';
import { readReportInputs, REPORT_INPUT_FILES } from '../report/inputs.js';
import type { CloudWatchRun } from './index.js';
import { readLogWindow, writeStreamFiles, type LogWindowRead } from './log-window.js';
import { metricRequests, metricWindow } from './metric-requests.js';
import { readMetrics } from './metrics.js';
import { awsProblem } from './problems.js';
import type { AwsReadSettings } from './resources.js';

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

/** index.ts's readCloudWatch. */
export async function readCloudWatchWindow(
  runDir: string,
  settings: AwsReadSettings,
  progress: (line: string) => void,
): Promise<CloudWatchRun> {
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
        stopped:
          read.stoppedBecause && read.stoppedAtMs !== undefined
            ? { because: read.stoppedBecause, atMs: read.stoppedAtMs }
            : undefined,
      };
      progress(
        `CloudWatch Logs: ${read.events.toLocaleString('en-US')} lines from ${streams.length} streams of ${resources.logGroupName} ✓` +
          (run.logs.stopped
            ? ` (stopped at ${run.logs.stopped.because}, at ${new Date(run.logs.stopped.atMs).toISOString()})`
            : ''),
      );
    } catch (error) {
      problems.push(
        awsProblem(error, `the log group ${resources.logGroupName}`, 'logs:FilterLogEvents', resources.region),
      );
    } finally {
      client.destroy();
    }
  } else {
    problems.push(
      "no log group named (--aws-log-group, or the stack's logGroupName): the services' lines were not read",
    );
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
    problems.push(
      'no ECS cluster, load balancer, database or cache named: no metrics were read (--aws-outputs, or the --aws-* flags)',
    );
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
