import { SHUTDOWN_GRACE_MS } from '@taskoverflow/http-kit';
import { HEALTH_PATH, KEEP_ALIVE_TIMEOUT_MS } from '@taskoverflow/routing';
import {
  apiOperations,
  defaultService,
  routeRequest,
  routingRules,
  SERVICES,
  serviceOf,
  type ServiceName,
} from '@taskoverflow/routing';
import t from 'tap';
import { ALB_VALUES_PER_CONDITION, ALB_VALUES_PER_RULE, albListenerRules } from '../src/listener-rules.js';
import { CONTAINER_PORTS } from '../src/ports.js';
import { routeLikeAlb, SAMPLE_METHODS, SAMPLE_PATHS, type RouteRule } from './helpers/alb.js';
import { deployWithMocks, MOCK_ACCOUNT, MOCK_ELB_ACCOUNT_ARN, TYPES } from './helpers/mock-deployment.js';

const deployment = await deployWithMocks();

const targetGroups = deployment.ofType(TYPES.targetGroup);
/** The service whose target group has this ARN. */
const serviceOfTargetGroup = (arn: string): ServiceName => {
  const group = targetGroups.find((candidate) => candidate.state.arn === arn);
  if (!group) throw new Error(`no target group ${arn}`);
  return group.inputs.tags.Service;
};

/** The listener rules as deployed, read back from their resources. */
const deployedRules: (RouteRule & { name: string; conditions: any[] })[] = deployment
  .ofType(TYPES.listenerRule)
  .map((rule) => {
    const { conditions, actions, priority } = rule.inputs;
    if (actions.length !== 1 || actions[0].type !== 'forward')
      throw new Error(`${rule.name}: expected one forward action`);
    return {
      name: rule.name,
      conditions,
      priority,
      service: serviceOfTargetGroup(actions[0].targetGroupArn),
      methods: conditions.flatMap((condition: any) => condition.httpRequestMethod?.values ?? []),
      pathPatterns: conditions.flatMap((condition: any) => condition.pathPattern?.values ?? []),
    };
  });

t.test('the listener rules are the routing table', async (t) => {
  const expected = albListenerRules(routingRules).map(({ priority, service, methods, pathPatterns }) => ({
    priority,
    service,
    methods,
    pathPatterns,
  }));
  const actual = deployedRules
    .map(({ priority, service, methods, pathPatterns }) => ({ priority, service, methods, pathPatterns }))
    .sort((a, b) => a.priority - b.priority);
  t.same(actual, expected);
});

t.test('each listener rule has one method and one path condition within the ALB limits', async (t) => {
  for (const rule of deployedRules) {
    t.equal(rule.conditions.length, 2, `${rule.name}: two conditions`);
    t.equal(
      rule.conditions.filter((condition) => condition.httpRequestMethod).length,
      1,
      `${rule.name}: one method condition`,
    );
    t.equal(rule.conditions.filter((condition) => condition.pathPattern).length, 1, `${rule.name}: one path condition`);
    t.ok(
      rule.methods.length <= ALB_VALUES_PER_CONDITION && rule.pathPatterns.length <= ALB_VALUES_PER_CONDITION,
      `${rule.name}: ≤ 3 per condition`,
    );
    t.ok(rule.methods.length + rule.pathPatterns.length <= ALB_VALUES_PER_RULE, `${rule.name}: ≤ 5 per rule`);
  }
});

t.test('the deployed ALB sends reads to todo-read and writes to todo-write', async (t) => {
  const listener = deployment.named(TYPES.listener, 'taskoverflow-http');
  const [defaultAction] = listener.inputs.defaultActions;
  t.equal(defaultAction.type, 'forward');
  const albDefault = serviceOfTargetGroup(defaultAction.targetGroupArn);
  t.equal(albDefault, defaultService, "the default action is the table's default service");

  for (const operation of apiOperations) {
    const path = operation.url.replace(/:[^/]+/g, '7');
    t.equal(
      routeLikeAlb(deployedRules, albDefault, operation.method, path),
      serviceOf(operation),
      `${operation.method} ${operation.url}`,
    );
  }
  for (const method of SAMPLE_METHODS) {
    for (const path of SAMPLE_PATHS) {
      t.equal(routeLikeAlb(deployedRules, albDefault, method, path), routeRequest(method, path), `${method} ${path}`);
    }
  }
});

t.test('ALB access logs go to a private, encrypted bucket whose objects expire', async (t) => {
  const alb = deployment.named(TYPES.loadBalancer, 'taskoverflow');
  const bucket = deployment.named(TYPES.bucket, 'taskoverflow-access-logs');
  t.same(alb.inputs.accessLogs, { bucket: bucket.state.bucket, enabled: true });
  t.equal(deployment.outputs.accessLogBucket, bucket.state.bucket, 'exported');
  t.match(deployment.named(TYPES.bucketPublicAccessBlock, 'taskoverflow-access-logs').inputs, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  t.same(deployment.named(TYPES.bucketEncryption, 'taskoverflow-access-logs').inputs.rules, [
    { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } },
  ]);
  const [rule, ...others] = deployment.named(TYPES.bucketLifecycle, 'taskoverflow-access-logs').inputs.rules;
  t.equal(others.length, 0);
  t.match(rule, { status: 'Enabled', expiration: { days: 90 } }, 'kept 90 days by default');

  const policy = JSON.parse(deployment.named(TYPES.bucketPolicy, 'taskoverflow-access-logs').inputs.policy);
  const [delivery, tlsOnly] = policy.Statement;
  t.same(
    delivery,
    {
      Sid: 'ElbLogDelivery',
      Effect: 'Allow',
      Principal: { AWS: MOCK_ELB_ACCOUNT_ARN, Service: 'logdelivery.elasticloadbalancing.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: `${bucket.state.arn}/AWSLogs/${MOCK_ACCOUNT}/*`,
    },
    "the region's ELB account and the log-delivery service may write this account's logs, nothing else",
  );
  t.match(
    tlsOnly,
    { Effect: 'Deny', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    'TLS only',
  );
});

t.test("the ALB closes idle connections before the services' keep-alive does", async (t) => {
  const alb = deployment.named(TYPES.loadBalancer, 'taskoverflow');
  t.ok(
    alb.inputs.idleTimeout * 1000 < KEEP_ALIVE_TIMEOUT_MS,
    `idle timeout ${alb.inputs.idleTimeout} s < keep-alive ${KEEP_ALIVE_TIMEOUT_MS} ms`,
  );
});

t.test('one target group per service, health-checked on the health route', async (t) => {
  t.same(targetGroups.map((group) => group.inputs.tags.Service).sort(), [...SERVICES].sort());
  for (const group of targetGroups) {
    const service = group.inputs.tags.Service as ServiceName;
    t.match(
      group.inputs,
      {
        targetType: 'ip',
        protocol: 'HTTP',
        port: CONTAINER_PORTS[service],
        healthCheck: { path: HEALTH_PATH, matcher: '200' },
      },
      service,
    );
    // Long enough for in-flight requests, short enough that a deploy does not wait minutes.
    t.ok(
      group.inputs.deregistrationDelay <= 30,
      `${service}: deregistration delay ${group.inputs.deregistrationDelay} s`,
    );
    t.ok(
      group.inputs.deregistrationDelay * 1000 >= SHUTDOWN_GRACE_MS,
      `${service}: drains at least as long as the shutdown grace`,
    );
  }
});
