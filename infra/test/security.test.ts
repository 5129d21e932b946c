import { SERVICES } from '@taskoverflow/routing';
import t from 'tap';
import { CONTAINER_PORTS, LISTENER_PORT, POSTGRES_PORT, REDIS_PORT } from '../src/ports.js';
import { deployWithMocks, MOCK_DB_PASSWORD, TYPES, type RecordedResource } from './helpers/mock-deployment.js';

const deployment = await deployWithMocks();

/** Security groups by their role, as named in src/network.ts. */
const groupIdOf = (role: string) => deployment.named(TYPES.securityGroup, `taskoverflow-${role}`).id;
const roleOf = (groupId: string) => deployment.ofType(TYPES.securityGroup).find((group) => group.id === groupId)?.name.replace('taskoverflow-', '');

/** Every opening, in words: "ingress load-balancer tcp/80 from 0.0.0.0/0". */
function describeRule(direction: 'ingress' | 'egress', rule: RecordedResource): string {
  const { securityGroupId, ipProtocol, fromPort, toPort, cidrIpv4, cidrIpv6, referencedSecurityGroupId, prefixListId } = rule.inputs;
  const peer = cidrIpv4 ?? cidrIpv6 ?? prefixListId ?? roleOf(referencedSecurityGroupId);
  const ports = fromPort === toPort ? `${fromPort}` : `${fromPort}-${toPort}`;
  return `${direction} ${roleOf(securityGroupId)} ${ipProtocol}/${ports} ${direction === 'ingress' ? 'from' : 'to'} ${peer}`;
}
const ingress = deployment.ofType(TYPES.ingressRule).map((rule) => describeRule('ingress', rule));
const egress = deployment.ofType(TYPES.egressRule).map((rule) => describeRule('egress', rule));

t.test('security groups carry no inline rules (every opening is a rule resource checked here)', async (t) => {
  for (const group of deployment.ofType(TYPES.securityGroup)) {
    t.notOk(group.inputs.ingress?.length, `${group.name}: no inline ingress`);
    t.notOk(group.inputs.egress?.length, `${group.name}: no inline egress`);
  }
});

t.test('only the ALB listener port is open to the internet', async (t) => {
  const fromAnywhere = deployment
    .ofType(TYPES.ingressRule)
    .filter((rule) => rule.inputs.cidrIpv4 === '0.0.0.0/0' || rule.inputs.cidrIpv6 === '::/0' || rule.inputs.ipProtocol === '-1');
  t.same(fromAnywhere.map((rule) => describeRule('ingress', rule)), [`ingress load-balancer tcp/${LISTENER_PORT} from 0.0.0.0/0`]);
});

t.test('each group admits exactly the traffic of the design', async (t) => {
  const expectedIngress = [
    `ingress load-balancer tcp/${LISTENER_PORT} from 0.0.0.0/0`,
    ...SERVICES.flatMap((service) => [
      `ingress ${service} tcp/${CONTAINER_PORTS[service]} from load-balancer`,
      `ingress database tcp/${POSTGRES_PORT} from ${service}`,
      `ingress cache tcp/${REDIS_PORT} from ${service}`,
    ]),
  ];
  t.same([...ingress].sort(), expectedIngress.sort());
});

t.test('outbound traffic is as narrow: the database and the cache send nothing', async (t) => {
  const expectedEgress = SERVICES.flatMap((service) => [
    `egress load-balancer tcp/${CONTAINER_PORTS[service]} to ${service}`,
    `egress ${service} tcp/${POSTGRES_PORT} to database`,
    `egress ${service} tcp/${REDIS_PORT} to cache`,
    `egress ${service} tcp/443 to 0.0.0.0/0`,
  ]);
  t.same([...egress].sort(), expectedEgress.sort());
});

t.test('PostgreSQL is private, encrypted and behind its own security group', async (t) => {
  const [db] = deployment.ofType(TYPES.rdsInstance);
  t.match(db!.inputs, { publiclyAccessible: false, storageEncrypted: true, vpcSecurityGroupIds: [groupIdOf('database')] });
  const subnetGroup = deployment.ofType('aws:rds/subnetGroup:SubnetGroup')[0]!;
  t.same(subnetGroup.inputs.subnetIds, ['subnet-private-a', 'subnet-private-b'], 'in the private subnets');
  t.equal(db!.inputs.dbSubnetGroupName, subnetGroup.state.name);
});

t.test('Redis is private and behind its own security group', async (t) => {
  const [redis] = deployment.ofType(TYPES.replicationGroup);
  t.same(redis!.inputs.securityGroupIds, [groupIdOf('cache')]);
  const subnetGroup = deployment.ofType('aws:elasticache/subnetGroup:SubnetGroup')[0]!;
  t.same(subnetGroup.inputs.subnetIds, ['subnet-private-a', 'subnet-private-b'], 'in the private subnets');
});

