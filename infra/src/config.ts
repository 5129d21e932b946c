import * as pulumi from '@pulumi/pulumi';
import { LOG_LEVELS } from '@taskoverflow/config';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';

/**
 * The stack's settings, read from Pulumi config (`pulumi config set <key> <value>`, namespace
 * `taskoverflow`). Every key has a default; docs/deploy.md lists them.
 */
export interface StackConfig {
  /** `lab` (cheap, single points of failure allowed) or `production` (PRESETS). */
  preset: Preset;
  read: ReadServiceConfig;
  write: WriteServiceConfig;
  /** Settings every service process gets through its environment. */
  app: AppConfig;
  database: DatabaseConfig;
  cache: CacheConfig;
  network: NetworkConfig;
  loadBalancer: LoadBalancerConfig;
  logs: LogsConfig;
  alarms: AlarmsConfig;
  /** The SHA-256 the images check Amazon's RDS CA bundle against (Dockerfile RDS_CA_BUNDLE_SHA256; required). */
  rdsCaBundleSha256: string;
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
  /** Target ALB requests per task per minute; by default derived from measured capacity (defaultRequestsPerTarget). */
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
  /** Requests per client IP per window, for each service across its tasks; 0: no rate limit. */
  rateLimitMaxRequests: Record<ServiceName, number>;
  rateLimitWindowSeconds: number;
}

export interface DatabaseConfig {
  instanceClass: string;
  engineVersion: string;
  allocatedStorageGb: number;
  /** Storage autoscaling: RDS grows the volume up to this when it runs low. */
  maxAllocatedStorageGb: number;
  multiAz: boolean;
  /** Apply changes at once (a reboot during `pulumi up`) rather than in the maintenance window. */
  applyImmediately: boolean;
  /** A db.t* class: it runs on CPU credits, and a CPU-credit alarm watches them. */
  burstable: boolean;
  /** Keeper of the generated database passwords: a new value rotates them (docs/deploy.md). */
  passwordGeneration: number;
  /** The instance's max_connections: `dbMaxConnections`, or estimated from the instance class. */
  maxConnections: number;
  /**
   * Protect the data: deletion protection, a final snapshot when the instance is deleted anyway,
   * and Pulumi's `protect`. On unless `labStack` is set.
   */
  protect: boolean;
}

export interface CacheConfig {
  nodeType: string;
  /** Nodes in the replication group: 1 (no replica) or more, with automatic failover and Multi-AZ. */
  nodeCount: number;
  applyImmediately: boolean;
}

export type NatGatewayStrategy = 'Single' | 'OnePerAz';

export interface NetworkConfig {
  natGateways: NatGatewayStrategy;
}

/** How the load balancer gets its certificate, if it serves HTTPS at all. */
export type TlsConfig =
  /** Plain HTTP on port 80 (lab stacks only). */
  | { mode: 'off' }
  /** An ACM certificate that exists (`certificateArn`); `domainName` names the API if set (its DNS is yours). */
  | { mode: 'certificate'; certificateArn: string; domainName: string | undefined }
  /** A certificate this stack requests for `domainName`, validated by DNS in the Route 53 zone, plus the alias record. */
  | { mode: 'dns'; domainName: string; hostedZoneId: string };

export interface LoadBalancerConfig {
  tls: TlsConfig;
  /** A WAF web ACL whose rate-based rule blocks an IP above this many requests per 5 minutes; undefined: no WAF. */
  wafRateLimitPer5Minutes: number | undefined;
  /** Days the ALB access logs stay in their S3 bucket. */
  accessLogRetentionDays: number;
}

export interface LogsConfig {
  groupName: string;
  retentionDays: number;
}

export interface AlarmsConfig {
  p95LatencyMs: number;
  errorRatePercent: number;
  /** Subscribed to the alarms' SNS topic (every alarm notifies the topic); required by the production preset. */
  email: string | undefined;
}

export type Preset = 'lab' | 'production';

/** What a preset sets; every key can still be set on its own (docs/deploy.md). */
interface PresetDefaults {
  dbInstanceClass: string;
  dbMultiAz: boolean;
  applyImmediately: boolean;
  natGateways: NatGatewayStrategy;
  cacheNodeCount: number;
  writeDesiredCount: number;
  waf: boolean;
}

