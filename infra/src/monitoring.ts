import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import { RESERVED_CONNECTIONS, type AlarmsConfig } from './config.js';
import { slowestEndpoints } from './log-queries.js';

export interface MonitoringArgs extends AlarmsConfig {
  loadBalancerArnSuffix: pulumi.Input<string>;
  database: {
    instanceIdentifier: pulumi.Input<string>;
    maxConnections: number;
    /** The most connections the stack's own configuration can open (peakConnections, deploy surge included). */
    connectionBudget: number;
    /** Storage autoscaling's ceiling: free storage is judged against it. */
    maxAllocatedStorageGb: number;
    /** A db.t* class, which runs on CPU credits. */
    burstable: boolean;
  };
  /** The ElastiCache nodes' ids (CacheClusterId), `cacheNodeCount` of them. */
  cacheNodeIds: pulumi.Input<string[]>;
  cacheNodeCount: number;
  targetGroupArnSuffixes: Record<ServiceName, pulumi.Input<string>>;
  clusterName: pulumi.Input<string>;
  serviceNames: Record<ServiceName, pulumi.Input<string>>;
  /** The ECS services' ARNs: their failed deployments notify the alarm topic. */
  serviceArns: Record<ServiceName, pulumi.Input<string>>;
  logGroupName: pulumi.Input<string>;
}

const ALB = 'AWS/ApplicationELB';
/** Alarms look at one-minute periods and fire when 3 of the last 5 breach. */
const PERIOD_SECONDS = 60;
const EVALUATION = {
  period: PERIOD_SECONDS,
  evaluationPeriods: 5,
  datapointsToAlarm: 3,
  treatMissingData: 'notBreaching',
};

/** Sustained CPU (RDS, and Redis's one engine thread) above which capacity is running out. */
export const CPU_ALARM_PERCENT = 80;
/**
 * Free storage below this share of the storage autoscaling's ceiling (dbMaxAllocatedStorageGb):
 * RDS grows the volume when less than 10 % of what is allocated is free, up to that ceiling;
 * judged against the ceiling, the alarm means the growth is running out, whatever size the
 * volume has reached (and warns early while the volume is still small).
 */
export const FREE_STORAGE_ALARM_PERCENT = 10;
const GIB = 2 ** 30;

/**
 * Alarms on what a user feels, per service (share of 5xx answers, p95 latency, unhealthy
 * tasks, no healthy task at all) and at the load balancer (its own 5xx: 502/503/504 when no
 * target answers), and on what runs out first in the data stores (RDS CPU, CPU credits on a
 * burstable class, storage against autoscaling's ceiling, connections against the stack's own
 * budget; Redis engine CPU and evictions, per node). Every alarm, and every failed ECS
 * deployment (an EventBridge rule on SERVICE_DEPLOYMENT_FAILED), notifies one SNS topic;
 * `alarmEmail` is subscribed to it (required by the production preset). A dashboard shows the
 * same figures next to each service's CPU and memory and the slowest-endpoints log query.
 */
export class Monitoring extends pulumi.ComponentResource {
  readonly dashboardName: pulumi.Output<string>;
  /** The SNS topic alarms and failed deployments notify. */
  readonly alarmTopicArn: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Monitoring', name, {}, opts);

