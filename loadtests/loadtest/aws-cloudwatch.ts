/**
 * `pnpm loadtest` against a deployment on AWS: the --aws-* flags, and the run read back from
 * CloudWatch (@taskoverflow/trace/cloudwatch) into its directory before the report is written,
 * so that the report has the services' lines and the AWS metrics of the run's window.
 */
import {
  readCloudWatch,
  TRACE_NOTHING_FOUND_CODE,
  TRACE_USAGE_CODE,
  awsReadSettings,
  type AwsCliValues,
  type AwsReadSettings,
} from '@taskoverflow/trace/cloudwatch';
import { LoadTestUsageError } from '../errors.js';
import { shown } from './run.js';

/**
 * What the --aws-* flags ask for; undefined when none is given.
 * @throws LoadTestUsageError on a bad flag, or when there is no ENDPOINT to have run against
 */
export function awsOption(
  values: AwsCliValues,
  endpoint: string | undefined,
  env: NodeJS.ProcessEnv,
  userDirectory: string,
): AwsReadSettings | undefined {
  let settings: AwsReadSettings | undefined;
  try {
    settings = awsReadSettings(values, env, userDirectory);
  } catch (error) {
    if ((error as { code?: unknown }).code === TRACE_USAGE_CODE) throw new LoadTestUsageError((error as Error).message);
    throw error;
  }
  if (settings && !endpoint) {
    throw new LoadTestUsageError(
      "the --aws-* flags read a deployment's CloudWatch: set ENDPOINT to its URL (ENDPOINT=$(cd infra && pulumi stack output url)); the local stack's logs are read from its files",
    );
  }
  return settings;
}

/** Reads the run's window from CloudWatch into runDir, saying what it read and where it went. */
export async function readRunFromCloudWatch(
  runDir: string,
  settings: AwsReadSettings,
  progress: (line: string) => void,
): Promise<void> {
  progress(`\nCloudWatch (${settings.resources.region}): reading the run's logs and metrics…`);
  let run;
  try {
    run = await readCloudWatch(runDir, settings, progress);
  } catch (error) {
    // The run left nothing to place it in time (it stopped before k6 ran): the report goes on without CloudWatch.
    if ((error as { code?: unknown }).code !== TRACE_NOTHING_FOUND_CODE) throw error;
    progress(`CloudWatch: not read: ${(error as Error).message}`);
    return;
  }
  if (run.logs && run.logs.events > 0) {
    const logs = shown(`${runDir}/logs`);
    progress(
      `  logs     ${logs}/<instance>.log (one per stream): pnpm trace --logs ${logs} --slowest 10, or <request-id>`,
    );
  }
}
