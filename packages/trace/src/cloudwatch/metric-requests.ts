/**
 * Which metrics the report reads, under the names and dimensions AWS publishes them with (those
 * the stack's alarms and dashboard use, infra/src/monitoring.ts), in one-minute periods. No AWS
 * SDK here: the report reads the saved series without loading it.
 */
import { SERVICES } from '@taskoverflow/routing';
import type { AwsResources } from './resources.js';

/** What a series is about: a service (todo-read…), the load balancer, the database or the cache. */
export type MetricSubject = string;
export const LOAD_BALANCER = 'load balancer';
export const DATABASE = 'database';
export const CACHE = 'cache';

export interface MetricRequest {
  subject: MetricSubject;
  namespace: string;
  metric: string;
  stat: 'Average' | 'Maximum' | 'Minimum' | 'Sum';
  dimensions: Record<string, string>;
}

export interface MetricSeries extends MetricRequest {
  /** Period starts, ms since the epoch, oldest first, with the value of each. */
  timestamps: number[];
  values: number[];
}

/** The metrics' period: what ECS, the ALB, RDS and ElastiCache publish at by default. */
export const METRIC_PERIOD_SECONDS = 60;

export const ECS = 'AWS/ECS';
export const CONTAINER_INSIGHTS = 'ECS/ContainerInsights';
export const ALB = 'AWS/ApplicationELB';
export const RDS = 'AWS/RDS';
export const ELASTICACHE = 'AWS/ElastiCache';

/** Every series the report reads, for the resources that are named. */
export function metricRequests(resources: AwsResources): MetricRequest[] {
  const requests: MetricRequest[] = [];
  const add = (
    subject: string,
    namespace: string,
    dimensions: Record<string, string>,
    metric: string,
    stats: MetricRequest['stat'][],
  ): void => {
    for (const stat of stats) requests.push({ subject, namespace, metric, stat, dimensions });
  };
  for (const service of SERVICES) {
    const names = resources.services[service];
    if (resources.clusterName && names?.serviceName) {
      const dimensions = { ClusterName: resources.clusterName, ServiceName: names.serviceName };
      add(service, ECS, dimensions, 'CPUUtilization', ['Average', 'Maximum']);
      add(service, ECS, dimensions, 'MemoryUtilization', ['Average', 'Maximum']);
      add(service, CONTAINER_INSIGHTS, dimensions, 'RunningTaskCount', ['Maximum']);
    }
    if (resources.loadBalancerArnSuffix && names?.targetGroupArnSuffix) {
      const dimensions = { LoadBalancer: resources.loadBalancerArnSuffix, TargetGroup: names.targetGroupArnSuffix };
      add(service, ALB, dimensions, 'RequestCount', ['Sum']);
      add(service, ALB, dimensions, 'TargetResponseTime', ['Average', 'Maximum']);
      add(service, ALB, dimensions, 'HTTPCode_Target_5XX_Count', ['Sum']);
      add(service, ALB, dimensions, 'HealthyHostCount', ['Minimum', 'Maximum']);
    }
  }
  if (resources.loadBalancerArnSuffix) {
    const dimensions = { LoadBalancer: resources.loadBalancerArnSuffix };
    add(LOAD_BALANCER, ALB, dimensions, 'RequestCount', ['Sum']);
    add(LOAD_BALANCER, ALB, dimensions, 'HTTPCode_ELB_5XX_Count', ['Sum']);
    add(LOAD_BALANCER, ALB, dimensions, 'RejectedConnectionCount', ['Sum']);
  }
  if (resources.databaseInstanceId) {
    const dimensions = { DBInstanceIdentifier: resources.databaseInstanceId };
    add(DATABASE, RDS, dimensions, 'CPUUtilization', ['Average', 'Maximum']);
    add(DATABASE, RDS, dimensions, 'DatabaseConnections', ['Maximum']);
    add(DATABASE, RDS, dimensions, 'ReadIOPS', ['Average', 'Maximum']);
    add(DATABASE, RDS, dimensions, 'WriteIOPS', ['Average', 'Maximum']);
  }
  if (resources.cacheClusterId) {
    const dimensions = { CacheClusterId: resources.cacheClusterId };
    add(CACHE, ELASTICACHE, dimensions, 'EngineCPUUtilization', ['Average', 'Maximum']);
    add(CACHE, ELASTICACHE, dimensions, 'Evictions', ['Sum']);
    add(CACHE, ELASTICACHE, dimensions, 'CurrConnections', ['Maximum']);
  }
  return requests;
}

/** The whole periods that cover [startMs, endMs]. */
export function metricWindow(startMs: number, endMs: number): { startMs: number; endMs: number } {
  const periodMs = METRIC_PERIOD_SECONDS * 1000;
  const start = Math.floor(startMs / periodMs) * periodMs;
  return { startMs: start, endMs: Math.max(start + periodMs, Math.ceil(endMs / periodMs) * periodMs) };
}