    const topic = new aws.sns.Topic(`${name}-alarms`, {}, { parent: this });
    if (args.email) {
      new aws.sns.TopicSubscription(
        `${name}-alarms-email`,
        { topic: topic.arn, protocol: 'email', endpoint: args.email },
        { parent: this },
      );
    }
    const actions = { alarmActions: [topic.arn], okActions: [topic.arn] };
    this.alarmTopicArn = topic.arn;
    this.notifyFailedDeployments(name, topic, args.serviceArns);
    const alarm = (alarmName: string, alarmArgs: aws.cloudwatch.MetricAlarmArgs) =>
      new aws.cloudwatch.MetricAlarm(`${name}-${alarmName}`, { ...alarmArgs, ...actions }, { parent: this });
    const rate = (
      alarmName: string,
      description: string,
      errorsMetric: string,
      dimensions: Record<string, pulumi.Input<string>>,
    ) => {
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
          {
            id: 'rate',
            label: '5xx %',
            returnData: true,
            expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)',
          },
        ],
        comparisonOperator: 'GreaterThanThreshold',
        threshold: args.errorRatePercent,
        evaluationPeriods: EVALUATION.evaluationPeriods,
        datapointsToAlarm: EVALUATION.datapointsToAlarm,
        treatMissingData: EVALUATION.treatMissingData,
      });
    };

    for (const service of SERVICES) {
      const dimensions = {
        LoadBalancer: args.loadBalancerArnSuffix,
        TargetGroup: args.targetGroupArnSuffixes[service],
      };
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
    above(
      'database-cpu',
      `PostgreSQL's CPU is above ${CPU_ALARM_PERCENT}%`,
      'AWS/RDS',
      'CPUUtilization',
      db,
      'Average',
      CPU_ALARM_PERCENT,
    );
    const usableConnections = args.database.maxConnections - RESERVED_CONNECTIONS;
    above(
      'database-connections',
      `PostgreSQL has more than ${args.database.connectionBudget} connections, all the services may open even during a deploy ` +
        `(pgPoolMax × tasks × 2 + migration; ${usableConnections} usable of max_connections ${args.database.maxConnections}): ` +
        'a leaking pool or a client outside the stack',
      'AWS/RDS',
      'DatabaseConnections',
      db,
      'Maximum',
      args.database.connectionBudget,
    );
    const freeStorageGb = (args.database.maxAllocatedStorageGb * FREE_STORAGE_ALARM_PERCENT) / 100;
    alarm('database-free-storage', {
      alarmDescription:
        `PostgreSQL has less than ${freeStorageGb} GiB free: ${FREE_STORAGE_ALARM_PERCENT}% of the ${args.database.maxAllocatedStorageGb} GiB ` +
        'storage autoscaling grows to (dbMaxAllocatedStorageGb); raise it before the volume fills',
      namespace: 'AWS/RDS',
      metricName: 'FreeStorageSpace',
      dimensions: db,
      statistic: 'Minimum',
      comparisonOperator: 'LessThanThreshold',
      threshold: freeStorageGb * GIB,
      ...EVALUATION,
    });
    if (args.database.burstable) {
      // RDS runs T-class instances unlimited: past its earned credits the instance keeps its
      // speed and bills the surplus. A surplus balance means CPU above the class's baseline.
      above(
        'database-cpu-credits',
        "PostgreSQL spends CPU credits it has not earned (CPUSurplusCreditBalance > 0): its load is above the burstable class's baseline, billed as surplus; choose a larger or non-burstable dbInstanceClass",
        'AWS/RDS',
        'CPUSurplusCreditBalance',
        db,
        'Maximum',
        0,
      );
    }
    // Redis runs commands on one thread: EngineCPUUtilization is that thread, CPUUtilization the host's cores.
    for (let node = 0; node < args.cacheNodeCount; node++) {
      const cache = { CacheClusterId: pulumi.output(args.cacheNodeIds).apply((ids) => ids[node]!) };
      const suffix = node === 0 ? '' : `-node-${node + 1}`;
      above(
        `cache-engine-cpu${suffix}`,
        `Redis's engine thread is above ${CPU_ALARM_PERCENT}% CPU (node ${node + 1})`,
        'AWS/ElastiCache',
        'EngineCPUUtilization',
        cache,
        'Average',
        CPU_ALARM_PERCENT,
      );
      above(
        `cache-evictions${suffix}`,
        `Redis evicts entries (node ${node + 1}): the cache is too small for what it holds (more misses, more PostgreSQL load)`,
        'AWS/ElastiCache',
        'Evictions',
        cache,
        'Sum',
        0,
      );
    }

    const region = aws.getRegionOutput({}, { parent: this }).region;
    const body = pulumi
      .all([
        region,
        args.loadBalancerArnSuffix,
        args.targetGroupArnSuffixes,
        args.clusterName,
        args.serviceNames,
        args.logGroupName,
      ])
      .apply(([regionName, loadBalancer, targetGroups, cluster, serviceNames, logGroup]) =>
        JSON.stringify(
          dashboardBody({ region: regionName, loadBalancer, targetGroups, cluster, serviceNames, logGroup }),
        ),
      );
    const dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      { dashboardName: pulumi.interpolate`${name}-${pulumi.getStack()}`, dashboardBody: body },
      { parent: this },
    );

    this.dashboardName = dashboard.dashboardName;
    this.registerOutputs({ dashboardName: this.dashboardName, alarmTopicArn: this.alarmTopicArn });
  }

  /**
   * An EventBridge rule on ECS's "ECS Deployment State Change" events for the services: a
   * SERVICE_DEPLOYMENT_FAILED (the circuit breaker gave up on a deployment, rolled back or not)
   * publishes a one-line message to the alarm topic, whoever started the deployment. The
   * topic's policy lets EventBridge (this rule only) and the account's CloudWatch alarms publish.
   */
  private notifyFailedDeployments(
    name: string,
    topic: aws.sns.Topic,
    serviceArns: Record<ServiceName, pulumi.Input<string>>,
  ) {
    const rule = new aws.cloudwatch.EventRule(
      `${name}-deployment-failed`,
      {
        description: 'TaskOverflow: an ECS deployment of todo-read or todo-write failed',
        eventPattern: pulumi.jsonStringify({
          source: ['aws.ecs'],
          'detail-type': ['ECS Deployment State Change'],
          resources: SERVICES.map((service) => serviceArns[service]),
          detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
        }),
      },
      { parent: this },
    );
    const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    new aws.sns.TopicPolicy(
      `${name}-alarms`,
      {
        arn: topic.arn,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            // This policy replaces the topic's default one, which let the account's alarms publish.
            {
              Sid: 'Alarms',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: topic.arn,
              Condition: { StringEquals: { 'aws:SourceAccount': accountId } },
            },
            {
              Sid: 'FailedDeployments',
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: topic.arn,
              Condition: { ArnEquals: { 'aws:SourceArn': rule.arn } },
            },
          ],
        }),
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-deployment-failed`,
      {
        rule: rule.name,
        arn: topic.arn,
        inputTransformer: {
          inputPaths: { service: '$.resources[0]', deployment: '$.detail.deploymentId', reason: '$.detail.reason' },
          inputTemplate: '"ECS deployment <deployment> of <service> failed: <reason>"',
        },
      },
      { parent: this },
    );
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
          ['p50', 'p95', 'p99'].map((stat) =>
            albMetric('TargetResponseTime', { stat, label: `${service} ${stat}` })(service),
          ),
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
