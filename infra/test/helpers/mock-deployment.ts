/**
 * Runs the Pulumi program (infra/index.ts) against Pulumi's mock engine: no CLI, no provider
 * plugins, no AWS account. Every resource the program registers is recorded with its resolved
 * inputs, which is what the tests assert on.
 *
 * awsx components are remote components: under mocks they register as one resource (e.g.
 * `awsx:ec2:Vpc`) without children, so the mocks below give them the outputs the program reads.
 */
import * as pulumi from '@pulumi/pulumi';

export interface RecordedResource {
  type: string;
  name: string;
  /** The physical id the mock engine gave it. */
  id: string;
  /** The inputs the program gave, resolved. */
  inputs: Record<string, any>;
  /** The outputs the mock engine answered with: the inputs plus mocked outputs such as `arn`. */
  state: Record<string, any>;
}

export const MOCK_REGION = 'eu-west-1';
const ACCOUNT = '123456789012';

/** Resource type tokens the tests look for. */
export const TYPES = {
  vpc: 'awsx:ec2:Vpc',
  image: 'awsx:ecr:Image',
  securityGroup: 'aws:ec2/securityGroup:SecurityGroup',
  ingressRule: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule',
  egressRule: 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule',
  loadBalancer: 'aws:lb/loadBalancer:LoadBalancer',
  targetGroup: 'aws:lb/targetGroup:TargetGroup',
  listener: 'aws:lb/listener:Listener',
  listenerRule: 'aws:lb/listenerRule:ListenerRule',
  taskDefinition: 'aws:ecs/taskDefinition:TaskDefinition',
  ecsService: 'aws:ecs/service:Service',
  scalableTarget: 'aws:appautoscaling/target:Target',
  scalingPolicy: 'aws:appautoscaling/policy:Policy',
  rdsInstance: 'aws:rds/instance:Instance',
  replicationGroup: 'aws:elasticache/replicationGroup:ReplicationGroup',
  secret: 'aws:secretsmanager/secret:Secret',
  secretVersion: 'aws:secretsmanager/secretVersion:SecretVersion',
  iamRole: 'aws:iam/role:Role',
  iamRolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  iamRolePolicyAttachment: 'aws:iam/rolePolicyAttachment:RolePolicyAttachment',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  queryDefinition: 'aws:cloudwatch/queryDefinition:QueryDefinition',
  metricAlarm: 'aws:cloudwatch/metricAlarm:MetricAlarm',
  dashboard: 'aws:cloudwatch/dashboard:Dashboard',
  snsTopic: 'aws:sns/topic:Topic',
  snsSubscription: 'aws:sns/topicSubscription:TopicSubscription',
  randomPassword: 'random:index/randomPassword:RandomPassword',
} as const;

/** Each generated password (database logins, the cache's AUTH token) is `mock-password-<resource name>`. */
export const mockPassword = (resourceName: string) => `mock-password-${resourceName}`;

/** The task definition a mocked ECS service runs after a rollback (MockOptions.rolledBack). */
/** Stands in for the RDS CA bundle's SHA-256 the stack must be configured with (rdsCaBundleSha256). */
export const MOCK_RDS_CA_BUNDLE_SHA256 = 'ab'.repeat(32);

export const PREVIOUS_TASK_DEFINITION = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/previous:1';

/** Outputs a real deployment would compute, for the resources whose outputs the program reads. */
function mockOutputs({ type, name, inputs }: Pick<RecordedResource, 'type' | 'name' | 'inputs'>): Record<string, unknown> {
  const arn = `arn:aws:mock:${MOCK_REGION}:${ACCOUNT}:${type.split(':')[1]}/${name}`;
  const common = { arn, name: inputs.name ?? name };
  switch (type) {
    case TYPES.vpc:
      return {
        vpcId: 'vpc-0mock',
        publicSubnetIds: ['subnet-public-a', 'subnet-public-b'],
        privateSubnetIds: ['subnet-private-a', 'subnet-private-b'],
      };
    case 'aws:ecr/repository:Repository':
      return { ...common, repositoryUrl: `${ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com/${name}` };
    case TYPES.image:
      return { imageUri: `${inputs.repositoryUrl}@sha256:${'0'.repeat(64)}` };
    case TYPES.randomPassword:
      return { result: mockPassword(name) };
    case 'random:index/randomId:RandomId':
      return { hex: 'a1b2c3d4' };
    case TYPES.taskDefinition:
      return { ...common, arn: `arn:aws:ecs:${MOCK_REGION}:${ACCOUNT}:task-definition/${inputs.family}:2` };
    case TYPES.loadBalancer:
      return { ...common, arnSuffix: `app/${name}/0123456789abcdef`, dnsName: `${name}-123.${MOCK_REGION}.elb.amazonaws.com` };
    case TYPES.targetGroup:
      return { ...common, arnSuffix: `targetgroup/${name}/0123456789abcdef` };
    case TYPES.rdsInstance:
      return { ...common, address: `${name}.mock.${MOCK_REGION}.rds.amazonaws.com`, port: inputs.port, identifier: name };
    case TYPES.replicationGroup:
      return { ...common, primaryEndpointAddress: `${name}.mock.cache.amazonaws.com`, memberClusters: [`${name}-001`] };
    default:
      return common;
  }
}

