import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import {
  MIGRATION_PASSWORD_VARIABLE,
  MIGRATION_ROLE,
  ROLE_PASSWORD_VARIABLES,
  SERVICE_ROLES,
} from '@taskoverflow/db/roles';
import { SHUTDOWN_GRACE_MS } from '@taskoverflow/http-kit';
import { SERVICES, type ServiceName } from '@taskoverflow/routing';
import t from 'tap';
import { MASTER_USER } from '../src/database.js';
import { BOOTSTRAP_COMMAND, MIGRATE_COMMAND, MIGRATION_STREAM_PREFIX, RUNNER_SOURCE } from '../src/migration-task.js';
import { CONTAINER_PORTS } from '../src/ports.js';
import { AWS_IMAGE_STAGE } from '../src/todo-service.js';
import {
  deployWithMocks,
  MOCK_MASTER_SECRET_ARN,
  MOCK_RDS_CA_BUNDLE_SHA256,
  MOCK_REGION,
  mockVersionId,
  TYPES,
} from './helpers/mock-deployment.js';

const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

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
  writeRateLimitMaxRequests: '300',
  rateLimitWindowSeconds: '30',
  logRetentionDays: '30',
  // HTTPS with a certificate that exists, served under its own name; a WAF on a lab stack.
  certificateArn: CERTIFICATE_ARN,
  domainName: 'api.example.com',
  waf: 'true',
  dbPasswordGeneration: '3',
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
  t.match(taskOf('todo-read').taskDefinition.inputs, {
    cpu: '4096',
    memory: '8192',
    requiresCompatibilities: ['FARGATE'],
  });
  t.match(taskOf('todo-write').taskDefinition.inputs, {
    cpu: '2048',
    memory: '4096',
    requiresCompatibilities: ['FARGATE'],
  });
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
      return [
        predefinedMetricSpecification.predefinedMetricType,
        { targetValue, label: predefinedMetricSpecification.resourceLabel },
      ];
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
        RATE_LIMIT_MAX_REQUESTS: service === 'todo-read' ? '600' : '300',
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
    t.notOk(
      'CLOUDWATCH_LOG_GROUP' in environment,
      `${service}: awslogs ships stdout, so the in-process CloudWatch transport stays off`,
    );
  }
});

/** The migration task's containers, by name. */
function migrationContainers(): Record<string, Container> {
  const taskDefinition = deployment.named(TYPES.taskDefinition, 'taskoverflow-migration');
  const containers: Container[] = JSON.parse(taskDefinition.inputs.containerDefinitions);
  return Object.fromEntries(containers.map((container) => [container.name, container]));
}
const environmentOf = (container: Container) =>
  Object.fromEntries(container.environment.map(({ name, value }) => [name, value]));

t.test('no service task migrates: todo-read and todo-write run their service alone', async (t) => {
  for (const service of SERVICES) {
    t.same(
      taskOf(service).containers.map((candidate) => candidate.name),
      [service],
      service,
    );
  }
});

t.test('a one-shot task migrates: bootstrap (the master user) first, then migrate (the migration role)', async (t) => {
  const { bootstrap, migrate, ...others } = migrationContainers();
  t.same(Object.keys(others), [], 'two containers');
  const image = taskOf('todo-write').container.image;
  t.match(bootstrap, { essential: false, command: BOOTSTRAP_COMMAND, image, readonlyRootFilesystem: true });
  t.match(
    migrate,
    { essential: true, command: MIGRATE_COMMAND, image, readonlyRootFilesystem: true },
    "todo-write's image",
  );
  t.same(
    migrate!.dependsOn,
    [{ containerName: 'bootstrap', condition: 'SUCCESS' }],
    'migrate runs only after a successful bootstrap',
  );
  t.equal(
    new URL(environmentOf(bootstrap!).DATABASE_URL!).username,
    MASTER_USER,
    'bootstrap logs in as the RDS master user',
  );
  t.same(
    bootstrap!.secrets,
    [
      { name: 'PGPASSWORD', valueFrom: `${MOCK_MASTER_SECRET_ARN}:password::` },
      { name: MIGRATION_PASSWORD_VARIABLE, valueFrom: secretArnOf('taskoverflow-db-migration') },
    ],
    "RDS's managed master password (its JSON key), and the migration role's password to set",
  );
  t.equal(
    new URL(environmentOf(migrate!).DATABASE_URL!).username,
    MIGRATION_ROLE,
    'migrate logs in as the migration role',
  );
  t.same(
    migrate!.secrets,
    [
      { name: 'PGPASSWORD', valueFrom: secretArnOf('taskoverflow-db-migration') },
      { name: ROLE_PASSWORD_VARIABLES['todo-read'], valueFrom: secretArnOf('taskoverflow-db-todo-read') },
      { name: ROLE_PASSWORD_VARIABLES['todo-write'], valueFrom: secretArnOf('taskoverflow-db-todo-write') },
    ],
    "its own password, and the service roles' to set",
  );
  for (const container of [bootstrap!, migrate!]) {
    t.equal(
      container.logConfiguration.options['awslogs-stream-prefix'],
      MIGRATION_STREAM_PREFIX,
      `${container.name}: logs as migration/…`,
    );
  }

  // The commands run @taskoverflow/db's migrate CLI, which todo-write's image contains.
  t.equal(MIGRATE_COMMAND[1], 'node_modules/@taskoverflow/db/dist/cli/migrate.js');
  const writePackage = JSON.parse(
    readFileSync(new URL('../../services/todo-write/package.json', import.meta.url), 'utf8'),
  );
  t.equal(
    writePackage.dependencies['@taskoverflow/db'],
    'workspace:*',
    'todo-write depends on @taskoverflow/db (pnpm deploy ships it)',
  );
  const cli = readFileSync(new URL('../../packages/db/src/cli/migrate.ts', import.meta.url), 'utf8');
  t.match(cli, /args\.includes\('--bootstrap'\)/, 'the CLI takes --bootstrap');
});

