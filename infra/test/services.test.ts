import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHUTDOWN_GRACE_MS } from '@taskoverflow/http-kit';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import t from 'tap';
import { CONTAINER_PORTS } from '../src/ports.js';
import { deployWithMocks, MOCK_REGION, TYPES } from './helpers/mock-deployment.js';

/** A stack sized as the practical's fix: every number differs from its default. */
const deployment = await deployWithMocks({
  readCpu: '4096',
  readMemory: '8192',
  readMinCount: '3',
  readMaxCount: '12',
  readCpuTargetPercent: '55',
  readRequestsPerTarget: '700',
  writeCpu: '2048',
  writeMemory: '4096',
  writeDesiredCount: '2',
  logLevel: 'debug',
  pgPoolMax: '15',
  pgStatementTimeoutMs: '8000',
  rateLimitMaxRequests: '600',
  rateLimitWindowSeconds: '30',
  logRetentionDays: '30',
});

const infraDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface Container {
  name: ServiceName;
  image: string;
  portMappings: { containerPort: number }[];
  environment: { name: string; value: string }[];
  stopTimeout: number;
  logConfiguration: { logDriver: string; options: Record<string, string> };
}

function taskOf(service: ServiceName) {
  const taskDefinition = deployment.named(TYPES.taskDefinition, `taskoverflow-${service}`);
  const containers: Container[] = JSON.parse(taskDefinition.inputs.containerDefinitions);
  if (containers.length !== 1) throw new Error(`${service}: expected one container, found ${containers.length}`);
  const container = containers[0]!;
  const environment = Object.fromEntries(container.environment.map(({ name, value }) => [name, value]));
  return { taskDefinition, container, environment };
}

t.test('task sizes come from config', async (t) => {
  t.match(taskOf('todo-read').taskDefinition.inputs, { cpu: '4096', memory: '8192', requiresCompatibilities: ['FARGATE'] });
  t.match(taskOf('todo-write').taskDefinition.inputs, { cpu: '2048', memory: '4096', requiresCompatibilities: ['FARGATE'] });
});

t.test('todo-read scales between the configured bounds on CPU and on requests per task', async (t) => {
  const read = deployment.named(TYPES.ecsService, 'taskoverflow-todo-read');
  t.equal(read.inputs.desiredCount, 3, 'starts at the minimum');

  const [target, ...others] = deployment.ofType(TYPES.scalableTarget);
  t.equal(others.length, 0, 'only todo-read autoscales');
  t.match(target!.inputs, {
    serviceNamespace: 'ecs',
    scalableDimension: 'ecs:service:DesiredCount',
    minCapacity: 3,
    maxCapacity: 12,
    resourceId: `service/${deployment.ofType('aws:ecs/cluster:Cluster')[0]!.state.name}/${read.state.name}`,
  });

  const policies = Object.fromEntries(
    deployment.ofType(TYPES.scalingPolicy).map((policy) => {
      t.equal(policy.inputs.policyType, 'TargetTrackingScaling');
      t.equal(policy.inputs.resourceId, target!.inputs.resourceId, `${policy.name} scales todo-read`);
      const { predefinedMetricSpecification, targetValue } = policy.inputs.targetTrackingScalingPolicyConfiguration;
      return [predefinedMetricSpecification.predefinedMetricType, { targetValue, label: predefinedMetricSpecification.resourceLabel }];
    }),
  );
  const alb = deployment.named(TYPES.loadBalancer, 'taskoverflow');
  const readTargetGroup = deployment.named(TYPES.targetGroup, 'taskoverflow-todo-read');
  t.same(policies, {
    ECSServiceAverageCPUUtilization: { targetValue: 55, label: undefined },
    ALBRequestCountPerTarget: { targetValue: 700, label: `${alb.state.arnSuffix}/${readTargetGroup.state.arnSuffix}` },
  });
});

t.test('todo-write runs the configured count and is not autoscaled', async (t) => {
  t.equal(deployment.named(TYPES.ecsService, 'taskoverflow-todo-write').inputs.desiredCount, 2);
});

