/**
 * The figures of a run against AWS, from what CloudWatch held for its window (cloudwatch.json,
 * written by @taskoverflow/trace/cloudwatch): per ECS service its CPU, memory and running tasks
 * against the autoscaling maximum and its target group's ALB figures; the load balancer's own;
 * RDS; ElastiCache. Each figure is over one-minute periods, as AWS publishes them. What is
 * absent is said in `missing`, with what would bring it.
 */
import { SERVICES } from '@taskoverflow/routing';
import type { CloudWatchRun } from '../cloudwatch/index.js';
import {
  ALB,
  CACHE,
  CONTAINER_INSIGHTS,
  DATABASE,
  ECS,
  ELASTICACHE,
  LOAD_BALANCER,
  METRIC_PERIOD_SECONDS,
  RDS,
  type MetricSeries,
} from '../cloudwatch/metric-requests.js';

/** A percentage over the run: the mean of its periods' averages, the highest period average, the highest single value. */
export interface Utilization {
  averagePercent: number;
  /** The busiest minute's average: a minute at this level is sustained, not a spike. */
  peakMinutePercent: number;
  maxPercent: number | undefined;
}

/** One minute of a service: what the saturation rule reads. */
export interface ServicePeriod {
  atMs: number;
  cpuPercent: number | undefined;
  tasks: number | undefined;
}

export interface AwsServiceFigures {
  service: string;
  ecsServiceName: string | undefined;
  cpu: Utilization | undefined;
  memory: Utilization | undefined;
  /** The most tasks running in any minute, and what counted them. */
  tasks: { peak: number; countedBy: 'RunningTaskCount' | 'HealthyHostCount' } | undefined;
  maxTasks: number | undefined;
  periods: ServicePeriod[];
  /** Its target group's figures at the ALB; undefined without them. */
  targetGroup:
    | {
        requests: number;
        responseTimeAverageMs: number | undefined;
        responseTimeMaxMs: number | undefined;
        target5xx: number;
        healthyMin: number | undefined;
        healthyMax: number | undefined;
      }
    | undefined;
}

export interface AwsFigures {
  region: string;
  window: { startMs: number; endMs: number };
  periodSeconds: number;
  logs: CloudWatchRun['logs'];
  services: AwsServiceFigures[];
  loadBalancer: { requests: number; elb5xx: number; rejectedConnections: number } | undefined;
  database:
    | {
        instance: string;
        cpu: Utilization | undefined;
        connectionsPeak: number | undefined;
        maxConnections: number | undefined;
        readIops: { average: number; max: number } | undefined;
        writeIops: { average: number; max: number } | undefined;
      }
    | undefined;
  cache:
    | {
        clusterId: string;
        engineCpu: Utilization | undefined;
        evictions: number | undefined;
        connectionsPeak: number | undefined;
      }
    | undefined;
  /** What could not be read or was not there, each with what would bring it. */
  missing: string[];
}

