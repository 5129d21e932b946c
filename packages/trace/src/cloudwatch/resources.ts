/**
 * Which AWS resources a run's CloudWatch figures come from: the Pulumi stack's
 * `cloudWatchResources` output (infra/index.ts; `pulumi stack output --json > outputs.json`,
 * then `--aws-outputs outputs.json`), or `--aws-*` flags, which override it one by one. The
 * same flags serve `pnpm loadtest` and `pnpm trace --report` (docs/load-testing.md).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import { TraceUsageError } from '../errors.js';

/** One ECS service, as the metrics name it. */
export interface AwsServiceResources {
  /** The ECS service's name (the ServiceName dimension). */
  serviceName: string | undefined;
  /** `targetgroup/<name>/<id>`: the TargetGroup dimension of its ALB metrics. */
  targetGroupArnSuffix: string | undefined;
  /** The autoscaling maximum (todo-write: its fixed count). */
  maxTasks: number | undefined;
}

export interface AwsResources {
  region: string;
  logGroupName: string | undefined;
  clusterName: string | undefined;
  services: Partial<Record<ServiceName, AwsServiceResources>>;
  /** `app/<name>/<id>`: the LoadBalancer dimension. */
  loadBalancerArnSuffix: string | undefined;
  /** The DBInstanceIdentifier dimension. */
  databaseInstanceId: string | undefined;
  /** PostgreSQL's max_connections, to judge DatabaseConnections by. */
  databaseMaxConnections: number | undefined;
  /** The CacheClusterId dimension: the Redis node's cluster id (a replication group's member). */
  cacheClusterId: string | undefined;
}

/** The stack output that holds them (infra/index.ts). */
export const STACK_OUTPUT = 'cloudWatchResources';

/** Log events read at most per run, unless --aws-max-log-events says otherwise. */
export const DEFAULT_MAX_LOG_EVENTS = 200_000;

/** parseArgs options shared by both CLIs. */
export const AWS_CLI_OPTIONS = {
  'aws-outputs': { type: 'string' },
  'aws-region': { type: 'string' },
  'aws-log-group': { type: 'string' },
  'aws-cluster': { type: 'string' },
  'aws-service': { type: 'string', multiple: true },
  'aws-target-group': { type: 'string', multiple: true },
  'aws-max-tasks': { type: 'string', multiple: true },
  'aws-load-balancer': { type: 'string' },
  'aws-database': { type: 'string' },
  'aws-database-max-connections': { type: 'string' },
  'aws-cache': { type: 'string' },
  'aws-max-log-events': { type: 'string' },
} as const;

/** The values parseArgs gives for AWS_CLI_OPTIONS. */
export type AwsCliValues = {
  [Name in keyof typeof AWS_CLI_OPTIONS]?: (typeof AWS_CLI_OPTIONS)[Name] extends { multiple: true }
    ? string[]
    : string;
};

/** The --help lines for AWS_CLI_OPTIONS, the same in both CLIs. */
export const AWS_CLI_USAGE = `CloudWatch (a run against ENDPOINT on AWS; any of these turns it on):
  --aws-outputs FILE  the stack's outputs: cd infra && pulumi stack output --json > outputs.json;
                      its ${STACK_OUTPUT} names every resource below. Each flag overrides it:
  --aws-region R      default: the outputs', else AWS_REGION / AWS_DEFAULT_REGION
  --aws-log-group G   the services' log group (FilterLogEvents over the run's window)
  --aws-cluster C     the ECS cluster; --aws-service todo-read=NAME (and todo-write=…) its services
  --aws-target-group todo-read=targetgroup/…   --aws-load-balancer app/…   (ALB metrics)
  --aws-max-tasks todo-read=N   the autoscaling maximum, to judge the running task count by
  --aws-database ID   the RDS instance; --aws-database-max-connections N its max_connections
  --aws-cache ID      the ElastiCache node's cluster id (CacheClusterId)
  --aws-max-log-events N   stop reading logs after N events (default ${DEFAULT_MAX_LOG_EVENTS.toLocaleString('en-US')})
  Credentials: the AWS SDK's default chain. Read-only IAM permissions: docs/deploy.md.`;

export interface AwsReadSettings {
  resources: AwsResources;
  maxLogEvents: number;
}

/**
 * What the --aws-* flags ask for, or undefined when none is given.
 * @param baseDir where relative paths start (the user's directory)
 * @throws TraceUsageError naming the flag and what it takes
 */