t.test('each service runs on Fargate behind its target group, with rolling, self-reverting deploys', async (t) => {
  const cluster = deployment.ofType('aws:ecs/cluster:Cluster')[0]!;
  for (const service of SERVICES) {
    const ecsService = deployment.named(TYPES.ecsService, `taskoverflow-${service}`);
    const { taskDefinition } = taskOf(service);
    t.match(ecsService.inputs, {
      cluster: cluster.state.arn,
      launchType: 'FARGATE',
      taskDefinition: taskDefinition.state.arn,
      loadBalancers: [
        {
          targetGroupArn: deployment.named(TYPES.targetGroup, `taskoverflow-${service}`).state.arn,
          containerName: service,
          containerPort: CONTAINER_PORTS[service],
        },
      ],
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMinimumHealthyPercent: 100,
      waitForSteadyState: true,
    }, service);
  }
});

t.test('both services get the variables their config reads; only todo-write migrates', async (t) => {
  const cache = deployment.ofType(TYPES.replicationGroup)[0]!;
  const db = deployment.ofType(TYPES.rdsInstance)[0]!;
  for (const service of SERVICES) {
    const { container, environment } = taskOf(service);
    t.same(container.portMappings.map((mapping) => mapping.containerPort), [CONTAINER_PORTS[service]], `${service}: port`);
    t.match(environment, {
      PORT: String(CONTAINER_PORTS[service]),
      LOG_LEVEL: 'debug',
      PG_POOL_MAX: '15',
      PG_STATEMENT_TIMEOUT_MS: '8000',
      RATE_LIMIT_MAX_REQUESTS: '600',
      RATE_LIMIT_WINDOW_S: '30',
      TRUST_PROXY_HOPS: '1',
      REDIS_URL: `redis://${cache.state.primaryEndpointAddress}:6379`,
    }, service);
    const databaseUrl = new URL(environment.DATABASE_URL!);
    t.match(
      { protocol: databaseUrl.protocol, host: databaseUrl.hostname, user: databaseUrl.username, sslmode: databaseUrl.searchParams.get('sslmode') },
      { protocol: 'postgres:', host: db.state.address, user: 'taskoverflow', sslmode: 'verify-full' },
      `${service}: DATABASE_URL names the RDS instance and verifies its certificate`,
    );
    t.equal(environment.MIGRATE_ON_START, service === 'todo-write' ? 'true' : undefined, `${service}: MIGRATE_ON_START`);
    t.notOk('CLOUDWATCH_LOG_GROUP' in environment, `${service}: awslogs ships stdout, so the in-process CloudWatch transport stays off`);
  }
});

t.test("ECS waits longer than the services' shutdown grace before killing a task", async (t) => {
  for (const service of SERVICES) {
    t.ok(taskOf(service).container.stopTimeout * 1000 > SHUTDOWN_GRACE_MS, `${service}: stopTimeout ${taskOf(service).container.stopTimeout} s`);
  }
});

t.test('logs go to the log group through awslogs, one stream prefix per service', async (t) => {
  const logGroup = deployment.ofType(TYPES.logGroup)[0]!;
  t.match(logGroup.inputs, { name: 'taskoverflow', retentionInDays: 30 });
  for (const service of SERVICES) {
    t.same(taskOf(service).container.logConfiguration, {
      logDriver: 'awslogs',
      options: { 'awslogs-group': 'taskoverflow', 'awslogs-region': MOCK_REGION, 'awslogs-stream-prefix': service },
    }, service);
  }
  t.equal(deployment.outputs.logGroupName, 'taskoverflow', 'exported');
});

t.test("each image is built from the repository's Dockerfile, for the service, and runs in its task", async (t) => {
  for (const service of SERVICES) {
    const image = deployment.named(TYPES.image, `taskoverflow-${service}`);
    const repository = deployment.named('aws:ecr/repository:Repository', `taskoverflow-${service}`);
    t.equal(resolvePath(infraDir, image.inputs.context), resolvePath(repoRoot), `${service}: context is the repository root`);
    const dockerfile = resolvePath(infraDir, image.inputs.dockerfile);
    t.equal(dockerfile, resolvePath(repoRoot, 'Dockerfile'), `${service}: the root Dockerfile`);
    t.ok(existsSync(dockerfile), `${service}: the Dockerfile exists`);
    t.same(image.inputs.args, { PACKAGE_DIR: `services/${service}`, PORT: String(CONTAINER_PORTS[service]) }, `${service}: built for this service and its port`);
    t.ok(existsSync(resolvePath(repoRoot, image.inputs.args.PACKAGE_DIR, 'package.json')), `${service}: PACKAGE_DIR is a workspace package`);
    t.match(image.inputs, { repositoryUrl: repository.state.repositoryUrl, platform: 'linux/amd64' });
    t.equal(taskOf(service).container.image, image.state.imageUri, `${service}: the task runs the built image`);
  }
});