/**
 * `lab`: the cheap shape for a practical, with single points of failure (one NAT gateway, a
 * single-AZ burstable database, one Redis node, one todo-write task) and changes applied at once.
 * `production`: none of those. Multi-AZ RDS on a non-burstable class, a NAT gateway per AZ,
 * Redis with a replica and automatic failover, two todo-write tasks, changes in the maintenance
 * window, a WAF. It also requires HTTPS and an alarm address (readStackConfig).
 */
export const PRESETS: Readonly<Record<Preset, PresetDefaults>> = {
  lab: {
    dbInstanceClass: 'db.t4g.micro',
    dbMultiAz: false,
    applyImmediately: true,
    natGateways: 'Single',
    cacheNodeCount: 1,
    writeDesiredCount: 1,
    waf: false,
  },
  production: {
    dbInstanceClass: 'db.m7g.large',
    dbMultiAz: true,
    applyImmediately: false,
    natGateways: 'OnePerAz',
    cacheNodeCount: 2,
    writeDesiredCount: 2,
    waf: true,
  },
};

/**
 * The services' default rate limits: requests per client IP per minute (the default window),
 * for each service across its tasks. One IP running the practical's scenario, at any scale,
 * sends at most 3,870 reads and 240 writes a minute; the web UI polls 30 times a minute
 * (docs/results/2026-12-06-hostile-clients.md, "a default for the rate limit"). 6,000 reads and 600 writes
 * leave 1.55× and 2.5× margins and still stop one address flooding the API. A stress run
 * (`--scenario stress`: up to 5,000 VUs at 1 s think time, reads only) is meant to find the
 * limits and exceeds the read limit: lift it for that run (`rateLimitMaxRequests 0`).
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<ServiceName, number>> = { 'todo-read': 6_000, 'todo-write': 600 };

/** WAF rate-based rules count requests over this window (its evaluationWindowSec). */
export const WAF_EVALUATION_WINDOW_SECONDS = 300;

/**
 * The WAF's default per-IP limit over its 5-minute window: twice what one client may send both
 * services at their own limits, so the services' 429 (with Retry-After) answers a client first
 * and the WAF drops only one that ignores it. A service without a limit counts with its default.
 */
export function defaultWafRateLimit(app: Pick<AppConfig, 'rateLimitMaxRequests' | 'rateLimitWindowSeconds'>): number {
  const perMinute = (service: ServiceName) => {
    const limit = app.rateLimitMaxRequests[service];
    return limit > 0 ? (limit * 60) / app.rateLimitWindowSeconds : DEFAULT_RATE_LIMITS[service];
  };
  const bothPerMinute = SERVICES.reduce((sum, service) => sum + perMinute(service), 0);
  return Math.ceil(2 * bothPerMinute * (WAF_EVALUATION_WINDOW_SECONDS / 60));
}

/** The stack's URL scheme and what TLS it serves, as the stack outputs say. */
export function tlsSummary(tls: TlsConfig): string {
  switch (tls.mode) {
    case 'off':
      return 'off — plain HTTP on port 80; set domainName + hostedZoneId (or certificateArn) for HTTPS';
    case 'certificate':
      return `on — HTTPS on 443 with ${tls.certificateArn}; port 80 redirects`;
    case 'dns':
      return `on — HTTPS on 443 for ${tls.domainName} (ACM, DNS-validated); port 80 redirects`;
  }
}

/** Retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

const range = (from: number, to: number, step: number) =>
  Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

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

/**
 * ECS deployments start the new tasks beside the old ones (deploymentMaximumPercent): for a
 * while a service runs up to twice its tasks, each with its pool. todo-service.ts deploys with it.
 */
export const DEPLOYMENT_MAXIMUM_PERCENT = 200;

/**
 * Server CPU per request of todo-read's most expensive read, the uncached list of 100 todos:
 * 784 µs (`pnpm bench`, docs/results/2026-11-28-first-round.md; 739–915 µs over seven runs). Cached
 * reads cost 60–87 µs, so a task that can serve this much uncached survives a cold or lost
 * cache. docs/deploy.md has the derivation.
 */
export const UNCACHED_READ_CPU_MICROSECONDS = 784;