t.test('pulumi up runs the migration task once per deploy, before todo-write changes', async (t) => {
  const [invocation, ...others] = deployment.ofType(TYPES.lambdaInvocation);
  t.equal(others.length, 0, 'one invocation');
  const runner = deployment.named(TYPES.lambdaFunction, 'taskoverflow-migration-runner');
  t.equal(invocation!.inputs.functionName, runner.state.name, 'of the runner function');
  t.match(runner.inputs, { handler: 'index.handler', runtime: 'nodejs22.x', timeout: 900 });
  t.ok(existsSync(RUNNER_SOURCE), 'whose source exists');
  t.same(
    invocation!.inputs.triggers,
    { taskDefinition: deployment.named(TYPES.taskDefinition, 'taskoverflow-migration').state.arn },
    'triggered again by a new task definition',
  );
  const taskDefinition = deployment.named(TYPES.taskDefinition, 'taskoverflow-migration');
  t.same(
    JSON.parse(invocation!.inputs.input),
    {
      cluster: deployment.ofType('aws:ecs/cluster:Cluster')[0]!.state.arn,
      taskDefinition: taskDefinition.state.arn,
      subnets: ['subnet-private-a', 'subnet-private-b'],
      securityGroups: [deployment.named(TYPES.securityGroup, 'taskoverflow-migration').id],
      logGroup: 'taskoverflow-test',
      streamPrefix: MIGRATION_STREAM_PREFIX,
    },
    'its input names the task definition: a new one (new image, migrations or passwords) runs it again',
  );
  const writeService = deployment.named(TYPES.ecsService, 'taskoverflow-todo-write');
  t.ok(writeService.registeredAt > invocation!.finishedAt, 'todo-write changes only once the migration finished');

  const policy = JSON.parse(deployment.named(TYPES.iamRolePolicy, 'taskoverflow-migration-runner').inputs.policy);
  t.same(
    policy.Statement.map((statement: any) => [statement.Action, statement.Resource]),
    [
      [['ecs:RunTask'], `${taskDefinition.state.arnWithoutRevision}:*`],
      [['ecs:DescribeTasks'], '*'],
      [['iam:PassRole'], deployment.named(TYPES.iamRole, 'taskoverflow-migration-execution').state.arn],
      [
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
        `${deployment.ofType(TYPES.logGroup)[0]!.state.arn}:log-stream:*`,
      ],
    ],
    'the runner may run this task family (in this cluster), read its tasks and pass its execution role, nothing else',
  );
});

t.test('a new password changes every task definition that reads it (rotation redeploys)', async (t) => {
  const versionOf = (name: string) => deployment.named(TYPES.secretVersion, name);
  for (const version of deployment.ofType(TYPES.secretVersion)) {
    t.equal(
      version.state.versionId,
      mockVersionId(version.inputs.secretString),
      `${version.name}: a version per value`,
    );
  }
  const expected = (names: string[]) =>
    createHash('sha256')
      .update(names.map((name) => versionOf(name).state.versionId).join('\n'))
      .digest('hex')
      .slice(0, 16);
  t.equal(
    taskOf('todo-read').environment.CREDENTIALS_REVISION,
    expected(['taskoverflow-db-todo-read', 'taskoverflow-cache-url']),
    'todo-read',
  );
  t.equal(
    taskOf('todo-write').environment.CREDENTIALS_REVISION,
    expected(['taskoverflow-db-todo-write', 'taskoverflow-cache-url']),
    'todo-write',
  );
  t.equal(
    environmentOf(migrationContainers().migrate!).CREDENTIALS_REVISION,
    expected(['taskoverflow-db-migration', 'taskoverflow-db-todo-read', 'taskoverflow-db-todo-write']),
    'the migration task, which sets the new passwords first',
  );
  const passwords = deployment
    .ofType(TYPES.randomPassword)
    .filter((candidate) => candidate.name.startsWith('taskoverflow-db-'));
  t.equal(passwords.length, 3);
  for (const password of passwords)
    t.same(password.inputs.keepers, { generation: '3' }, `${password.name}: dbPasswordGeneration renews it`);
});

