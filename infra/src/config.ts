import * as pulumi from '@pulumi/pulumi';

/**
 * The stack's settings, read from Pulumi config (`pulumi config set <key> <value>`, namespace
 * `taskoverflow`). Every key has a default; docs/deploy.md lists them.
 */
export interface StackConfig {
  read: ReadServiceConfig;
  write: WriteServiceConfig;
  /** Settings every service process gets through its environment. */
  app: AppConfig;
  database: DatabaseConfig;
  cache: CacheConfig;
  network: NetworkConfig;
  logs: LogsConfig;
  alarms: AlarmsConfig;
}

/** A Fargate task size: CPU units (1024 = 1 vCPU) and memory in MiB. */
export interface TaskSize {
  cpu: number;
  memory: number;
}

export interface ReadServiceConfig {
  size: TaskSize;
  /** Autoscaling bounds; the service starts at `minCount`. */
  minCount: number;
  maxCount: number;
  /** Target average CPU utilisation, in percent. */
  cpuTargetPercent: number;
  /** Target ALB requests per task per minute. */
  requestsPerTarget: number;
}

export interface WriteServiceConfig {
  size: TaskSize;
  desiredCount: number;
}

export interface AppConfig {
  logLevel: string;
  pgPoolMax: number;
  pgStatementTimeoutMs: number;
  /** Requests per client per window, for each service across its tasks; 0: no rate limit. */
  rateLimitMaxRequests: number;
  rateLimitWindowSeconds: number;
}

export interface DatabaseConfig {
  instanceClass: string;
  engineVersion: string;
  allocatedStorageGb: number;
  multiAz: boolean;
  /** Keep the instance (and refuse `pulumi destroy`) until this is turned off. */
  deletionProtection: boolean;
  /** Take a final snapshot when the instance is deleted. */
  finalSnapshot: boolean;
}

export interface CacheConfig {
  nodeType: string;
}

export type NatGatewayStrategy = 'Single' | 'OnePerAz';

export interface NetworkConfig {
  natGateways: NatGatewayStrategy;
}

export interface LogsConfig {
  groupName: string;
  retentionDays: number;
}

export interface AlarmsConfig {
  p95LatencyMs: number;
  errorRatePercent: number;
}

/** Log levels the services accept (LOG_LEVEL, see packages/http-kit/src/config.ts). */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const range = (from: number, to: number, step: number) => Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

/**
 * Memory sizes Fargate accepts for each CPU size, in MiB
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size).
 */
const FARGATE_MEMORY_BY_CPU: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
]);

/** Why Fargate would refuse this task size, or undefined when it is valid. */
export function fargateSizeProblem(service: string, { cpu, memory }: TaskSize): string | undefined {
  const memorySizes = FARGATE_MEMORY_BY_CPU.get(cpu);
  if (!memorySizes) {
    return `${service}: Fargate has no CPU size ${cpu}; use one of ${[...FARGATE_MEMORY_BY_CPU.keys()].join(', ')}`;
  }
  if (!memorySizes.includes(memory)) {
    const [smallest, second] = memorySizes as [number, number];
    const choices =
      memorySizes.length <= 4
        ? memorySizes.join(', ')
        : `from ${smallest} to ${memorySizes.at(-1)} in steps of ${second - smallest}`;
    return `${service}: with cpu ${cpu}, Fargate takes memory ${choices} MiB, not ${memory}`;
  }
  return undefined;
}

export function readStackConfig(config = new pulumi.Config('taskoverflow')): StackConfig {
  const count = (key: string, fallback: number, max: number) => config.getNumber(key, { min: 1, max }) ?? fallback;
  const sizeOf = (prefix: 'read' | 'write'): TaskSize => ({
    cpu: config.getNumber(`${prefix}Cpu`) ?? 1024,
    memory: config.getNumber(`${prefix}Memory`) ?? 2048,
  });

  const read: ReadServiceConfig = {
    size: sizeOf('read'),
    minCount: count('readMinCount', 2, 100),
    maxCount: count('readMaxCount', 10, 100),
    cpuTargetPercent: config.getNumber('readCpuTargetPercent', { min: 10, max: 90 }) ?? 60,
    requestsPerTarget: config.getNumber('readRequestsPerTarget', { min: 1 }) ?? 1000,
  };
  const write: WriteServiceConfig = { size: sizeOf('write'), desiredCount: count('writeDesiredCount', 1, 20) };

  const problems = [fargateSizeProblem('read', read.size), fargateSizeProblem('write', write.size)];
  if (read.minCount > read.maxCount) {
    problems.push(`readMinCount (${read.minCount}) must not exceed readMaxCount (${read.maxCount})`);
  }
  const found = problems.filter((problem): problem is string => problem !== undefined);
  if (found.length > 0) throw new pulumi.RunError(`invalid taskoverflow config:\n  - ${found.join('\n  - ')}`);

  return {
    read,
    write,
    app: {
      logLevel: config.get('logLevel', { allowedValues: LOG_LEVELS }) ?? 'info',
      // Every task holds up to this many connections: (readMaxCount + writeDesiredCount) ×
      // pgPoolMax must stay under the instance's max_connections (about 80 on db.t4g.micro).
      pgPoolMax: config.getNumber('pgPoolMax', { min: 1, max: 200 }) ?? 5,
      pgStatementTimeoutMs: config.getNumber('pgStatementTimeoutMs', { min: 100, max: 600_000 }) ?? 5000,
      // Off by default: a load test from one machine would otherwise measure the limiter.
      rateLimitMaxRequests: config.getNumber('rateLimitMaxRequests', { min: 0, max: 1_000_000_000 }) ?? 0,
      rateLimitWindowSeconds: config.getNumber('rateLimitWindowSeconds', { min: 1, max: 86_400 }) ?? 60,
    },
    database: {
      instanceClass: config.get('dbInstanceClass') ?? 'db.t4g.micro',
      engineVersion: config.get('dbEngineVersion') ?? '17',
      allocatedStorageGb: config.getNumber('dbAllocatedStorageGb', { min: 20, max: 65_536 }) ?? 20,
      multiAz: config.getBoolean('dbMultiAz') ?? false,
      deletionProtection: config.getBoolean('dbDeletionProtection') ?? false,
      finalSnapshot: config.getBoolean('dbFinalSnapshot') ?? false,
    },
    cache: { nodeType: config.get('cacheNodeType') ?? 'cache.t4g.micro' },
    network: {
      natGateways: config.get<NatGatewayStrategy>('natGateways', { allowedValues: ['Single', 'OnePerAz'] }) ?? 'Single',
    },
    logs: {
      groupName: config.get('logGroupName') ?? 'taskoverflow',
      retentionDays: Number(config.get('logRetentionDays', { allowedValues: LOG_RETENTION_DAYS.map(String) }) ?? 14),
    },
    alarms: {
      p95LatencyMs: config.getNumber('alarmP95LatencyMs', { min: 1 }) ?? 500,
      errorRatePercent: config.getNumber('alarmErrorRatePercent', { min: 0.01, max: 100 }) ?? 1,
    },
  };
}