export function awsFiguresOf(run: CloudWatchRun): AwsFigures {
  const { resources } = run;
  const series = (
    subject: string,
    namespace: string,
    metric: string,
    stat: MetricSeries['stat'],
  ): MetricSeries | undefined =>
    run.metrics.find(
      (one) =>
        one.subject === subject &&
        one.namespace === namespace &&
        one.metric === metric &&
        one.stat === stat &&
        one.values.length > 0,
    );
  const requested = (subject: string): boolean => run.metrics.some((one) => one.subject === subject);
  const missing = [...run.problems];
  const when = `between ${clock(run.window.startMs)} and ${clock(run.window.endMs)} UTC in ${resources.region}`;

  const services = SERVICES.flatMap((service): AwsServiceFigures[] => {
    const names = resources.services[service];
    if (!names) return [];
    const cpuAverage = series(service, ECS, 'CPUUtilization', 'Average');
    const running = series(service, CONTAINER_INSIGHTS, 'RunningTaskCount', 'Maximum');
    const healthyMax = series(service, ALB, 'HealthyHostCount', 'Maximum');
    const tasks = running ?? healthyMax;
    if (requested(service) && names.serviceName && resources.clusterName) {
      if (!cpuAverage) {
        missing.push(
          `no ECS CPU or memory of ${service} (service ${names.serviceName} in cluster ${resources.clusterName}) ${when}: a wrong region or name, or the metrics had not landed yet (they come a minute or two late; pnpm trace --report DIR --aws-outputs FILE reads them again)`,
        );
      }
      if (!running) {
        missing.push(
          `no RunningTaskCount of ${service} (ECS/ContainerInsights): Container Insights is off on the cluster (aws ecs update-cluster-settings --cluster ${resources.clusterName} --settings name=containerInsights,value=enabled); ` +
            (healthyMax ? "its tasks are counted by the ALB's HealthyHostCount instead" : 'its task count is unknown'),
        );
      }
    }
    const byPeriod = new Map<number, ServicePeriod>();
    const period = (atMs: number): ServicePeriod => {
      let found = byPeriod.get(atMs);
      if (!found) byPeriod.set(atMs, (found = { atMs, cpuPercent: undefined, tasks: undefined }));
      return found;
    };
    cpuAverage?.timestamps.forEach((atMs, index) => (period(atMs).cpuPercent = cpuAverage.values[index]));
    tasks?.timestamps.forEach((atMs, index) => (period(atMs).tasks = tasks.values[index]));
    const requests = series(service, ALB, 'RequestCount', 'Sum');
    const responseAverage = series(service, ALB, 'TargetResponseTime', 'Average');
    return [
      {
        service,
        ecsServiceName: names.serviceName,
        cpu: utilization(cpuAverage, series(service, ECS, 'CPUUtilization', 'Maximum')),
        memory: utilization(
          series(service, ECS, 'MemoryUtilization', 'Average'),
          series(service, ECS, 'MemoryUtilization', 'Maximum'),
        ),
        tasks: tasks
          ? { peak: Math.max(...tasks.values), countedBy: running ? 'RunningTaskCount' : 'HealthyHostCount' }
          : undefined,
        maxTasks: names.maxTasks,
        periods: [...byPeriod.values()].sort((a, b) => a.atMs - b.atMs),
        targetGroup: run.metrics.some(
          (one) => one.subject === service && one.namespace === ALB && one.values.length > 0,
        )
          ? {
              requests: total(requests),
              // TargetResponseTime is in seconds; a period's average weighs by its requests.
              responseTimeAverageMs: responseAverage && weightedMean(responseAverage, requests) * 1000,
              responseTimeMaxMs: maxOf(series(service, ALB, 'TargetResponseTime', 'Maximum')) * 1000 || undefined,
              target5xx: total(series(service, ALB, 'HTTPCode_Target_5XX_Count', 'Sum')),
              healthyMin: minOf(series(service, ALB, 'HealthyHostCount', 'Minimum')),
              healthyMax: healthyMax && maxOf(healthyMax),
            }
          : undefined,
      },
    ];
  });
  for (const service of services) {
    if (service.tasks && service.maxTasks === undefined) {
      missing.push(
        `${service.service}'s autoscaling maximum is unknown (--aws-max-tasks ${service.service}=N, or the stack outputs): its task count is not judged against it`,
      );
    }
  }

  const lbRequests = series(LOAD_BALANCER, ALB, 'RequestCount', 'Sum');
  if (requested(LOAD_BALANCER) && !lbRequests)
    missing.push(`no ALB figures for load balancer ${resources.loadBalancerArnSuffix} ${when}`);
  const rds = (metric: string, stat: MetricSeries['stat']) => series(DATABASE, RDS, metric, stat);
  const elastiCache = (metric: string, stat: MetricSeries['stat']) => series(CACHE, ELASTICACHE, metric, stat);
  const dbCpu = rds('CPUUtilization', 'Average');
  if (requested(DATABASE) && !dbCpu)
    missing.push(`no RDS figures for instance ${resources.databaseInstanceId} ${when}`);
  const cacheCpu = elastiCache('EngineCPUUtilization', 'Average');
  if (requested(CACHE) && !cacheCpu) missing.push(`no ElastiCache figures for ${resources.cacheClusterId} ${when}`);
  const latestMs = Math.max(...run.metrics.flatMap((one) => one.timestamps));
  const periodMs = METRIC_PERIOD_SECONDS * 1000;
  const lastPeriodMs = Math.floor((run.window.endMs - 1) / periodMs) * periodMs;
  if (Number.isFinite(latestMs) && latestMs < lastPeriodMs) {
    missing.push(
      `no metrics after the minute from ${clock(latestMs)} UTC yet, while the run went on until ${clock(run.window.endMs)}: AWS publishes them a minute or two late; pnpm trace --report DIR --aws-outputs FILE reads them again`,
    );
  }
  if (run.logs?.stopped) {
    missing.push(
      `the log lines were read up to ${clock(run.logs.stopped.atMs)} UTC only (${run.logs.stopped.because}: --aws-max-log-events raises it): the services' figures cover that part of the run`,
    );
  }
  if (run.logs && run.logs.events === 0)
    missing.push(
      `no log lines in ${run.logs.logGroupName} ${when}: a wrong group or region, or the lines had not arrived`,
    );

  return {
    region: resources.region,
    window: run.window,
    periodSeconds: METRIC_PERIOD_SECONDS,
    logs: run.logs,
    services,
    loadBalancer: lbRequests
      ? {
          requests: total(lbRequests),
          elb5xx: total(series(LOAD_BALANCER, ALB, 'HTTPCode_ELB_5XX_Count', 'Sum')),
          rejectedConnections: total(series(LOAD_BALANCER, ALB, 'RejectedConnectionCount', 'Sum')),
        }
      : undefined,
    database:
      resources.databaseInstanceId && requested(DATABASE)
        ? {
            instance: resources.databaseInstanceId,
            cpu: utilization(dbCpu, rds('CPUUtilization', 'Maximum')),
            connectionsPeak: optionalMax(rds('DatabaseConnections', 'Maximum')),
            maxConnections: resources.databaseMaxConnections,
            readIops: iops(rds('ReadIOPS', 'Average'), rds('ReadIOPS', 'Maximum')),
            writeIops: iops(rds('WriteIOPS', 'Average'), rds('WriteIOPS', 'Maximum')),
          }
        : undefined,
    cache:
      resources.cacheClusterId && requested(CACHE)
        ? {
            clusterId: resources.cacheClusterId,
            engineCpu: utilization(cacheCpu, elastiCache('EngineCPUUtilization', 'Maximum')),
            evictions: elastiCache('Evictions', 'Sum') && total(elastiCache('Evictions', 'Sum')),
            connectionsPeak: optionalMax(elastiCache('CurrConnections', 'Maximum')),
          }
        : undefined,
    missing,
  };
}

