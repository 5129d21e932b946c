import { fileURLToPath } from 'node:url';
import type { CloudWatchTransportOptions } from './transport.js';

type Env = Readonly<Record<string, string | undefined>>;

/** A pino transport target: an entry of `pino.transport({ targets })`. */
export interface CloudWatchTransportTarget {
  target: string;
  options: CloudWatchTransportOptions;
}

/**
 * The module pino's worker thread loads, as an absolute path (pino would otherwise resolve a
 * bare name from the caller's file). From source, a JS entry that registers tsx in the worker
 * first (see transport.dev.mjs); built, the compiled transport.
 */
const TRANSPORT_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './transport.dev.mjs' : './transport.js', import.meta.url),
);

/** CloudWatch's rule for log group names. */
const LOG_GROUP_NAME = /^[\w\-/.#]{1,512}$/;

/**
 * The CloudWatch Logs target for a service's logger, or undefined to log to stdout only.
 *
 * Shipping is on exactly when CLOUDWATCH_LOG_GROUP is set (to the group's name; the stack's
 * group is `taskoverflow`). The region is not the switch: ECS sets AWS_REGION in every task,
 * where the awslogs driver already ships stdout, so leave CLOUDWATCH_LOG_GROUP unset there.
 * The region comes from AWS_REGION or AWS_DEFAULT_REGION, credentials from the AWS SDK's
 * default chain (environment, ~/.aws, instance role). Each service and host gets its own
 * stream, `<service>/<hostname>`. The transport creates a missing stream, but a missing group
 * only with `createLogGroup` (CLOUDWATCH_CREATE_LOG_GROUP=true, which the caller reads with its
 * EnvReader): a group that Pulumi manages must never be created by a service.
 *
 * @throws Error when CLOUDWATCH_LOG_GROUP is set but unusable: not a valid group name, or no region.
 */
export function cloudWatchTransportTarget(
  env: Env,
  { service, hostname, createLogGroup }: { service: string; hostname: string; createLogGroup: boolean },
): CloudWatchTransportTarget | undefined {
  const logGroupName = env.CLOUDWATCH_LOG_GROUP?.trim();
  if (!logGroupName) return undefined;
  if (!LOG_GROUP_NAME.test(logGroupName)) {
    throw new Error(
      `CLOUDWATCH_LOG_GROUP must be a CloudWatch log group name (1 to 512 of letters, digits, _ - / . #), got "${logGroupName}"`,
    );
  }
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  if (!region) {
    throw new Error(
      `CLOUDWATCH_LOG_GROUP is set ("${logGroupName}") but no AWS region is: set AWS_REGION (e.g. AWS_REGION=eu-west-1), ` +
        'or unset CLOUDWATCH_LOG_GROUP to log to stdout only',
    );
  }
  return {
    target: TRANSPORT_ENTRY,
    options: { logGroupName, logStreamName: `${service}/${hostname}`, region, createLogGroup },
  };
}
