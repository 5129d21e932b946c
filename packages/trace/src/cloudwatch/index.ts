/**
 * A run against a deployment on AWS, read back from CloudWatch: the services' log lines of the
 * run's window (saved as `logs/<instance>.log`, as the local stack writes them) and the
 * metrics of the ECS services, the ALB, RDS and ElastiCache (saved in `cloudwatch.json`), for
 * the bottleneck report. Imported as `@taskoverflow/trace/cloudwatch` by `pnpm loadtest`, and
 * used by `pnpm trace --report DIR --aws-outputs FILE`. Read-only: docs/deploy.md lists the
 * IAM permissions.
 */
import type { MetricSeries } from './metric-requests.js';
import type { AwsReadSettings, AwsResources } from './resources.js';

export { TRACE_NOTHING_FOUND_CODE, TRACE_USAGE_CODE } from '../errors.js';
export { awsProblem } from './problems.js';
export {
  AWS_CLI_OPTIONS,
  AWS_CLI_USAGE,
  awsReadSettings,
  STACK_OUTPUT,
  type AwsCliValues,
  type AwsReadSettings,
} from './resources.js';

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

/**
 * Reads the run's window from CloudWatch into its directory: `logs/` (replaced) and
 * `cloudwatch.json`. What cannot be read (no access, no data in that region) is a problem in
 * the file, not an error: the report says it and shows the rest.
 * @throws TraceNothingFoundError when the run's window is unknown (no process-samples.json) or
 *   the directory holds a local run's logs
 */
export async function readCloudWatch(
  runDir: string,
  settings: AwsReadSettings,
  progress: (line: string) => void,
): Promise<CloudWatchRun> {
  const { readCloudWatchWindow } = await import('./read.js');
  return readCloudWatchWindow(runDir, settings, progress);
}