function utilization(average: MetricSeries | undefined, maximum: MetricSeries | undefined): Utilization | undefined {
  if (!average) return undefined;
  return {
    averagePercent: mean(average.values),
    peakMinutePercent: Math.max(...average.values),
    maxPercent: maximum && maxOf(maximum),
  };
}

function iops(
  average: MetricSeries | undefined,
  maximum: MetricSeries | undefined,
): { average: number; max: number } | undefined {
  return average
    ? { average: mean(average.values), max: maximum ? maxOf(maximum) : Math.max(...average.values) }
    : undefined;
}

const mean = (values: number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
const total = (series: MetricSeries | undefined): number => series?.values.reduce((sum, value) => sum + value, 0) ?? 0;
const maxOf = (series: MetricSeries | undefined): number => (series ? Math.max(...series.values) : 0);
const optionalMax = (series: MetricSeries | undefined): number | undefined => series && Math.max(...series.values);
const minOf = (series: MetricSeries | undefined): number | undefined => series && Math.min(...series.values);

/** The mean of a per-period average, each period weighed by its count (its requests); unweighed without counts. */
function weightedMean(averages: MetricSeries, counts: MetricSeries | undefined): number {
  let weighed = 0;
  let weights = 0;
  averages.timestamps.forEach((atMs, index) => {
    const weight = counts ? (counts.values[counts.timestamps.indexOf(atMs)] ?? 0) : 1;
    weighed += averages.values[index]! * weight;
    weights += weight;
  });
  return weights > 0 ? weighed / weights : mean(averages.values);
}

/** A time of day, HH:MM:SS UTC. */
export function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