/**
 * The requests per minute one todo-read task should take before target tracking adds another:
 * what its CPU serves of the uncached read, at the CPU target. A service is one Node.js process,
 * whose JavaScript runs on one core, so more than 1 vCPU (1024 units) adds no request capacity.
 */
export function defaultRequestsPerTarget(size: TaskSize, cpuTargetPercent: number): number {
  const cores = Math.min(size.cpu / 1024, 1);
  const perSecond = ((cores * 1_000_000) / UNCACHED_READ_CPU_MICROSECONDS) * (cpuTargetPercent / 100);
  return Math.floor((perSecond * 60) / 100) * 100;
}

/** Memory of RDS instance sizes, in GiB, for the max_connections estimate. */
const RDS_MEMORY_GIB_BY_FAMILY: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  burstable: { micro: 1, small: 2, medium: 4, large: 8, xlarge: 16, '2xlarge': 32 },
  general: { large: 8, xlarge: 16, '2xlarge': 32, '4xlarge': 64, '8xlarge': 128, '12xlarge': 192, '16xlarge': 256 },
  memory: { large: 16, xlarge: 32, '2xlarge': 64, '4xlarge': 128, '8xlarge': 256, '12xlarge': 384, '16xlarge': 512 },
};
const RDS_FAMILY = /^db\.(?:(t3|t4g)|(m5|m6g|m6i|m7g|m7i|m8g)|(r5|r6g|r6i|r7g|r7i|r8g))\.(\w+)$/;

/**
 * RDS PostgreSQL's default max_connections, LEAST(DBInstanceClassMemory / 9531392, 5000), where
 * DBInstanceClassMemory is what is left of the instance's memory after the OS and RDS's own
 * processes: taken as 70 % (78 on a 1 GiB db.t4g.micro). Undefined for a class not listed.
 */
export function estimatedMaxConnections(instanceClass: string): number | undefined {
  const match = RDS_FAMILY.exec(instanceClass);
  if (!match) return undefined;
  const family = match[1] ? 'burstable' : match[2] ? 'general' : 'memory';
  const memoryGib = RDS_MEMORY_GIB_BY_FAMILY[family]![match[4]!];
  if (memoryGib === undefined) return undefined;
  return Math.min(Math.floor((memoryGib * 2 ** 30 * 0.7) / 9_531_392), 5_000);
}

/** Burstable (db.t*) classes run on CPU credits: out of credits, they are throttled to a baseline. */
export const isBurstableClass = (instanceClass: string) => /^db\.t\d/.test(instanceClass);

/**
 * Connections PostgreSQL keeps from the services: superuser_reserved_connections (3) and RDS's
 * rds.rds_superuser_reserved_connections (2), for the master user and RDS's own monitoring.
 */
export const RESERVED_CONNECTIONS = 5;

/** Connections of the one-shot migration task (bootstrap, then migrate: one at a time). */
export const MIGRATION_CONNECTIONS = 1;

/**
 * The most connections the stack can hold at once: every task at its autoscaling maximum,
 * doubled while a deployment runs old and new tasks side by side, each with a full pool, plus
 * the one-shot migration task (it runs before the services deploy, but a todo-read scale-out
 * may overlap it).
 */
export function peakConnections(read: ReadServiceConfig, write: WriteServiceConfig, pgPoolMax: number): number {
  const surge = DEPLOYMENT_MAXIMUM_PERCENT / 100;
  return surge * (read.maxCount + write.desiredCount) * pgPoolMax + MIGRATION_CONNECTIONS;
}

