import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import type { AlarmsConfig } from './config.js';
import { slowestEndpoints } from './log-queries.js';

export interface MonitoringArgs extends AlarmsConfig {
  loadBalancerArnSuffix: pulumi.Input<string>;
  targetGroupArnSuffixes: Record<ServiceName, pulumi.Input<string>>;
  clusterName: pulumi.Input<string>;
  serviceNames: Record<ServiceName, pulumi.Input<string>>;
  logGroupName: pulumi.Input<string>;
}

const ALB = 'AWS/ApplicationELB';
/** Alarms look at one-minute periods and fire when 3 of the last 5 breach. */
const PERIOD_SECONDS = 60;
const EVALUATION = { period: PERIOD_SECONDS, evaluationPeriods: 5, datapointsToAlarm: 3, treatMissingData: 'notBreaching' };

/**
 * Alarms per service on what a user feels (share of 5xx answers, p95 latency, unhealthy tasks)
 * and a dashboard with the same figures next to each service's CPU and memory and the
 * slowest-endpoints log query. The alarms have no actions; subscribe to them in the console
 * or add an SNS topic.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly dashboardName: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Monitoring', name, {}, opts);

    for (const service of SERVICES) {
      const dimensions = { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: args.targetGroupArnSuffixes[service] };
      const sum = (id: string, metricName: string) => ({
        id,
        returnData: false,
        metric: { namespace: ALB, metricName, dimensions, period: PERIOD_SECONDS, stat: 'Sum' },
      });
      new aws.cloudwatch.MetricAlarm(
        `${name}-${service}-5xx-rate`,
        {
          alarmDescription: `More than ${args.errorRatePercent}% of ${service}'s answers are 5xx`,
          metricQueries: [
            sum('errors', 'HTTPCode_Target_5XX_Count'),
            sum('requests', 'RequestCount'),
            { id: 'rate', label: '5xx %', returnData: true, expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)' },
          ],
          comparisonOperator: 'GreaterThanThreshold',
          threshold: args.errorRatePercent,
          evaluationPeriods: EVALUATION.evaluationPeriods,
          datapointsToAlarm: EVALUATION.datapointsToAlarm,
          treatMissingData: EVALUATION.treatMissingData,
        },
        { parent: this },
      );
      new aws.cloudwatch.MetricAlarm(
        `${name}-${service}-p95-latency`,
        {
          alarmDescription: `${service}'s p95 response time is above ${args.p95LatencyMs} ms`,
          namespace: ALB,
          metricName: 'TargetResponseTime',
          dimensions,
          extendedStatistic: 'p95',
          comparisonOperator: 'GreaterThanThreshold',
          threshold: args.p95LatencyMs / 1000,
          ...EVALUATION,
        },
        { parent: this },
      );
      new aws.cloudwatch.MetricAlarm(
        `${name}-${service}-unhealthy-hosts`,
        {
          alarmDescription: `A ${service} task fails its load-balancer health checks`,
          namespace: ALB,
          metricName: 'UnHealthyHostCount',
          dimensions,
          statistic: 'Maximum',
          comparisonOperator: 'GreaterThanThreshold',
          threshold: 0,
          ...EVALUATION,
        },
        { parent: this },
      );
    }

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
    this.registerOutputs({ dashboardName: this.dashboardName });
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
