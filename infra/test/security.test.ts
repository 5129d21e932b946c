import { SERVICES } from '@taskoverflow/routing';
import t from 'tap';
import { CONTAINER_PORTS, HTTP_PORT, POSTGRES_PORT, REDIS_PORT } from '../src/ports.js';
import {
  deployWithMocks,
  MOCK_MASTER_SECRET_ARN,
  mockPassword,
  TYPES,
  type RecordedResource,
} from './helpers/mock-deployment.js';

const deployment = await deployWithMocks();

/** Security groups by their role, as named in src/network.ts. */
const groupIdOf = (role: string) => deployment.named(TYPES.securityGroup, `taskoverflow-${role}`).id;
const roleOf = (groupId: string) =>
  deployment
    .ofType(TYPES.securityGroup)
    .find((group) => group.id === groupId)
    ?.name.replace('taskoverflow-', '');

/** Every opening, in words: "ingress load-balancer tcp/80 from 0.0.0.0/0". */
function describeRule(direction: 'ingress' | 'egress', rule: RecordedResource): string {
  const { securityGroupId, ipProtocol, fromPort, toPort, cidrIpv4, cidrIpv6, referencedSecurityGroupId, prefixListId } =
    rule.inputs;
  const peer = cidrIpv4 ?? cidrIpv6 ?? prefixListId ?? roleOf(referencedSecurityGroupId);
  const ports = fromPort === toPort ? `${fromPort}` : `${fromPort}-${toPort}`;
  return `${direction} ${roleOf(securityGroupId)} ${ipProtocol}/${ports} ${direction === 'ingress' ? 'from' : 'to'} ${peer}`;
}
const ingress = deployment.ofType(TYPES.ingressRule).map((rule) => describeRule('ingress', rule));
const egress = deployment.ofType(TYPES.egressRule).map((rule) => describeRule('egress', rule));

t.test('security groups carry no inline rules (every opening is a rule resource checked here)', async (t) => {
  const groups = deployment.ofType(TYPES.securityGroup);
  t.same(
    groups.map((group) => group.name).sort(),
    [
      'taskoverflow-cache',
      'taskoverflow-database',
      'taskoverflow-load-balancer',
      'taskoverflow-migration',
      'taskoverflow-todo-read',
      'taskoverflow-todo-write',
    ],
    'the six groups of the design',
  );
  for (const group of groups) {
    t.notOk(group.inputs.ingress?.length, `${group.name}: no inline ingress`);
    t.notOk(group.inputs.egress?.length, `${group.name}: no inline egress`);
  }
});

t.test('without a certificate (a lab stack), only the ALB HTTP port is open to the internet', async (t) => {
  const fromAnywhere = deployment
    .ofType(TYPES.ingressRule)
    .filter(
      (rule) =>
        rule.inputs.cidrIpv4 === '0.0.0.0/0' || rule.inputs.cidrIpv6 === '::/0' || rule.inputs.ipProtocol === '-1',
    );
  t.same(
    fromAnywhere.map((rule) => describeRule('ingress', rule)),
    [`ingress load-balancer tcp/${HTTP_PORT} from 0.0.0.0/0`],
  );
});

t.test('each group admits exactly the traffic of the design', async (t) => {
  const expectedIngress = [
    `ingress load-balancer tcp/${HTTP_PORT} from 0.0.0.0/0`,
    ...SERVICES.flatMap((service) => [
      `ingress ${service} tcp/${CONTAINER_PORTS[service]} from load-balancer`,
      `ingress database tcp/${POSTGRES_PORT} from ${service}`,
      `ingress cache tcp/${REDIS_PORT} from ${service}`,
    ]),
    `ingress database tcp/${POSTGRES_PORT} from migration`,
  ];
  t.same([...ingress].sort(), expectedIngress.sort());
});

t.test('outbound traffic is as narrow: the database and the cache send nothing', async (t) => {
  const expectedEgress = [
    ...SERVICES.flatMap((service) => [
      `egress load-balancer tcp/${CONTAINER_PORTS[service]} to ${service}`,
      `egress ${service} tcp/${POSTGRES_PORT} to database`,
      `egress ${service} tcp/${REDIS_PORT} to cache`,
      `egress ${service} tcp/443 to 0.0.0.0/0`,
    ]),
    `egress migration tcp/${POSTGRES_PORT} to database`,
    'egress migration tcp/443 to 0.0.0.0/0',
  ];
  t.same([...egress].sort(), expectedEgress.sort());
});

