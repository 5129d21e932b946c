import { SERVICES } from '@taskoverflow/routing';
import t from 'tap';
import {
  errorRate,
  REQUEST_ID_PLACEHOLDER,
  requestTimeline,
  serviceStats,
  slowestEndpoints,
} from '../src/log-queries.js';
import { peakConnections, readStackConfig } from '../src/config.js';
import { deployWithMocks, MOCK_ACCOUNT, MOCK_REGION, TYPES } from './helpers/mock-deployment.js';

const deployment = await deployWithMocks();

t.test('one log group, named after the stack, with a retention', async (t) => {
  const groups = deployment.ofType(TYPES.logGroup);
  t.equal(groups.length, 1);
  t.match(groups[0]!.inputs, { name: 'taskoverflow-test', retentionInDays: 14 });
});

t.test('the Logs Insights queries are saved against the log group', async (t) => {
  const definitions = deployment.ofType(TYPES.queryDefinition);
  t.same(definitions.map((definition) => definition.inputs.name).sort(), [
    'taskoverflow/error-rate',
    'taskoverflow/request-timeline',
    'taskoverflow/service-stats',
    'taskoverflow/slowest-endpoints',
  ]);
  for (const definition of definitions)
    t.same(definition.inputs.logGroupNames, ['taskoverflow-test'], definition.inputs.name);
});

t.test('the queries read the fields the services log', async (t) => {
  t.match(requestTimeline.query, `filter request_id = "${REQUEST_ID_PLACEHOLDER}"`, 'timeline: one request');
  t.match(requestTimeline.query, /sort time asc/, 'timeline: in order');
  t.match(
    requestTimeline.query,
    'cache, cache_tier, cache_ms, db_queries, db_ms',
    "timeline: the canonical line's figures",
  );

  t.match(slowestEndpoints.query, /filter msg = "request finished"/, 'slowest: the request-finished lines');
  for (const percentile of [50, 95, 99]) {
    t.match(slowestEndpoints.query, `pct(duration_ms, ${percentile})`, `slowest: p${percentile}`);
  }
  t.match(slowestEndpoints.query, /by service, method, endpoint/, 'slowest: per endpoint of each service');
  t.match(slowestEndpoints.query, 'coalesce(route, path) as endpoint', 'slowest: endpoints are route patterns');
  t.match(
    slowestEndpoints.query,
    'avg(db_ms) as avg_db_ms, avg(cache_ms) as avg_cache_ms',
    'slowest: with their db and cache time',
  );

  t.match(serviceStats.query, /^filter msg = "stats"\n/, 'stats: the periodic stats lines');
  for (const field of [
    'requests',
    'p99_ms',
    'status_5xx',
    'shed',
    'rate_limited',
    'cache_hit',
    'cache_bypass',
    'db_queries',
    'event_loop_delay_p99_ms',
    'rss_mb',
    'cpu_ms',
  ]) {
    t.match(serviceStats.query, `(${field})`, `stats: ${field}`);
  }
  t.match(serviceStats.query, /by service, bin\(1m\)/, 'stats: per service and minute');

  t.match(errorRate.query, /filter msg = "request finished"/, 'error rate: the request-finished lines');
  t.match(errorRate.query, /by service, bin\(5m\)/, 'error rate: per service over time');
});

t.test("the error-rate query's 5xx indicator is 1 exactly for 500–599", async (t) => {
  // The query's `greatest(0, least(1, floor(status / 100) - 4))`, evaluated here.
  const is5xx = (status: number) => Math.max(0, Math.min(1, Math.floor(status / 100) - 4));
  t.match(errorRate.query, 'greatest(0, least(1, floor(status / 100) - 4)) as is_5xx');
  for (const status of [100, 200, 204, 304, 400, 404, 499]) t.equal(is5xx(status), 0, String(status));
  for (const status of [500, 502, 503, 599]) t.equal(is5xx(status), 1, String(status));
});

const alarms = deployment.ofType(TYPES.metricAlarm);
const alarm = (name: string) => deployment.named(TYPES.metricAlarm, `taskoverflow-${name}`).inputs;
const alb = deployment.named(TYPES.loadBalancer, 'taskoverflow');