export interface MockDeployment {
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
  ofType(type: string): RecordedResource[];
  /** The one resource of `type` named `name`; throws when there is not exactly one. */
  named(type: string, name: string): RecordedResource;
}

export interface MockOptions {
  /** ECS services (todo-read, todo-write) whose deployment ECS rolled back to PREVIOUS_TASK_DEFINITION. */
  rolledBack?: string[];
}

/**
 * Runs infra/index.ts once with the given `taskoverflow:` config and returns what it
 * registered. A test file deploys once: the program is an ES module and runs on first import.
 * The program's failure (a rejected export) rejects this, with the resources recorded so far in
 * `error.resources`.
 */
export async function deployWithMocks(config: Record<string, string> = {}, options: MockOptions = {}): Promise<MockDeployment> {
  pulumi.runtime.setAllConfig({
    'aws:region': MOCK_REGION,
    'taskoverflow:rdsCaBundleSha256': MOCK_RDS_CA_BUNDLE_SHA256,
    ...Object.fromEntries(Object.entries(config).map(([key, value]) => [`taskoverflow:${key}`, value])),
  });
  const resources: RecordedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const recorded = { type: args.type, name: args.name, id: `${args.name}-id`, inputs: args.inputs };
        const state = { ...args.inputs, ...mockOutputs(recorded) };
        resources.push({ ...recorded, state });
        return { id: recorded.id, state };
      },
      call(args) {
        if (args.token === 'aws:index/getRegion:getRegion') return { region: MOCK_REGION, name: MOCK_REGION, id: MOCK_REGION };
        if (args.token === 'aws:ecs/getService:getService') return describeService(resources, args.inputs.serviceName, options);
        throw new Error(`the program made an unexpected call: ${args.token}`);
      },
    },
    'taskoverflow',
    'test',
    false,
  );

  const program: Record<string, unknown> = await import('../../index.js');
  let outputs: Record<string, unknown>;
  try {
    outputs = Object.fromEntries(await Promise.all(Object.entries(program).map(async ([key, value]) => [key, await resolve(value)] as const)));
  } catch (error) {
    await pulumi.runtime.disconnect().catch(() => undefined);
    throw Object.assign(error as Error, { resources });
  }
  // Every registration has been answered once the RPC queue is empty.
  await pulumi.runtime.disconnect();

  const ofType = (type: string) => resources.filter((resource) => resource.type === type);
  return {
    resources,
    outputs,
    ofType,
    named(type, name) {
      const matches = ofType(type).filter((resource) => resource.name === name);
      if (matches.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${matches.length}`);
      return matches[0]!;
    },
  };
}

/**
 * What ECS would answer for a service after `pulumi up` waited for its steady state: running the
 * task definition it was given, or, when rolled back, the previous one.
 */
function describeService(resources: RecordedResource[], serviceName: string, options: MockOptions) {
  const service = resources.find((resource) => resource.type === TYPES.ecsService && resource.state.name === serviceName);
  if (!service) throw new Error(`getService: no ECS service named ${serviceName} was registered before it was described`);
  const rolledBack = options.rolledBack?.some((name) => serviceName.endsWith(name)) ?? false;
  const taskDefinition = rolledBack ? PREVIOUS_TASK_DEFINITION : service.inputs.taskDefinition;
  const count = service.inputs.desiredCount;
  return {
    serviceName,
    taskDefinition,
    deployments: [{ status: 'PRIMARY', taskDefinition, desiredCount: count, runningCount: count, pendingCount: 0 }],
    events: rolledBack
      ? [{ message: `(service ${serviceName}) rolling back to deployment ecs-svc/1 (circuit breaker)`, createdAt: '', id: '1' }]
      : [{ message: `(service ${serviceName}) has reached a steady state.`, createdAt: '', id: '1' }],
  };
}

/** The value of a Pulumi output (or a plain value); rejects when the output does. */
export function resolve(value: unknown): Promise<unknown> {
  // promise() is OutputImpl's own (sdk/nodejs/output.ts), not in the public type.
  const output = pulumi.output(value) as unknown as { promise(): Promise<unknown> };
  return output.promise();
}