t.test('PostgreSQL is private, encrypted and behind its own security group', async (t) => {
  const [db, ...others] = deployment.ofType(TYPES.rdsInstance);
  t.equal(others.length, 0, 'one instance');
  t.match(db!.inputs, {
    publiclyAccessible: false,
    storageEncrypted: true,
    vpcSecurityGroupIds: [groupIdOf('database')],
  });
  const subnetGroup = deployment.ofType('aws:rds/subnetGroup:SubnetGroup')[0]!;
  t.same(subnetGroup.inputs.subnetIds, ['subnet-private-a', 'subnet-private-b'], 'in the private subnets');
  t.equal(db!.inputs.dbSubnetGroupName, subnetGroup.state.name);
});

t.test('PostgreSQL keeps its data: deletion protection, a final snapshot, storage autoscaling', async (t) => {
  const [db] = deployment.ofType(TYPES.rdsInstance);
  t.match(db!.inputs, {
    deletionProtection: true,
    skipFinalSnapshot: false,
    finalSnapshotIdentifier: 'taskoverflow-test-final-a1b2c3d4',
  });
  t.match(db!.inputs, { allocatedStorage: 20, maxAllocatedStorage: 100 });
});

t.test('Redis is private, behind its own security group, encrypted in transit and behind AUTH', async (t) => {
  const [redis, ...others] = deployment.ofType(TYPES.replicationGroup);
  t.equal(others.length, 0, 'one replication group');
  t.same(redis!.inputs.securityGroupIds, [groupIdOf('cache')]);
  t.match(redis!.inputs, { transitEncryptionEnabled: true, atRestEncryptionEnabled: true });
  t.equal(
    unwrapSecret(redis!.inputs.authToken),
    mockPassword('taskoverflow-cache-auth-token'),
    'the generated AUTH token',
  );
  t.ok(isPulumiSecret(redis!.inputs.authToken), 'marked secret in the Pulumi state');
  const version = deployment.named(TYPES.secretVersion, 'taskoverflow-cache-url');
  t.equal(version.inputs.secretId, deployment.named(TYPES.secret, 'taskoverflow-cache-url').id);
  t.ok(isPulumiSecret(version.inputs.secretString), 'the URL is a secret');
  t.equal(
    unwrapSecret(version.inputs.secretString),
    `rediss://:${mockPassword('taskoverflow-cache-auth-token')}@${redis!.state.primaryEndpointAddress}:${REDIS_PORT}`,
    'the services connect with TLS (rediss://) and the token',
  );
  const subnetGroup = deployment.ofType('aws:elasticache/subnetGroup:SubnetGroup')[0]!;
  t.same(subnetGroup.inputs.subnetIds, ['subnet-private-a', 'subnet-private-b'], 'in the private subnets');
});

t.test('tasks run in the private subnets without public IPs, each in its own group', async (t) => {
  const services = deployment.ofType(TYPES.ecsService);
  t.equal(services.length, SERVICES.length, 'both services');
  for (const service of services) {
    const name = service.name.replace('taskoverflow-', '');
    t.same(
      service.inputs.networkConfiguration,
      { subnets: ['subnet-private-a', 'subnet-private-b'], securityGroups: [groupIdOf(name)], assignPublicIp: false },
      name,
    );
  }
});

/** Every generated secret: the three database logins' passwords and the cache's AUTH token. */
const LOGINS = ['migration', 'todo-read', 'todo-write'] as const;
const GENERATED = [...LOGINS.map((login) => `taskoverflow-db-${login}`), 'taskoverflow-cache-auth-token'];

/** A task definition's containers, by name. */
const containersOf = (taskDefinition: RecordedResource): Record<string, any> =>
  Object.fromEntries(
    JSON.parse(taskDefinition.inputs.containerDefinitions).map((container: any) => [container.name, container]),
  );
const secretArn = (name: string) => deployment.named(TYPES.secret, name).state.arn;

