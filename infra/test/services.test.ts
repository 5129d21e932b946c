import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { ROLE_PASSWORD_VARIABLES, SERVICE_ROLES } from '@taskoverflow/db/roles';
import { SHUTDOWN_GRACE_MS } from '@taskoverflow/http-kit';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import t from 'tap';
import { OWNER_ROLE } from '../src/database.js';
import { CONTAINER_PORTS } from '../src/ports.js';
import { MIGRATE_COMMAND } from '../src/services.js';
import { AWS_IMAGE_STAGE, deploymentProblem, type DescribedService } from '../src/todo-service.js';
import { deployWithMocks, MOCK_RDS_CA_BUNDLE_SHA256, MOCK_REGION, TYPES } from './helpers/mock-deployment.js';

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
  // (12 + 2) × 15 + 2 connections, twice over during a deployment, need a larger instance.
  dbInstanceClass: 'db.m7g.large',
  alarmEmail: 'oncall@example.com',
  pgStatementTimeoutMs: '8000',
  rateLimitMaxRequests: '600',
  rateLimitWindowSeconds: '30',
  logRetentionDays: '30',
});

const infraDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

interface Container {
  name: string;
  image: string;
  essential: boolean;
  command?: string[];
  dependsOn?: { containerName: string; condition: string }[];
  portMappings?: { containerPort: number }[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  stopTimeout?: number;
  readonlyRootFilesystem: boolean;
  logConfiguration: { logDriver: string; options: Record<string, string> };
}

/** A service's task definition, its containers by name, and the service's own container. */
function taskOf(service: ServiceName) {
  const taskDefinition = deployment.named(TYPES.taskDefinition, `taskoverflow-${service}`);
  const containers: Container[] = JSON.parse(taskDefinition.inputs.containerDefinitions);
  const container = containers.find((candidate) => candidate.name === service);
  if (!container) throw new Error(`${service}: no container named ${service}`);
  const environment = Object.fromEntries(container.environment.map(({ name, value }) => [name, value]));
  return { taskDefinition, containers, container, environment };
}
const secretArnOf = (name: string) => deployment.named(TYPES.secret, name).state.arn;

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
    t.match(
      ecsService.inputs,
      {
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
      },
      service,
    );
  }
});

t.test('both services get the variables their config reads, each its own database role', async (t) => {
  const db = deployment.ofType(TYPES.rdsInstance)[0]!;
  for (const service of SERVICES) {
    const { container, environment } = taskOf(service);
    t.same(
      container.portMappings!.map((mapping) => mapping.containerPort),
      [CONTAINER_PORTS[service]],
      `${service}: port`,
    );
    t.match(
      environment,
      {
        PORT: String(CONTAINER_PORTS[service]),
        LOG_LEVEL: 'debug',
        PG_POOL_MAX: '15',
        PG_STATEMENT_TIMEOUT_MS: '8000',
        RATE_LIMIT_MAX_REQUESTS: '600',
        RATE_LIMIT_WINDOW_S: '30',
        TRUST_PROXY_HOPS: '1',
      },
      service,
    );
    const databaseUrl = new URL(environment.DATABASE_URL!);
    t.match(
      {
        protocol: databaseUrl.protocol,
        host: databaseUrl.hostname,
        user: databaseUrl.username,
        sslmode: databaseUrl.searchParams.get('sslmode'),
      },
      { protocol: 'postgres:', host: db.state.address, user: SERVICE_ROLES[service], sslmode: 'verify-full' },
      `${service}: DATABASE_URL names the RDS instance, logs in as the service's role and verifies the certificate`,
    );
    t.same(
      container.secrets,
      [
        { name: 'PGPASSWORD', valueFrom: secretArnOf(`taskoverflow-db-${service}`) },
        { name: 'REDIS_URL', valueFrom: secretArnOf('taskoverflow-cache-url') },
      ],
      `${service}: its role's password and the cache URL (with the AUTH token) come from Secrets Manager`,
    );
    t.notOk('MIGRATE_ON_START' in environment, `${service}: does not migrate itself (its role may not)`);
    t.notOk('CLOUDWATCH_LOG_GROUP' in environment, `${service}: awslogs ships stdout, so the in-process CloudWatch transport stays off`);
  }
});

