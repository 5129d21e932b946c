/**
 * The verdict's rules over a run's AWS figures (aws-figures.ts), as verdict.ts's are over the
 * local ones: pure functions, each sentence with the figures it rests on and, where a setting
 * of the stack (docs/deploy.md, Configuration) is the fix, its name. A service, the database or
 * Redis at SATURATED_SHARE of its capacity names the saturated resource.
 */
import type { AwsFigures, AwsServiceFigures } from './aws-figures.js';
import { clock } from './aws-figures.js';
import type { Finding } from './verdict.js';

export type AwsRule =
  | 'aws service saturated'
  | 'aws service busy'
  | 'aws service memory'
  | 'aws no healthy task'
  | 'aws load balancer errors'
  | 'aws database saturated'
  | 'aws cache saturated'
  | 'aws cache evictions'
  | 'aws nothing saturated';

/** The rules whose findings name a saturated resource (evidence.resource). */
export const AWS_SATURATION_RULES: readonly AwsRule[] = [
  'aws service saturated',
  'aws database saturated',
  'aws cache saturated',
];

/** A minute's average CPU (or a pool's use) at which a resource counts as saturated, in percent. */
const SATURATED_PERCENT = 90;

/** The stack's settings that size each service (infra/src/config.ts). */
const SIZE_SETTINGS: Record<string, { count: string; size: string }> = {
  'todo-read': { count: 'readMaxCount', size: 'readCpu / readMemory' },
  'todo-write': { count: 'writeDesiredCount', size: 'writeCpu / writeMemory' },
};

const whole = (value: number): string => Math.round(value).toLocaleString('en-US');
const percent = (value: number): string => `${Math.round(value)} %`;

export function awsFindings(aws: AwsFigures | undefined): Finding[] {
  if (!aws) return [];
  const findings = [
    ...aws.services.flatMap((service) => [cpuFinding(service), memoryFinding(service), healthFinding(service)]),
    loadBalancerFinding(aws),
    ...databaseFindings(aws),
    ...cacheFindings(aws),
  ].filter((finding): finding is Finding => finding !== undefined);
  const saturated = findings.some((finding) => (AWS_SATURATION_RULES as readonly string[]).includes(finding.rule));
  const calm = saturated ? undefined : nothingSaturated(aws);
  return calm ? [calm, ...findings] : findings;
}

/**
 * CPU at SATURATED_PERCENT or more over a minute: at the autoscaling maximum the service
 * needs more tasks or bigger ones; below it, autoscaling had room and the load outran it.
 */
function cpuFinding(service: AwsServiceFigures): Finding | undefined {
  const hot = service.periods.filter((period) => (period.cpuPercent ?? 0) >= SATURATED_PERCENT);
  if (hot.length === 0) return undefined;
  const settings = SIZE_SETTINGS[service.service];
  const { maxTasks } = service;
  const atMax =
    maxTasks === undefined ? [] : hot.filter((period) => period.tasks !== undefined && period.tasks >= maxTasks);
  if (atMax.length > 0 && maxTasks !== undefined) {
    const hottest = atMax.reduce((a, b) => ((b.cpuPercent ?? 0) > (a.cpuPercent ?? 0) ? b : a));
    return {
      rule: 'aws service saturated',
      sentence:
        `${service.service} needs more tasks or bigger ones: its CPU averaged ${percent(hottest.cpuPercent!)} over the minute from ${clock(hottest.atMs)} UTC ` +
        `while it ran ${hottest.tasks} of its ${maxTasks} tasks (the autoscaling maximum)` +
        (atMax.length > 1 ? `, and stayed at ${SATURATED_PERCENT} % or more for ${atMax.length} such minutes` : '') +
        (settings ? `. Raise ${settings.count}, or the task size (${settings.size}).` : '.'),
      evidence: {
        resource: `${service.service} on ECS (${hottest.tasks} of ${maxTasks} tasks)`,
        cpuPercent: round(hottest.cpuPercent!),
        tasks: hottest.tasks!,
        maxTasks,
        minutes: atMax.length,
      },
    };
  }
  const hottest = hot.reduce((a, b) => ((b.cpuPercent ?? 0) > (a.cpuPercent ?? 0) ? b : a));
  const tasks =
    hottest.tasks === undefined
      ? 'an unknown number of tasks'
      : `${hottest.tasks} task${hottest.tasks === 1 ? '' : 's'}`;
  return {
    rule: 'aws service busy',
    sentence:
      `${service.service}'s CPU averaged ${percent(hottest.cpuPercent!)} over the minute from ${clock(hottest.atMs)} UTC with ${tasks}` +
      (maxTasks === undefined
        ? ` (its autoscaling maximum is unknown: --aws-max-tasks ${service.service}=N).`
        : ` of its ${maxTasks}: autoscaling had room, so the load rose faster than it adds tasks (it follows CPU with a minute's delay).`),
    evidence: {
      cpuPercent: round(hottest.cpuPercent!),
      ...(hottest.tasks !== undefined && { tasks: hottest.tasks }),
      ...(maxTasks !== undefined && { maxTasks }),
    },
  };
}

