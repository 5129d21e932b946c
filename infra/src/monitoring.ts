import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import type { AlarmsConfig } from './config.js';
import { slowestEndpoints } from './log-queries.js';

export interface MonitoringArgs extends AlarmsConfig {
  loadBalancerArnSuffix: pulumi.Input<string>;
  database: { instanceIdentifier: pulumi.Input<string>; maxConnections: number; allocatedStorageGb: number };
  /** The ElastiCache node's id (CacheClusterId). */
  cacheNodeId: pulumi.Input<string>;
  targetGroupArnSuffixes: Record<ServiceName, pulumi.Input<string>>;
  clusterName: pulumi.Input<string>;
  serviceNames: Record<ServiceName, pulumi.Input<string>>;
  logGroupName: pulumi.Input<string>;
}

const ALB = 'AWS/ApplicationELB';
/** Alarms look at one-minute periods and fire when 3 of the last 5 breach. */
const PERIOD_SECONDS = 60;
const EVALUATION = { period: PERIOD_SECONDS, evaluationPeriods: 5, datapointsToAlarm: 3, treatMissingData: 'notBreaching' };

/** Sustained CPU (RDS, and Redis's one engine thread) above which capacity is running out. */
export const CPU_ALARM_PERCENT = 80;
/** Share of max_connections in use above which the connection budget is nearly spent. */
export const CONNECTIONS_ALARM_PERCENT = 80;
/** Free storage below this share of the allocated storage: autoscaling grows it; if not, the disk fills. */
export const FREE_STORAGE_ALARM_PERCENT = 10;
const GIB = 2 ** 30;