export function awsReadSettings(
  values: AwsCliValues,
  env: NodeJS.ProcessEnv,
  baseDir: string,
): AwsReadSettings | undefined {
  if (!(Object.keys(AWS_CLI_OPTIONS) as Array<keyof AwsCliValues>).some((name) => values[name] !== undefined))
    return undefined;
  const fromFile =
    values['aws-outputs'] === undefined ? undefined : readOutputsFile(resolve(baseDir, values['aws-outputs']));
  const services: Partial<Record<ServiceName, AwsServiceResources>> = {};
  for (const service of SERVICES) {
    const file = fromFile?.services[service];
    const flagged = {
      serviceName: perService(values['aws-service'], '--aws-service', service),
      targetGroupArnSuffix: perService(values['aws-target-group'], '--aws-target-group', service),
      maxTasks: wholeNumber('--aws-max-tasks', perService(values['aws-max-tasks'], '--aws-max-tasks', service)),
    };
    const merged = {
      serviceName: flagged.serviceName ?? file?.serviceName,
      targetGroupArnSuffix: flagged.targetGroupArnSuffix ?? file?.targetGroupArnSuffix,
      maxTasks: flagged.maxTasks ?? file?.maxTasks,
    };
    if (Object.values(merged).some((value) => value !== undefined)) services[service] = merged;
  }
  const region = values['aws-region'] ?? fromFile?.region ?? (env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim());
  if (!region) {
    throw new TraceUsageError(
      'reading CloudWatch needs a region: --aws-region, the stack outputs (--aws-outputs), or AWS_REGION',
    );
  }
  return {
    resources: {
      region,
      logGroupName: values['aws-log-group'] ?? fromFile?.logGroupName,
      clusterName: values['aws-cluster'] ?? fromFile?.clusterName,
      services,
      loadBalancerArnSuffix: values['aws-load-balancer'] ?? fromFile?.loadBalancerArnSuffix,
      databaseInstanceId: values['aws-database'] ?? fromFile?.databaseInstanceId,
      databaseMaxConnections:
        wholeNumber('--aws-database-max-connections', values['aws-database-max-connections']) ??
        fromFile?.databaseMaxConnections,
      cacheClusterId: values['aws-cache'] ?? fromFile?.cacheClusterId,
    },
    maxLogEvents: wholeNumber('--aws-max-log-events', values['aws-max-log-events']) ?? DEFAULT_MAX_LOG_EVENTS,
  };
}

/** `todo-read=value` among a repeated flag's values: the one for `service`. */
function perService(values: string[] | undefined, flag: string, service: ServiceName): string | undefined {
  let found: string | undefined;
  for (const value of values ?? []) {
    const at = value.indexOf('=');
    const name = value.slice(0, at);
    if (at < 1 || !(SERVICES as readonly string[]).includes(name) || at === value.length - 1) {
      throw new TraceUsageError(
        `${flag} takes SERVICE=VALUE with SERVICE one of ${SERVICES.join(', ')} (got "${value}")`,
      );
    }
    if (name === service) found = value.slice(at + 1);
  }
  return found;
}

function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new TraceUsageError(`${flag} takes a whole number, 1 or more (got "${text}")`);
  return value;
}

type FileResources = Omit<AwsResources, 'region'> & { region: string | undefined };

/**
 * The stack's `cloudWatchResources`, from `pulumi stack output --json` (the whole outputs
 * object, or that one output).
 */
function readOutputsFile(path: string): FileResources {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new TraceUsageError(
      `--aws-outputs ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}; write it with: cd infra && pulumi stack output --json > outputs.json`,
    );
  }
  const outputs = objectOf(json);
  const resources = objectOf(outputs?.[STACK_OUTPUT]) ?? (outputs && 'clusterName' in outputs ? outputs : undefined);
  if (!resources) {
    throw new TraceUsageError(
      `--aws-outputs ${path} has no ${STACK_OUTPUT}: deploy the current infra/ (pulumi up exports it), then pulumi stack output --json again`,
    );
  }
  const services = objectOf(resources.services) ?? {};
  return {
    region: text(resources.region),
    logGroupName: text(resources.logGroupName),
    clusterName: text(resources.clusterName),
    services: Object.fromEntries(
      SERVICES.flatMap((service) => {
        const entry = objectOf(services[service]);
        return entry
          ? [
              [
                service,
                {
                  serviceName: text(entry.serviceName),
                  targetGroupArnSuffix: text(entry.targetGroupArnSuffix),
                  maxTasks: count(entry.maxTasks),
                },
              ],
            ]
          : [];
      }),
    ),
    loadBalancerArnSuffix: text(resources.loadBalancerArnSuffix),
    databaseInstanceId: text(resources.databaseInstanceId),
    databaseMaxConnections: count(resources.databaseMaxConnections),
    cacheClusterId: text(resources.cacheClusterId),
  };
}

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}