function memoryFinding(service: AwsServiceFigures): Finding | undefined {
  const memory = service.memory;
  if (!memory || memory.peakMinutePercent < SATURATED_PERCENT) return undefined;
  const settings = SIZE_SETTINGS[service.service];
  return {
    rule: 'aws service memory',
    sentence:
      `${service.service}'s memory reached ${percent(memory.peakMinutePercent)} of its tasks' over a minute: a task at its limit is stopped (OutOfMemory)` +
      (settings ? `; give it more (${settings.size}).` : '.'),
    evidence: {
      memoryPercent: round(memory.peakMinutePercent),
      ...(memory.maxPercent !== undefined && { maxPercent: round(memory.maxPercent) }),
    },
  };
}

function healthFinding(service: AwsServiceFigures): Finding | undefined {
  if (service.targetGroup?.healthyMin !== 0) return undefined;
  return {
    rule: 'aws no healthy task',
    sentence: `In at least one minute no ${service.service} task was healthy at the load balancer: the ALB answered its requests 503 itself (the tasks' logs and stopped reasons say why).`,
    evidence: {
      healthyMin: 0,
      ...(service.targetGroup.healthyMax !== undefined && { healthyMax: service.targetGroup.healthyMax }),
    },
  };
}

function loadBalancerFinding(aws: AwsFigures): Finding | undefined {
  const lb = aws.loadBalancer;
  const targets = aws.services.filter((service) => (service.targetGroup?.target5xx ?? 0) > 0);
  const target5xx = targets.reduce((sum, service) => sum + service.targetGroup!.target5xx, 0);
  if ((lb?.elb5xx ?? 0) + (lb?.rejectedConnections ?? 0) + target5xx === 0) return undefined;
  const parts = [
    lb && lb.elb5xx > 0
      ? `answered ${whole(lb.elb5xx)} requests with its own 5xx (502/503/504: no healthy task, or a task closed the connection or did not answer in time)`
      : '',
    lb && lb.rejectedConnections > 0
      ? `rejected ${whole(lb.rejectedConnections)} connections (RejectedConnectionCount: it was at its connection limit, which it raises as it scales: ramp more slowly, or ask AWS to pre-warm it)`
      : '',
    target5xx > 0
      ? `passed on ${whole(target5xx)} 5xx from the services (${targets.map((service) => `${service.service} ${whole(service.targetGroup!.target5xx)}`).join(', ')})`
      : '',
  ].filter(Boolean);
  return {
    rule: 'aws load balancer errors',
    sentence: `The load balancer ${parts.join('; ')}${lb ? ` of ${whole(lb.requests)} requests` : ''}.`,
    evidence: {
      ...(lb && { elb5xx: lb.elb5xx, rejectedConnections: lb.rejectedConnections, requests: lb.requests }),
      target5xx,
    },
  };
}