/**
 * Alarms on what a user feels, per service (share of 5xx answers, p95 latency, unhealthy
 * tasks, no healthy task at all) and at the load balancer (its own 5xx: 502/503/504 when no
 * target answers), and on what runs out first in the data stores (RDS CPU, storage and
 * connections; Redis engine CPU and evictions). With `alarmEmail` set, every alarm notifies an
 * SNS topic that address is subscribed to. A dashboard shows the same figures next to each
 * service's CPU and memory and the slowest-endpoints log query.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly dashboardName: pulumi.Output<string>;
  /** The SNS topic alarms notify; undefined without `alarmEmail`. */
  readonly alarmTopicArn: pulumi.Output<string> | undefined;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Monitoring', name, {}, opts);

    let actions: { alarmActions: pulumi.Input<string>[]; okActions: pulumi.Input<string>[] } | Record<string, never> = {};
    if (args.email) {
      const topic = new aws.sns.Topic(`${name}-alarms`, {}, { parent: this });
      new aws.sns.TopicSubscription(`${name}-alarms-email`, { topic: topic.arn, protocol: 'email', endpoint: args.email }, { parent: this });
      actions = { alarmActions: [topic.arn], okActions: [topic.arn] };
      this.alarmTopicArn = topic.arn;
    }
    const alarm = (alarmName: string, alarmArgs: aws.cloudwatch.MetricAlarmArgs) =>
      new aws.cloudwatch.MetricAlarm(`${name}-${alarmName}`, { ...alarmArgs, ...actions }, { parent: this });
    const rate = (alarmName: string, description: string, errorsMetric: string, dimensions: Record<string, pulumi.Input<string>>) => {
      const sum = (id: string, metricName: string) => ({
        id,
        returnData: false,
        metric: { namespace: ALB, metricName, dimensions, period: PERIOD_SECONDS, stat: 'Sum' },
      });
      alarm(alarmName, {
        alarmDescription: description,
        metricQueries: [
          sum('errors', errorsMetric),
          sum('requests', 'RequestCount'),
          { id: 'rate', label: '5xx %', returnData: true, expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)' },
        ],
        comparisonOperator: 'GreaterThanThreshold',
        threshold: args.errorRatePercent,
        evaluationPeriods: EVALUATION.evaluationPeriods,
        datapointsToAlarm: EVALUATION.datapointsToAlarm,
        treatMissingData: EVALUATION.treatMissingData,
      });
    };

    for (const service of SERVICES) {
      const dimensions = { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: args.targetGroupArnSuffixes[service] };
      rate(
        `${service}-5xx-rate`,
        `More than ${args.errorRatePercent}% of ${service}'s answers are 5xx`,
        'HTTPCode_Target_5XX_Count',
        dimensions,
      );
      alarm(`${service}-p95-latency`, {
        alarmDescription: `${service}'s p95 response time is above ${args.p95LatencyMs} ms`,
        namespace: ALB,
        metricName: 'TargetResponseTime',
        dimensions,
        extendedStatistic: 'p95',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: args.p95LatencyMs / 1000,
        ...EVALUATION,
      });
      alarm(`${service}-unhealthy-hosts`, {
        alarmDescription: `A ${service} task fails its load-balancer health checks`,
        namespace: ALB,
        metricName: 'UnHealthyHostCount',
        dimensions,
        statistic: 'Maximum',
        comparisonOperator: 'GreaterThanThreshold',
        threshold: 0,
        ...EVALUATION,
      });
      // A total outage: no task passes its health checks, and the ALB answers 503 itself.
      // Missing data breaches too: a target group without targets reports nothing.
      alarm(`${service}-no-healthy-hosts`, {
        alarmDescription: `No ${service} task is healthy: its requests get 503 from the load balancer`,
        namespace: ALB,
        metricName: 'HealthyHostCount',
        dimensions,
        statistic: 'Minimum',
        comparisonOperator: 'LessThanThreshold',
        threshold: 1,
        period: PERIOD_SECONDS,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: 'breaching',
      });
    }
    rate(
      'load-balancer-5xx-rate',
      `More than ${args.errorRatePercent}% of the load balancer's answers are its own 5xx (no target answered: 502, 503, 504)`,
      'HTTPCode_ELB_5XX_Count',
      { LoadBalancer: args.loadBalancerArnSuffix },
    );

    const above = (
      alarmName: string,
      description: string,
      namespace: string,
      metricName: string,
      dimensions: Record<string, pulumi.Input<string>>,
      statistic: string,
      threshold: number,
    ) =>
      alarm(alarmName, {
        alarmDescription: description,
        namespace,
        metricName,
        dimensions,
        statistic,
        comparisonOperator: 'GreaterThanThreshold',
        threshold,
        ...EVALUATION,
      });
    const db = { DBInstanceIdentifier: args.database.instanceIdentifier };
    above('database-cpu', `PostgreSQL's CPU is above ${CPU_ALARM_PERCENT}%`, 'AWS/RDS', 'CPUUtilization', db, 'Average', CPU_ALARM_PERCENT);
    const connectionLimit = Math.floor((args.database.maxConnections * CONNECTIONS_ALARM_PERCENT) / 100);
    above(
      'database-connections',
      `PostgreSQL has more than ${connectionLimit} connections (${CONNECTIONS_ALARM_PERCENT}% of max_connections ${args.database.maxConnections})`,
      'AWS/RDS',
      'DatabaseConnections',
      db,
      'Maximum',
      connectionLimit,
    );
    const freeStorageBytes = (args.database.allocatedStorageGb * GIB * FREE_STORAGE_ALARM_PERCENT) / 100;
    alarm('database-free-storage', {
      alarmDescription: `PostgreSQL has less than ${FREE_STORAGE_ALARM_PERCENT}% of its ${args.database.allocatedStorageGb} GiB free (storage autoscaling stops at dbMaxAllocatedStorageGb)`,
      namespace: 'AWS/RDS',
      metricName: 'FreeStorageSpace',
      dimensions: db,
      statistic: 'Minimum',
      comparisonOperator: 'LessThanThreshold',
      threshold: freeStorageBytes,
      ...EVALUATION,
    });
    const cache = { CacheClusterId: args.cacheNodeId };
    // Redis runs commands on one thread: EngineCPUUtilization is that thread, CPUUtilization the host's cores.
    above(
      'cache-engine-cpu',
      `Redis's engine thread is above ${CPU_ALARM_PERCENT}% CPU`,
      'AWS/ElastiCache',
      'EngineCPUUtilization',
      cache,
      'Average',
      CPU_ALARM_PERCENT,
    );
    above(
      'cache-evictions',
      'Redis evicts entries: the cache is too small for what it holds (more misses, more PostgreSQL load)',
      'AWS/ElastiCache',
      'Evictions',
      cache,
      'Sum',
      0,
    );

    const region = aws.getRegionOutput({}, { parent: this }).region;
    const body = pulumi
      .all([region, args.loadBalancerArnSuffix, args.targetGroupArnSuffixes, args.clusterName, args.serviceNames, args.logGroupName])
      .apply(([regionName, loadBalancer, targetGroups, cluster, serviceNames, logGroup]) =>
        JSON.stringify(dashboardBody({ region: regionName, loadBalancer, targetGroups, cluster, serviceNames, logGroup })),
      );
    const dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      { dashboardName: pulumi.interpolate`${name}-${pulumi.getStack()}`, dashboardBody: body },
      { parent: this },
    );

    this.dashboardName = dashboard.dashboardName;
    this.registerOutputs({ dashboardName: this.dashboardName, alarmTopicArn: this.alarmTopicArn });
  }
}