t.test('each database login has its own generated password, kept in Secrets Manager', async (t) => {
  t.same(
    deployment
      .ofType(TYPES.randomPassword)
      .map((password) => password.name)
      .sort(),
    [...GENERATED].sort(),
    'four generated secrets',
  );
  t.equal(deployment.ofType(TYPES.secret).length, 4, 'four secrets: three passwords and the cache URL');
  for (const login of LOGINS) {
    const name = `taskoverflow-db-${login}`;
    const version = deployment.named(TYPES.secretVersion, name);
    t.equal(version.inputs.secretId, deployment.named(TYPES.secret, name).id, `${login}: stored in its secret`);
    t.equal(unwrapSecret(version.inputs.secretString), mockPassword(name), `${login}: the generated password`);
    t.ok(isPulumiSecret(version.inputs.secretString), `${login}: marked secret in the Pulumi state`);
  }
  const [db] = deployment.ofType(TYPES.rdsInstance);
  t.equal(db!.inputs.manageMasterUserPassword, true, "the master user's password is RDS's managed secret");
  t.notOk('password' in db!.inputs, 'so it is never in the Pulumi state');
});

t.test('each container gets exactly the secrets it needs, and no plain variable holds one', async (t) => {
  const expected: Record<string, Record<string, string[]>> = {
    'taskoverflow-todo-read': {
      'todo-read': ['PGPASSWORD=taskoverflow-db-todo-read', 'REDIS_URL=taskoverflow-cache-url'],
    },
    'taskoverflow-todo-write': {
      'todo-write': ['PGPASSWORD=taskoverflow-db-todo-write', 'REDIS_URL=taskoverflow-cache-url'],
    },
    'taskoverflow-migration': {
      bootstrap: ['PGPASSWORD=RDS master secret:password', 'TASKOVERFLOW_MIGRATE_PASSWORD=taskoverflow-db-migration'],
      migrate: [
        'PGPASSWORD=taskoverflow-db-migration',
        'TASKOVERFLOW_READ_PASSWORD=taskoverflow-db-todo-read',
        'TASKOVERFLOW_WRITE_PASSWORD=taskoverflow-db-todo-write',
      ],
    },
  };
  const taskDefinitions = deployment.ofType(TYPES.taskDefinition);
  t.same(
    taskDefinitions.map((taskDefinition) => taskDefinition.name).sort(),
    Object.keys(expected).sort(),
    'both task definitions',
  );
  const secretNameOf = (arn: string) =>
    arn === `${MOCK_MASTER_SECRET_ARN}:password::`
      ? 'RDS master secret:password'
      : deployment.ofType(TYPES.secret).find((secret) => secret.state.arn === arn)?.name;
  for (const taskDefinition of taskDefinitions) {
    const containers = containersOf(taskDefinition);
    const actual = Object.fromEntries(
      Object.entries(containers).map(([name, container]) => [
        name,
        container.secrets.map(
          (secret: { name: string; valueFrom: string }) => `${secret.name}=${secretNameOf(secret.valueFrom)}`,
        ),
      ]),
    );
    t.same(actual, expected[taskDefinition.name], taskDefinition.name);
    for (const [name, container] of Object.entries(containers)) {
      const environment: { name: string; value: string }[] = container.environment;
      t.notOk(
        environment.some((variable) => /PASSWORD|SECRET|TOKEN/i.test(variable.name)),
        `${name}: no secret-looking plain variable`,
      );
      const databaseUrl = new URL(environment.find((variable) => variable.name === 'DATABASE_URL')!.value);
      t.equal(databaseUrl.password, '', `${name}: DATABASE_URL has no password (node-postgres then reads PGPASSWORD)`);
      t.notOk(
        environment.some((variable) => variable.name === 'REDIS_URL'),
        `${name}: REDIS_URL (with the token) only as a secret`,
      );
    }
  }
});

t.test('each generated secret reaches only its secret and the resource that must check it', async (t) => {
  const holdersOf = (secret: string) =>
    deployment.resources
      .filter((resource) => resource.type !== TYPES.randomPassword && JSON.stringify(resource.inputs).includes(secret))
      .map((resource) => `${resource.type.split(':').at(-1)} ${resource.name}`)
      .sort();
  t.same(holdersOf(mockPassword('taskoverflow-db-migration')), ['SecretVersion taskoverflow-db-migration']);
  t.same(holdersOf(mockPassword('taskoverflow-db-todo-read')), ['SecretVersion taskoverflow-db-todo-read']);
  t.same(holdersOf(mockPassword('taskoverflow-db-todo-write')), ['SecretVersion taskoverflow-db-todo-write']);
  t.same(holdersOf(mockPassword('taskoverflow-cache-auth-token')), [
    'ReplicationGroup taskoverflow-cache',
    'SecretVersion taskoverflow-cache-url',
  ]);
});