function databaseFindings(aws: AwsFigures): Finding[] {
  const db = aws.database;
  if (!db) return [];
  const findings: Finding[] = [];
  if (db.cpu && db.cpu.peakMinutePercent >= SATURATED_PERCENT) {
    findings.push({
      rule: 'aws database saturated',
      sentence:
        `PostgreSQL (RDS ${db.instance}) was saturated: its CPU averaged ${percent(db.cpu.peakMinutePercent)} over its busiest minute (${percent(db.cpu.averagePercent)} over the run). ` +
        'A larger instance class (dbInstanceClass), or fewer queries per request (the read cache, an index: pnpm trace --slowest shows db time).',
      evidence: {
        resource: `PostgreSQL (RDS ${db.instance})`,
        cpuPercent: round(db.cpu.peakMinutePercent),
        averageCpuPercent: round(db.cpu.averagePercent),
      },
    });
  }
  if (
    db.connectionsPeak !== undefined &&
    db.maxConnections !== undefined &&
    db.connectionsPeak >= (SATURATED_PERCENT / 100) * db.maxConnections
  ) {
    findings.push({
      rule: 'aws database saturated',
      sentence:
        `PostgreSQL's connections were nearly all in use: ${whole(db.connectionsPeak)} of max_connections ${whole(db.maxConnections)}. ` +
        'Each task holds up to pgPoolMax; more tasks need a larger instance (dbInstanceClass, dbMaxConnections) or smaller pools.',
      evidence: {
        resource: `PostgreSQL's connections (RDS ${db.instance})`,
        connections: db.connectionsPeak,
        maxConnections: db.maxConnections,
      },
    });
  }
  return findings;
}

function cacheFindings(aws: AwsFigures): Finding[] {
  const cache = aws.cache;
  if (!cache) return [];
  const findings: Finding[] = [];
  if (cache.engineCpu && cache.engineCpu.peakMinutePercent >= SATURATED_PERCENT) {
    findings.push({
      rule: 'aws cache saturated',
      sentence:
        `Redis's engine thread (ElastiCache ${cache.clusterId}) was saturated: ${percent(cache.engineCpu.peakMinutePercent)} over its busiest minute. ` +
        'Redis runs commands on one thread: a faster node type (cacheNodeType), or read replicas to spread reads.',
      evidence: {
        resource: `Redis (ElastiCache ${cache.clusterId}, one thread)`,
        engineCpuPercent: round(cache.engineCpu.peakMinutePercent),
      },
    });
  }
  if ((cache.evictions ?? 0) > 0) {
    findings.push({
      rule: 'aws cache evictions',
      sentence: `Redis evicted ${whole(cache.evictions!)} entries: the cache is too small for what it holds, so reads miss and go to PostgreSQL. A node type with more memory (cacheNodeType).`,
      evidence: { evictions: cache.evictions! },
    });
  }
  return findings;
}

/** With figures and no saturation: the busiest of each, so "nothing saturated" rests on numbers. */
function nothingSaturated(aws: AwsFigures): Finding | undefined {
  const parts = [
    ...aws.services
      .filter((service) => service.cpu)
      .map(
        (service) =>
          `${service.service} peaked at ${percent(service.cpu!.peakMinutePercent)} CPU over a minute` +
          (service.tasks
            ? ` with up to ${service.tasks.peak}${service.maxTasks === undefined ? '' : ` of ${service.maxTasks}`} tasks`
            : ''),
      ),
    aws.database?.cpu ? `PostgreSQL at ${percent(aws.database.cpu.peakMinutePercent)} CPU` : '',
    aws.database?.connectionsPeak !== undefined
      ? `${whole(aws.database.connectionsPeak)}${aws.database.maxConnections === undefined ? '' : ` of ${whole(aws.database.maxConnections)}`} connections`
      : '',
    aws.cache?.engineCpu ? `Redis's engine at ${percent(aws.cache.engineCpu.peakMinutePercent)}` : '',
  ].filter(Boolean);
  if (parts.length === 0) return undefined;
  return {
    rule: 'aws nothing saturated',
    sentence: `On AWS nothing saturated: ${parts.join(', ')}.`,
    evidence: Object.fromEntries(
      aws.services
        .filter((service) => service.cpu)
        .map((service) => [`${service.service}CpuPercent`, round(service.cpu!.peakMinutePercent)]),
    ),
  };
}

const round = (value: number): number => Number(value.toFixed(1));