t.test('the alarms: four per service, the load balancer, RDS and ElastiCache', async (t) => {
  t.same(
    alarms.map((candidate) => candidate.name.replace('taskoverflow-', '')).sort(),
    [
      'cache-engine-cpu',
      'cache-evictions',
      'database-connections',
      'database-cpu',
      'database-cpu-credits',
      'database-free-storage',
      'load-balancer-5xx-rate',
      ...SERVICES.flatMap((service) =>
        ['5xx-rate', 'no-healthy-hosts', 'p95-latency', 'unhealthy-hosts'].map((kind) => `${service}-${kind}`),
      ),
    ].sort(),
  );
});

t.test('every alarm notifies the alarm topic, with or without an address subscribed', async (t) => {
  const [topic, ...others] = deployment.ofType(TYPES.snsTopic);
  t.equal(others.length, 0, 'one topic');
  t.same(deployment.ofType(TYPES.snsSubscription), [], 'without alarmEmail, nobody is subscribed yet');
  for (const candidate of alarms) {
    t.same(
      [candidate.inputs.alarmActions, candidate.inputs.okActions],
      [[topic!.state.arn], [topic!.state.arn]],
      candidate.name,
    );
  }
  t.equal(deployment.outputs.alarmTopicArn, topic!.state.arn, 'exported');
});

t.test('a failed ECS deployment of either service notifies the alarm topic (EventBridge)', async (t) => {
  const [topic] = deployment.ofType(TYPES.snsTopic);
  const [rule, ...others] = deployment.ofType(TYPES.eventRule);
  t.equal(others.length, 0, 'one rule');
  t.same(JSON.parse(rule!.inputs.eventPattern), {
    source: ['aws.ecs'],
    'detail-type': ['ECS Deployment State Change'],
    resources: SERVICES.map((service) => deployment.named(TYPES.ecsService, `taskoverflow-${service}`).state.arn),
    detail: { eventName: ['SERVICE_DEPLOYMENT_FAILED'] },
  });
  const [target] = deployment.ofType(TYPES.eventTarget);
  t.match(target!.inputs, { rule: rule!.state.name, arn: topic!.state.arn });
  t.match(target!.inputs.inputTransformer.inputTemplate, /ECS deployment <deployment> of <service> failed: <reason>/);
  const policy = JSON.parse(deployment.named(TYPES.snsTopicPolicy, 'taskoverflow-alarms').inputs.policy);
  t.same(
    policy.Statement.map((statement: any) => [statement.Principal.Service, statement.Action, statement.Condition]),
    [
      ['cloudwatch.amazonaws.com', 'sns:Publish', { StringEquals: { 'aws:SourceAccount': MOCK_ACCOUNT } }],
      ['events.amazonaws.com', 'sns:Publish', { ArnEquals: { 'aws:SourceArn': rule!.state.arn } }],
    ],
    "the account's alarms and this rule may publish",
  );
});

t.test('each service has alarms on 5xx share, p95 latency and unhealthy tasks', async (t) => {
  for (const service of SERVICES) {
    const dimensions = {
      LoadBalancer: alb.state.arnSuffix,
      TargetGroup: deployment.named(TYPES.targetGroup, `taskoverflow-${service}`).state.arnSuffix,
    };
    const errors = alarm(`${service}-5xx-rate`);
    t.match(errors, { comparisonOperator: 'GreaterThanThreshold', threshold: 1 }, `${service}: 5xx share above 1 %`);
    t.same(
      errors.metricQueries
        .filter((query: any) => query.metric)
        .map((query: any) => [query.metric.metricName, query.metric.dimensions]),
      [
        ['HTTPCode_Target_5XX_Count', dimensions],
        ['RequestCount', dimensions],
      ],
      `${service}: 5xx over requests of its target group`,
    );
    t.match(alarm(`${service}-p95-latency`), {
      metricName: 'TargetResponseTime',
      extendedStatistic: 'p95',
      threshold: 0.5,
      dimensions,
    });
    t.match(alarm(`${service}-unhealthy-hosts`), { metricName: 'UnHealthyHostCount', threshold: 0, dimensions });
  }
});