t.test('tasks have no task role; each execution role may touch only its own image, logs and secrets', async (t) => {
  t.same(deployment.ofType(TYPES.iamRolePolicyAttachment), [], 'no managed policies');
  const [logGroup] = deployment.ofType(TYPES.logGroup);
  const secretsOf: Record<string, string[]> = {
    'taskoverflow-todo-read': [secretArn('taskoverflow-db-todo-read'), secretArn('taskoverflow-cache-url')],
    'taskoverflow-todo-write': [secretArn('taskoverflow-db-todo-write'), secretArn('taskoverflow-cache-url')],
    'taskoverflow-migration': [
      MOCK_MASTER_SECRET_ARN,
      secretArn('taskoverflow-db-migration'),
      secretArn('taskoverflow-db-todo-read'),
      secretArn('taskoverflow-db-todo-write'),
    ],
  };
  // The migration task runs todo-write's image.
  const repositoryOf: Record<string, string> = { 'taskoverflow-migration': 'taskoverflow-todo-write' };
  const taskDefinitions = deployment.ofType(TYPES.taskDefinition);
  t.equal(taskDefinitions.length, 3, 'both services and the migration task');
  for (const taskDefinition of taskDefinitions) {
    const name = taskDefinition.name;
    t.notOk(taskDefinition.inputs.taskRoleArn, `${name}: no task role`);
    const role = deployment
      .ofType(TYPES.iamRole)
      .find((candidate) => candidate.state.arn === taskDefinition.inputs.executionRoleArn)!;
    t.match(parsePolicy(role.inputs.assumeRolePolicy), {
      Statement: [{ Principal: { Service: 'ecs-tasks.amazonaws.com' } }],
    });

    const policy = deployment.ofType(TYPES.iamRolePolicy).find((candidate) => candidate.inputs.role === role.id)!;
    const repository = deployment.named('aws:ecr/repository:Repository', repositoryOf[name] ?? name);
    const statements = parsePolicy(policy.inputs.policy).Statement.map((statement: any) => ({
      actions: [...statement.Action].sort(),
      resource: statement.Resource,
    }));
    t.same(
      statements,
      [
        { actions: ['ecr:GetAuthorizationToken'], resource: '*' },
        {
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          resource: repository.state.arn,
        },
        { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: `${logGroup!.state.arn}:log-stream:*` },
        ...secretsOf[name]!.map((secret) => ({ actions: ['secretsmanager:GetSecretValue'], resource: secret })),
      ],
      name,
    );
  }
});

t.test('no service holds the master credentials: only the migration task reads the RDS master secret', async (t) => {
  const readers = deployment
    .ofType(TYPES.iamRolePolicy)
    .filter((policy) => JSON.stringify(policy.inputs.policy).includes(MOCK_MASTER_SECRET_ARN))
    .map((policy) => policy.name);
  t.same(readers, ['taskoverflow-migration-execution']);
  const users = deployment.ofType(TYPES.taskDefinition).flatMap((taskDefinition) =>
    Object.values(containersOf(taskDefinition))
      .filter((container) => JSON.stringify(container.secrets).includes(MOCK_MASTER_SECRET_ARN))
      .map((container) => `${taskDefinition.name}/${container.name}`),
  );
  t.same(users, ['taskoverflow-migration/bootstrap'], 'and only its bootstrap container gets it');
});

/** An IAM policy input: a JSON document or the object @pulumi/aws serialises. */
function parsePolicy(policy: unknown): any {
  return typeof policy === 'string' ? JSON.parse(policy) : policy;
}

/** Pulumi marks secret values on the wire with this signature (sdk/nodejs/runtime/rpc.ts). */
const SPECIAL_SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
function isPulumiSecret(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && (value as Record<string, unknown>)[SPECIAL_SIG_KEY] === SECRET_SIG
  );
}
function unwrapSecret(value: unknown): unknown {
  return isPulumiSecret(value) ? (value as { value: unknown }).value : value;
}