t.test('HTTPS with the configured certificate; port 80 redirects; the URL is the domain', async (t) => {
  const https = deployment.named(TYPES.listener, 'taskoverflow-https');
  t.match(https.inputs, {
    port: 443,
    protocol: 'HTTPS',
    certificateArn: CERTIFICATE_ARN,
    sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
  });
  t.same(deployment.named(TYPES.listener, 'taskoverflow-http').inputs.defaultActions, [
    { type: 'redirect', redirect: { protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' } },
  ]);
  t.same(deployment.ofType(TYPES.certificate), [], 'no certificate requested');
  t.equal(deployment.outputs.url, 'https://api.example.com');
  t.equal(deployment.outputs.tls, `on — HTTPS on 443 with ${CERTIFICATE_ARN}; port 80 redirects`);
  const rules = deployment.ofType(TYPES.listenerRule);
  t.ok(rules.length > 0);
  for (const rule of rules) t.equal(rule.inputs.listenerArn, https.state.arn, `${rule.name}: on the HTTPS listener`);
});

t.test(
  "waf=true puts the rate-limiting WAF in front of a lab stack too, sized from the services' own limit",
  async (t) => {
    const webAcl = deployment.named(TYPES.webAcl, 'taskoverflow-waf');
    // 600 and 300 per 30 s = 1,200 + 600 a minute; × 5 minutes × 2 = 18,000.
    t.equal(webAcl.inputs.rules[0].statement.rateBasedStatement.limit, 18_000);
    t.equal(deployment.outputs.webAclArn, webAcl.state.arn);
  },
);

t.test('a deploy counts only once ECS runs what it registered', async (t) => {
  for (const service of SERVICES) {
    t.equal(
      (deployment.outputs.deployedTaskDefinitions as Record<string, string>)[service],
      taskOf(service).taskDefinition.state.arn,
      `${service}: the verified task definition is the one this update registered`,
    );
  }
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
  const containers = SERVICES.flatMap((service) =>
    taskOf(service).containers.map((container) => ({ service, container })),
  );
  t.equal(containers.length, 2, 'todo-read and todo-write');
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
    t.equal(
      resolvePath(infraDir, image.inputs.context),
      resolvePath(repoRoot),
      `${service}: context is the repository root`,
    );
    const dockerfile = resolvePath(infraDir, image.inputs.dockerfile);
    t.equal(dockerfile, resolvePath(repoRoot, 'Dockerfile'), `${service}: the root Dockerfile`);
    t.ok(existsSync(dockerfile), `${service}: the Dockerfile exists`);
    t.same(
      image.inputs.args,
      {
        PACKAGE_DIR: `services/${service}`,
        PORT: String(CONTAINER_PORTS[service]),
        RDS_CA_BUNDLE_SHA256: MOCK_RDS_CA_BUNDLE_SHA256,
      },
      `${service}: built for this service and its port, checking the CA bundle against the configured SHA-256`,
    );
    t.ok(
      existsSync(resolvePath(repoRoot, image.inputs.args.PACKAGE_DIR, 'package.json')),
      `${service}: PACKAGE_DIR is a workspace package`,
    );
    t.match(image.inputs, { repositoryUrl: repository.state.repositoryUrl, platform: 'linux/amd64' });
    t.equal(
      image.inputs.target,
      AWS_IMAGE_STAGE,
      `${service}: the Dockerfile's stage with the verified RDS CA bundle (containers.test.ts)`,
    );
    t.equal(taskOf(service).container.image, image.state.imageUri, `${service}: the task runs the built image`);
  }
});

t.test('with alarmEmail, every alarm notifies one SNS topic that address is subscribed to', async (t) => {
  t.same(
    deployment.ofType(TYPES.metricAlarm).filter((alarm) => alarm.name.endsWith('cpu-credits')),
    [],
    'no CPU-credit alarm on a non-burstable class',
  );
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