interface DashboardInputs {
  region: string;
  loadBalancer: string;
  targetGroups: Record<ServiceName, string>;
  cluster: string;
  serviceNames: Record<ServiceName, string>;
  logGroup: string;
}

/** The dashboard's widgets (CloudWatch dashboard body structure), placed automatically. */
function dashboardBody(inputs: DashboardInputs) {
  const perService = (metric: (service: ServiceName) => unknown[]) => SERVICES.map(metric);
  const albMetric = (metricName: string, options: Record<string, unknown>) => (service: ServiceName) => [
    ALB,
    metricName,
    'LoadBalancer',
    inputs.loadBalancer,
    'TargetGroup',
    inputs.targetGroups[service],
    { label: service, ...options },
  ];
  const ecsMetric = (metricName: string) => (service: ServiceName) => [
    'AWS/ECS',
    metricName,
    'ClusterName',
    inputs.cluster,
    'ServiceName',
    inputs.serviceNames[service],
    { label: service },
  ];
  const metricWidget = (title: string, metrics: unknown[][], extra: Record<string, unknown> = {}) => ({
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, region: inputs.region, view: 'timeSeries', period: PERIOD_SECONDS, metrics, ...extra },
  });

  return {
    widgets: [
      metricWidget('Requests per minute', perService(albMetric('RequestCount', { stat: 'Sum' }))),
      metricWidget(
        'Response time p50 / p95 / p99 (s)',
        SERVICES.flatMap((service) =>
          ['p50', 'p95', 'p99'].map((stat) => albMetric('TargetResponseTime', { stat, label: `${service} ${stat}` })(service)),
        ),
      ),
      metricWidget('5xx answers', [
        ...perService(albMetric('HTTPCode_Target_5XX_Count', { stat: 'Sum' })),
        [ALB, 'HTTPCode_ELB_5XX_Count', 'LoadBalancer', inputs.loadBalancer, { stat: 'Sum', label: 'load balancer' }],
      ]),
      metricWidget('Healthy tasks', perService(albMetric('HealthyHostCount', { stat: 'Minimum' }))),
      metricWidget('CPU %', perService(ecsMetric('CPUUtilization')), { stat: 'Average' }),
      metricWidget('Memory %', perService(ecsMetric('MemoryUtilization')), { stat: 'Average' }),
      {
        type: 'log',
        width: 24,
        height: 8,
        properties: {
          title: 'Slowest endpoints (p95)',
          region: inputs.region,
          view: 'table',
          query: `SOURCE '${inputs.logGroup}' | ${slowestEndpoints.query}`,
        },
      },
    ],
  };
}