t.test('a total outage alarms: no healthy task, or the load balancer answering 5xx itself', async (t) => {
  for (const service of SERVICES) {
    const dimensions = {
      LoadBalancer: alb.state.arnSuffix,
      TargetGroup: deployment.named(TYPES.targetGroup, `taskoverflow-${service}`).state.arnSuffix,
    };
    t.match(
      alarm(`${service}-no-healthy-hosts`),
      {
        metricName: 'HealthyHostCount',
        statistic: 'Minimum',
        comparisonOperator: 'LessThanThreshold',
        threshold: 1,
        dimensions,
        treatMissingData: 'breaching',
      },
      `${service}: fewer than one healthy task, and no data at all, alarm`,
    );
  }
  const elb = alarm('load-balancer-5xx-rate');
  t.same(
    elb.metricQueries
      .filter((query: any) => query.metric)
      .map((query: any) => [query.metric.metricName, query.metric.dimensions]),
    [
      ['HTTPCode_ELB_5XX_Count', { LoadBalancer: alb.state.arnSuffix }],
      ['RequestCount', { LoadBalancer: alb.state.arnSuffix }],
    ],
    "the load balancer's own 5xx over all its requests",
  );
  t.match(elb, { comparisonOperator: 'GreaterThanThreshold', threshold: 1 });
});

t.test('RDS and ElastiCache alarm before they run out', async (t) => {
  const db = { DBInstanceIdentifier: deployment.ofType(TYPES.rdsInstance)[0]!.state.identifier };
  t.match(alarm('database-cpu'), { namespace: 'AWS/RDS', metricName: 'CPUUtilization', threshold: 80, dimensions: db });
  // The budget: 2 × (10 + 1) tasks × 3 connections + 1 migrating = 67, of the 73 a db.t4g.micro leaves.
  const { read, write, app } = readStackConfig(undefined, 'test');
  t.equal(peakConnections(read, write, app.pgPoolMax), 67);
  t.match(alarm('database-connections'), {
    namespace: 'AWS/RDS',
    metricName: 'DatabaseConnections',
    comparisonOperator: 'GreaterThanThreshold',
    threshold: 67,
    dimensions: db,
  });
  t.match(
    alarm('database-connections').alarmDescription,
    /more than 67 connections, all the services may open even during a deploy/,
  );
  t.match(alarm('database-free-storage'), {
    namespace: 'AWS/RDS',
    metricName: 'FreeStorageSpace',
    comparisonOperator: 'LessThanThreshold',
    threshold: 10 * 2 ** 30, // 10 % of the 100 GiB storage autoscaling grows to
    dimensions: db,
  });
  t.match(alarm('database-cpu-credits'), {
    namespace: 'AWS/RDS',
    metricName: 'CPUSurplusCreditBalance',
    comparisonOperator: 'GreaterThanThreshold',
    threshold: 0,
    dimensions: db,
  });
  const cache = { CacheClusterId: `${deployment.ofType(TYPES.replicationGroup)[0]!.name}-001` };
  t.match(alarm('cache-engine-cpu'), {
    namespace: 'AWS/ElastiCache',
    metricName: 'EngineCPUUtilization',
    threshold: 80,
    dimensions: cache,
  });
  t.match(alarm('cache-evictions'), {
    namespace: 'AWS/ElastiCache',
    metricName: 'Evictions',
    statistic: 'Sum',
    threshold: 0,
    dimensions: cache,
  });
});

t.test('the dashboard is valid JSON in the stack region', async (t) => {
  const [dashboard] = deployment.ofType(TYPES.dashboard);
  const body = JSON.parse(dashboard!.inputs.dashboardBody);
  t.ok(body.widgets.length > 0);
  for (const widget of body.widgets) t.equal(widget.properties.region, MOCK_REGION, widget.properties.title);
  t.ok(
    body.widgets.some(
      (widget: any) => widget.type === 'log' && widget.properties.query.startsWith("SOURCE 'taskoverflow-test'"),
    ),
  );
});