t.test('todo-write tasks migrate first, as the schema owner, in a container the service waits for', async (t) => {
  const { containers, container } = taskOf('todo-write');
  t.same(
    containers.map((candidate) => candidate.name),
    ['migrate', 'todo-write'],
  );
  const migrate = containers[0]!;
  t.match(migrate, { essential: false, command: MIGRATE_COMMAND, image: container.image, readonlyRootFilesystem: true });
  t.same(container.dependsOn, [{ containerName: 'migrate', condition: 'SUCCESS' }], 'todo-write starts only after a successful migration');
  const environment = Object.fromEntries(migrate.environment.map(({ name, value }) => [name, value]));
  t.same(Object.keys(environment), ['DATABASE_URL']);
  t.equal(new URL(environment.DATABASE_URL!).username, OWNER_ROLE, 'migrates as the schema owner');
  t.same(
    migrate.secrets,
    [
      { name: 'PGPASSWORD', valueFrom: secretArnOf('taskoverflow-db-owner') },
      { name: ROLE_PASSWORD_VARIABLES['todo-read'], valueFrom: secretArnOf('taskoverflow-db-todo-read') },
      { name: ROLE_PASSWORD_VARIABLES['todo-write'], valueFrom: secretArnOf('taskoverflow-db-todo-write') },
    ],
    "the owner's password, and the service roles' to set",
  );
  t.same(
    taskOf('todo-read').containers.map((candidate) => candidate.name),
    ['todo-read'],
    'todo-read tasks run the service alone',
  );

  // MIGRATE_COMMAND runs @taskoverflow/db's migrate CLI, which todo-write's image contains.
  t.equal(MIGRATE_COMMAND[1], 'node_modules/@taskoverflow/db/dist/cli/migrate.js');
  const writePackage = JSON.parse(readFileSync(new URL('../../services/todo-write/package.json', import.meta.url), 'utf8'));
  t.equal(writePackage.dependencies['@taskoverflow/db'], 'workspace:*', 'todo-write depends on @taskoverflow/db (pnpm deploy ships it)');
  const cli = readFileSync(new URL('../../packages/db/src/cli/migrate.ts', import.meta.url), 'utf8');
  t.match(cli, /migrateDatabaseAt\(url, '[^']+', passwords\)/, 'the CLI migrates, then sets the role passwords it read');
});

t.test('a deploy counts only once ECS runs what it registered', async (t) => {
  for (const service of SERVICES) {
    t.equal(
      (deployment.outputs.deployedTaskDefinitions as Record<string, string>)[service],
      taskOf(service).taskDefinition.state.arn,
      `${service}: the verified task definition is the one this update registered`,
    );
  }
  const registered = 'arn:aws:ecs:eu-west-1:1:task-definition/new:2';
  const steady = (overrides: Partial<DescribedService> = {}): DescribedService => ({
    taskDefinition: registered,
    deployments: [
      {
        status: 'PRIMARY',
        taskDefinition: registered,
        desiredCount: 2,
        runningCount: 2,
        pendingCount: 0,
        createdAt: '',
        id: 'd',
        updatedAt: '',
      },
    ],
    events: [{ message: 'has reached a steady state.', createdAt: '', id: 'e' }],
    ...overrides,
  });
  t.equal(deploymentProblem(steady(), registered), undefined, 'steady on the new task definition');
  t.match(
    deploymentProblem(steady({ taskDefinition: 'arn:aws:ecs:eu-west-1:1:task-definition/new:1' }), registered),
    /^the deployment was rolled back: the service runs arn:aws:ecs:eu-west-1:1:task-definition\/new:1, not arn:aws:ecs:eu-west-1:1:task-definition\/new:2 .* Recent events: has reached a steady state\.$/,
  );
  const starved = steady();
  starved.deployments[0]!.runningCount = 0;
  t.match(deploymentProblem(starved, registered), /^the deployment runs 0 of 2 tasks/, 'a first deploy that never got a task running');
  const two = steady();
  two.deployments.push({ ...two.deployments[0]!, status: 'ACTIVE' });
  t.match(deploymentProblem(two, registered), /^the service is not steady: 2 deployments/);
});

t.test("ECS waits longer than the services' shutdown grace before killing a task", async (t) => {
  for (const service of SERVICES) {
    t.ok(
      taskOf(service).container.stopTimeout! * 1000 > SHUTDOWN_GRACE_MS,
      `${service}: stopTimeout ${taskOf(service).container.stopTimeout} s`,
    );
  }
});

t.test("logs go to the stack's log group through awslogs, non-blocking with an explicit buffer", async (t) => {
  const [logGroup, ...others] = deployment.ofType(TYPES.logGroup);
  t.equal(others.length, 0, 'one log group');
  t.match(logGroup!.inputs, { name: 'taskoverflow-test', retentionInDays: 30 });
  const containers = SERVICES.flatMap((service) => taskOf(service).containers.map((container) => ({ service, container })));
  t.equal(containers.length, 3, 'todo-read, migrate and todo-write');
  for (const { service, container } of containers) {
    t.same(
      container.logConfiguration,
      {
        logDriver: 'awslogs',
        options: {
          'awslogs-group': 'taskoverflow-test',
          'awslogs-region': MOCK_REGION,
          'awslogs-stream-prefix': service,
          mode: 'non-blocking',
          'max-buffer-size': '25m',
        },
      },
      container.name,
    );
  }
  t.equal(deployment.outputs.logGroupName, 'taskoverflow-test', 'exported');
});

t.test("each image is built from the repository's Dockerfile, for the service, and runs in its task", async (t) => {
  for (const service of SERVICES) {
    const image = deployment.named(TYPES.image, `taskoverflow-${service}`);
    const repository = deployment.named('aws:ecr/repository:Repository', `taskoverflow-${service}`);
    t.equal(resolvePath(infraDir, image.inputs.context), resolvePath(repoRoot), `${service}: context is the repository root`);
    const dockerfile = resolvePath(infraDir, image.inputs.dockerfile);
    t.equal(dockerfile, resolvePath(repoRoot, 'Dockerfile'), `${service}: the root Dockerfile`);
    t.ok(existsSync(dockerfile), `${service}: the Dockerfile exists`);
    t.same(
      image.inputs.args,
      { PACKAGE_DIR: `services/${service}`, PORT: String(CONTAINER_PORTS[service]), RDS_CA_BUNDLE_SHA256: MOCK_RDS_CA_BUNDLE_SHA256 },
      `${service}: built for this service and its port, checking the CA bundle against the configured SHA-256`,
    );
    t.ok(existsSync(resolvePath(repoRoot, image.inputs.args.PACKAGE_DIR, 'package.json')), `${service}: PACKAGE_DIR is a workspace package`);
    t.match(image.inputs, { repositoryUrl: repository.state.repositoryUrl, platform: 'linux/amd64' });
    t.equal(image.inputs.target, AWS_IMAGE_STAGE, `${service}: the Dockerfile's stage with the verified RDS CA bundle (containers.test.ts)`);
    t.equal(taskOf(service).container.image, image.state.imageUri, `${service}: the task runs the built image`);
  }
});

t.test('with alarmEmail, every alarm notifies one SNS topic that address is subscribed to', async (t) => {
  const [topic, ...otherTopics] = deployment.ofType(TYPES.snsTopic);
  t.equal(otherTopics.length, 0, 'one topic');
  const subscriptions = deployment.ofType(TYPES.snsSubscription);
  t.same(
    subscriptions.map((subscription) => subscription.inputs),
    [{ topic: topic!.state.arn, protocol: 'email', endpoint: 'oncall@example.com' }],
  );
  const alarms = deployment.ofType(TYPES.metricAlarm);
  t.equal(alarms.length, 14, 'all 14 alarms');
  for (const alarm of alarms) {
    t.same([alarm.inputs.alarmActions, alarm.inputs.okActions], [[topic!.state.arn], [topic!.state.arn]], alarm.name);
  }
  t.equal(deployment.outputs.alarmTopicArn, topic!.state.arn, 'exported');
});