const EMAIL = /^[^@\s]+@[^@\s]+$/;
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function readStackConfig(config = new pulumi.Config('taskoverflow'), stack = pulumi.getStack()): StackConfig {
  const preset = config.get<Preset>('preset', { allowedValues: ['lab', 'production'] }) ?? 'lab';
  const defaults = PRESETS[preset];
  const count = (key: string, fallback: number, max: number) => config.getNumber(key, { min: 1, max }) ?? fallback;
  const sizeOf = (prefix: 'read' | 'write'): TaskSize => ({
    cpu: config.getNumber(`${prefix}Cpu`) ?? 1024,
    memory: config.getNumber(`${prefix}Memory`) ?? 2048,
  });

  const readSize = sizeOf('read');
  const cpuTargetPercent = config.getNumber('readCpuTargetPercent', { min: 10, max: 90 }) ?? 60;
  const read: ReadServiceConfig = {
    size: readSize,
    minCount: count('readMinCount', 2, 100),
    maxCount: count('readMaxCount', 10, 100),
    cpuTargetPercent,
    requestsPerTarget:
      config.getNumber('readRequestsPerTarget', { min: 1 }) ?? defaultRequestsPerTarget(readSize, cpuTargetPercent),
  };
  const write: WriteServiceConfig = {
    size: sizeOf('write'),
    desiredCount: count('writeDesiredCount', defaults.writeDesiredCount, 20),
  };
  // Every task holds up to this many connections; see the budget below.
  const pgPoolMax = config.getNumber('pgPoolMax', { min: 1, max: 200 }) ?? 3;
  const instanceClass = config.get('dbInstanceClass') ?? defaults.dbInstanceClass;
  const maxConnections =
    config.getNumber('dbMaxConnections', { min: 10, max: 262_143 }) ?? estimatedMaxConnections(instanceClass);
  const allocatedStorageGb = config.getNumber('dbAllocatedStorageGb', { min: 20, max: 65_536 }) ?? 20;
  const maxAllocatedStorageGb = config.getNumber('dbMaxAllocatedStorageGb', { min: 20, max: 65_536 }) ?? 100;
  const multiAz = config.getBoolean('dbMultiAz') ?? defaults.dbMultiAz;
  // RDS and ElastiCache alike: at once (a reboot or failover during `pulumi up`), or in the maintenance window.
  const applyImmediately = config.getBoolean('applyImmediately') ?? defaults.applyImmediately;
  const cacheNodeCount = config.getNumber('cacheNodeCount', { min: 1, max: 6 }) ?? defaults.cacheNodeCount;
  const app: AppConfig = {
    logLevel: config.get('logLevel', { allowedValues: [...LOG_LEVELS] }) ?? 'info',
    pgPoolMax,
    pgStatementTimeoutMs: config.getNumber('pgStatementTimeoutMs', { min: 100, max: 600_000 }) ?? 5000,
    rateLimitMaxRequests: {
      'todo-read':
        config.getNumber('rateLimitMaxRequests', { min: 0, max: 1_000_000_000 }) ?? DEFAULT_RATE_LIMITS['todo-read'],
      'todo-write':
        config.getNumber('writeRateLimitMaxRequests', { min: 0, max: 1_000_000_000 }) ??
        DEFAULT_RATE_LIMITS['todo-write'],
    },
    rateLimitWindowSeconds: config.getNumber('rateLimitWindowSeconds', { min: 1, max: 86_400 }) ?? 60,
  };
  const tls = readTls(config);
  const waf = config.getBoolean('waf') ?? defaults.waf;
  // AWS WAF's bounds for a rate-based rule's limit.
  const wafRateLimitPer5Minutes = waf
    ? (config.getNumber('wafRateLimit', { min: 10, max: 2_000_000_000 }) ?? defaultWafRateLimit(app))
    : undefined;
  const email = config.get('alarmEmail', { pattern: EMAIL });

  const problems = [fargateSizeProblem('read', read.size), fargateSizeProblem('write', write.size)];
  if (read.minCount > read.maxCount) {
    problems.push(`readMinCount (${read.minCount}) must not exceed readMaxCount (${read.maxCount})`);
  }
  if (maxAllocatedStorageGb <= allocatedStorageGb) {
    problems.push(
      `dbMaxAllocatedStorageGb (${maxAllocatedStorageGb}) must exceed dbAllocatedStorageGb (${allocatedStorageGb}) for storage autoscaling`,
    );
  }
  if (maxConnections === undefined) {
    problems.push(
      `dbInstanceClass ${instanceClass}: its max_connections is not known here; set dbMaxConnections (SHOW max_connections on the instance)`,
    );
  } else {
    const peak = peakConnections(read, write, pgPoolMax);
    const usable = maxConnections - RESERVED_CONNECTIONS;
    if (peak > usable) {
      problems.push(
        `connection budget: up to ${peak} connections ((readMaxCount ${read.maxCount} + writeDesiredCount ${write.desiredCount}) × ` +
          `pgPoolMax ${pgPoolMax} × ${DEPLOYMENT_MAXIMUM_PERCENT / 100} during a deployment + ${MIGRATION_CONNECTIONS} migrating) ` +
          `exceed the ${usable} that ${instanceClass} leaves the services (max_connections ${maxConnections} − ${RESERVED_CONNECTIONS} reserved); ` +
          'lower pgPoolMax or readMaxCount, or choose a larger dbInstanceClass',
      );
    }
  }
  if (preset === 'production') {
    const why = 'the production preset requires';
    if (tls.mode === 'off') problems.push(`${why} HTTPS: set domainName and hostedZoneId (or certificateArn)`);
    if (!email) problems.push(`${why} an address for the alarms: set alarmEmail`);
    if (isBurstableClass(instanceClass))
      problems.push(`${why} a non-burstable dbInstanceClass (${instanceClass} runs on CPU credits): e.g. db.m7g.large`);
    if (!multiAz) problems.push(`${why} dbMultiAz true`);
    if (cacheNodeCount < 2) problems.push(`${why} cacheNodeCount ≥ 2 (a replica to fail over to)`);
    if (write.desiredCount < 2) problems.push(`${why} writeDesiredCount ≥ 2`);
  }
  const found = problems.filter((problem): problem is string => problem !== undefined);
  if (found.length > 0) throw new pulumi.RunError(`invalid taskoverflow config:\n  - ${found.join('\n  - ')}`);

  return {
    preset,
    read,
    write,
    app,
    database: {
      instanceClass,
      engineVersion: config.get('dbEngineVersion') ?? '17',
      allocatedStorageGb,
      maxAllocatedStorageGb,
      multiAz,
      applyImmediately,
      burstable: isBurstableClass(instanceClass),
      passwordGeneration: config.getNumber('dbPasswordGeneration', { min: 1 }) ?? 1,
      maxConnections: maxConnections!,
      // A throwaway lab stack (labStack=true) can be destroyed with its data in one step.
      protect: !(config.getBoolean('labStack') ?? false),
    },
    cache: {
      nodeType: config.get('cacheNodeType') ?? 'cache.t4g.micro',
      nodeCount: cacheNodeCount,
      applyImmediately,
    },
    network: {
      natGateways:
        config.get<NatGatewayStrategy>('natGateways', { allowedValues: ['Single', 'OnePerAz'] }) ??
        defaults.natGateways,
    },
    loadBalancer: {
      tls,
      wafRateLimitPer5Minutes,
      accessLogRetentionDays: config.getNumber('accessLogRetentionDays', { min: 1, max: 3653 }) ?? 90,
    },
    logs: {
      // Scoped to the stack, so a second stack in the account and region never collides.
      groupName: config.get('logGroupName') ?? `taskoverflow-${stack}`,
      retentionDays: Number(config.get('logRetentionDays', { allowedValues: LOG_RETENTION_DAYS.map(String) }) ?? 14),
    },
    rdsCaBundleSha256: config.require('rdsCaBundleSha256', { pattern: /^[0-9a-f]{64}$/ }),
    alarms: {
      p95LatencyMs: config.getNumber('alarmP95LatencyMs', { min: 1 }) ?? 500,
      errorRatePercent: config.getNumber('alarmErrorRatePercent', { min: 0.01, max: 100 }) ?? 1,
      email,
    },
  };
}

/** HTTPS from config: a certificate ARN, or a domain and its Route 53 zone; neither: plain HTTP. */
function readTls(config: pulumi.Config): TlsConfig {
  const certificateArn = config.get('certificateArn', {
    pattern: /^arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate\/[\w-]+$/,
  });
  const domainName = config.get('domainName', { pattern: DOMAIN_NAME });
  const hostedZoneId = config.get('hostedZoneId', { pattern: /^Z[A-Z0-9]{1,32}$/ });
  if (certificateArn) return { mode: 'certificate', certificateArn, domainName };
  if (domainName && hostedZoneId) return { mode: 'dns', domainName, hostedZoneId };
  if (domainName || hostedZoneId) {
    throw new pulumi.RunError(
      'invalid taskoverflow config: domainName and hostedZoneId go together (the certificate is validated and the name served in that zone); or set certificateArn',
    );
  }
  return { mode: 'off' };
}