t.test('tasks run in the private subnets without public IPs, each in its own group', async (t) => {
  for (const service of deployment.ofType(TYPES.ecsService)) {
    const name = service.name.replace('taskoverflow-', '');
    t.same(
      service.inputs.networkConfiguration,
      { subnets: ['subnet-private-a', 'subnet-private-b'], securityGroups: [groupIdOf(name)], assignPublicIp: false },
      name,
    );
  }
});

t.test('the database password is generated, kept in Secrets Manager and injected as a secret', async (t) => {
  const [secret] = deployment.ofType(TYPES.secret);
  const [version] = deployment.ofType(TYPES.secretVersion);
  t.equal(version!.inputs.secretId, secret!.id, 'the password is stored in the secret');
  t.equal(unwrapSecret(version!.inputs.secretString), MOCK_DB_PASSWORD, 'the secret holds the generated password');
  t.ok(isPulumiSecret(version!.inputs.secretString), 'marked secret in the Pulumi state');
  const [db] = deployment.ofType(TYPES.rdsInstance);
  t.ok(isPulumiSecret(db!.inputs.password), 'RDS gets it as a Pulumi secret');

  for (const taskDefinition of deployment.ofType(TYPES.taskDefinition)) {
    const [container] = JSON.parse(taskDefinition.inputs.containerDefinitions);
    const name = container.name;
    t.same(container.secrets, [{ name: 'PGPASSWORD', valueFrom: secret!.state.arn }], `${name}: PGPASSWORD comes from the secret`);
    const environment: { name: string; value: string }[] = container.environment;
    t.notOk(environment.some((variable) => /PASSWORD|SECRET|TOKEN/i.test(variable.name)), `${name}: no secret-looking plain variable`);
    t.notOk(JSON.stringify(environment).includes(MOCK_DB_PASSWORD), `${name}: the password is in no plain variable`);
    const databaseUrl = new URL(environment.find((variable) => variable.name === 'DATABASE_URL')!.value);
    t.equal(databaseUrl.password, '', `${name}: DATABASE_URL has no password (node-postgres then reads PGPASSWORD)`);
  }

  const holders = deployment.resources
    .filter((resource) => JSON.stringify(resource.inputs).includes(MOCK_DB_PASSWORD))
    .map((resource) => resource.type)
    .sort();
  t.same(holders, [TYPES.rdsInstance, TYPES.secretVersion].sort(), 'the password reaches only RDS and the secret');
});

t.test('tasks have no task role; each execution role may touch only its own image, logs and secret', async (t) => {
  t.same(deployment.ofType(TYPES.iamRolePolicyAttachment), [], 'no managed policies');
  const [secret] = deployment.ofType(TYPES.secret);
  const [logGroup] = deployment.ofType(TYPES.logGroup);
  for (const taskDefinition of deployment.ofType(TYPES.taskDefinition)) {
    const name = taskDefinition.name;
    t.notOk(taskDefinition.inputs.taskRoleArn, `${name}: no task role`);
    const role = deployment.ofType(TYPES.iamRole).find((candidate) => candidate.state.arn === taskDefinition.inputs.executionRoleArn)!;
    t.match(parsePolicy(role.inputs.assumeRolePolicy), { Statement: [{ Principal: { Service: 'ecs-tasks.amazonaws.com' } }] });

    const policy = deployment.ofType(TYPES.iamRolePolicy).find((candidate) => candidate.inputs.role === role.id)!;
    const repository = deployment.named('aws:ecr/repository:Repository', name);
    const statements = parsePolicy(policy.inputs.policy).Statement.map((statement: any) => ({
      actions: [...statement.Action].sort(),
      resource: statement.Resource,
    }));
    t.same(statements, [
      { actions: ['ecr:GetAuthorizationToken'], resource: '*' },
      { actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], resource: repository.state.arn },
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resource: `${logGroup!.state.arn}:log-stream:*` },
      { actions: ['secretsmanager:GetSecretValue'], resource: secret!.state.arn },
    ], name);
  }
});

/** An IAM policy input: a JSON document or the object @pulumi/aws serialises. */
function parsePolicy(policy: unknown): any {
  return typeof policy === 'string' ? JSON.parse(policy) : policy;
}

/** Pulumi marks secret values on the wire with this signature (sdk/nodejs/runtime/rpc.ts). */
const SPECIAL_SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';
function isPulumiSecret(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[SPECIAL_SIG_KEY] === SECRET_SIG;
}
function unwrapSecret(value: unknown): unknown {
  return isPulumiSecret(value) ? (value as { value: unknown }).value : value;
}
