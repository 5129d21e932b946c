/**
 * Runs the Pulumi program (infra/index.ts) against Pulumi's mock engine: no CLI, no provider
 * plugins, no AWS account. Every resource the program registers is recorded with its resolved
 * inputs, which is what the tests assert on.
 *
 * awsx components are remote components: under mocks they register as one resource (e.g.
 * `awsx:ec2:Vpc`) without children, so the mocks below give them the outputs the program reads.
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { useServiceDescriber, type DescribedService, type ServiceLocation } from '../../src/deployment-check.js';

export interface RecordedResource {
  type: string;
  name: string;
  /** The physical id the mock engine gave it. */
  id: string;
  /** The inputs the program gave, resolved. */
  inputs: Record<string, any>;
  /** The outputs the mock engine answered with: the inputs plus mocked outputs such as `arn`. */
  state: Record<string, any>;
  /**
   * When the program registered it and when the engine finished it, on one counter over all
   * resources: a resource registered after another finished waited for it (dependsOn).
   */
  registeredAt: number;
  finishedAt: number;
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
  certificate: 'aws:acm/certificate:Certificate',
  certificateValidation: 'aws:acm/certificateValidation:CertificateValidation',
  dnsRecord: 'aws:route53/record:Record',
  webAcl: 'aws:wafv2/webAcl:WebAcl',
  webAclAssociation: 'aws:wafv2/webAclAssociation:WebAclAssociation',
  bucket: 'aws:s3/bucket:Bucket',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  bucketLifecycle: 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
  bucketEncryption: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  bucketPublicAccessBlock: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  lambdaFunction: 'aws:lambda/function:Function',
  lambdaInvocation: 'aws:lambda/invocation:Invocation',
  eventRule: 'aws:cloudwatch/eventRule:EventRule',
  eventTarget: 'aws:cloudwatch/eventTarget:EventTarget',
  snsTopicPolicy: 'aws:sns/topicPolicy:TopicPolicy',
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

/** Resources that take a while on AWS, which dependents must wait for. */
const SLOW_TYPES: ReadonlySet<string> = new Set([TYPES.lambdaInvocation, TYPES.certificateValidation]);

/** Each generated password (database logins, the cache's AUTH token) is `mock-password-<resource name>`. */
export const mockPassword = (resourceName: string) => `mock-password-${resourceName}`;

/** Stands in for the RDS CA bundle's SHA-256 the stack must be configured with (rdsCaBundleSha256). */
export const MOCK_RDS_CA_BUNDLE_SHA256 = 'ab'.repeat(32);

/** The task definition a mocked ECS service runs after a rollback (MockOptions.rolledBack). */
export const PREVIOUS_TASK_DEFINITION = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/previous:1';
export const MOCK_ACCOUNT = ACCOUNT;
/** The region's ELB log-delivery account that aws.elb.getServiceAccount answers (eu-west-1's). */
export const MOCK_ELB_ACCOUNT_ARN = 'arn:aws:iam::156460612806:root';
/** The RDS-managed master secret of the mocked instance. */
export const MOCK_MASTER_SECRET_ARN = `arn:aws:secretsmanager:${MOCK_REGION}:${ACCOUNT}:secret:rds!db-mock`;

/** A secret version's id, as AWS would give a new one for each value: derived from the value here. */
export const mockVersionId = (secretString: unknown) =>
  createHash('sha256').update(JSON.stringify(secretString)).digest('hex').slice(0, 32);

/** Outputs a real deployment would compute, for the resources whose outputs the program reads. */
function mockOutputs({
  type,
  name,
  inputs,
}: Pick<RecordedResource, 'type' | 'name' | 'inputs'>): Record<string, unknown> {
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
      return {
        ...common,
        arn: `arn:aws:ecs:${MOCK_REGION}:${ACCOUNT}:task-definition/${inputs.family}:2`,
        arnWithoutRevision: `arn:aws:ecs:${MOCK_REGION}:${ACCOUNT}:task-definition/${inputs.family}`,
      };
    case TYPES.loadBalancer:
      return {
        ...common,
        arnSuffix: `app/${name}/0123456789abcdef`,
        dnsName: `${name}-123.${MOCK_REGION}.elb.amazonaws.com`,
        zoneId: 'Z32O12XQLNTSW2',
      };
    case TYPES.targetGroup:
      return { ...common, arnSuffix: `targetgroup/${name}/0123456789abcdef` };
    case TYPES.rdsInstance:
      return {
        ...common,
        address: `${name}.mock.${MOCK_REGION}.rds.amazonaws.com`,
        port: inputs.port,
        identifier: name,
        masterUserSecrets: inputs.manageMasterUserPassword
          ? [{ secretArn: MOCK_MASTER_SECRET_ARN, secretStatus: 'active', kmsKeyId: '' }]
          : [],
      };
    case TYPES.secretVersion:
      return { ...common, versionId: mockVersionId(inputs.secretString) };
    case TYPES.ecsService:
      return { ...common, arn: `arn:aws:ecs:${MOCK_REGION}:${ACCOUNT}:service/taskoverflow/${name}` };
    case TYPES.certificate:
      return {
        ...common,
        arn: `arn:aws:acm:${MOCK_REGION}:${ACCOUNT}:certificate/mock-${name}`,
        domainValidationOptions: [
          {
            domainName: inputs.domainName,
            resourceRecordName: `_x1.${inputs.domainName}.`,
            resourceRecordType: 'CNAME',
            resourceRecordValue: '_y1.acm-validations.aws.',
          },
        ],
      };
    case TYPES.certificateValidation:
      return { ...common, certificateArn: inputs.certificateArn };
    case TYPES.dnsRecord:
      return { ...common, fqdn: String(inputs.name).replace(/\.$/, '') };
    case TYPES.bucket:
      return { ...common, arn: `arn:aws:s3:::${name}-bucket`, bucket: `${name}-bucket` };
    case TYPES.lambdaInvocation:
      return {
        result: JSON.stringify({
          containers: [
            { name: 'bootstrap', exitCode: 0 },
            { name: 'migrate', exitCode: 0 },
          ],
        }),
      };
    case TYPES.replicationGroup:
      return {
        ...common,
        primaryEndpointAddress: `${name}.mock.cache.amazonaws.com`,
        memberClusters: Array.from({ length: inputs.numCacheClusters }, (_, node) => `${name}-00${node + 1}`),
      };
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
  /** The region has no ELB account (opened since August 2022): aws.elb.getServiceAccount fails, as the provider does. */
  noElbAccount?: boolean;
}

/**
 * Runs infra/index.ts once with the given `taskoverflow:` config and returns what it
 * registered. A test file deploys once: the program is an ES module and runs on first import.
 * The program's failure (a rejected export) rejects this, with the resources recorded so far in
 * `error.resources`.
 */
export async function deployWithMocks(
  config: Record<string, string> = {},
  options: MockOptions = {},
): Promise<MockDeployment> {
  pulumi.runtime.setAllConfig({
    'aws:region': MOCK_REGION,
    'taskoverflow:rdsCaBundleSha256': MOCK_RDS_CA_BUNDLE_SHA256,
    ...Object.fromEntries(Object.entries(config).map(([key, value]) => [`taskoverflow:${key}`, value])),
  });
  const resources: RecordedResource[] = [];
  let events = 0;
  useServiceDescriber(async (location) => describeService(resources, location, options));
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const recorded = { type: args.type, name: args.name, id: `${args.name}-id`, inputs: args.inputs };
        const state = { ...args.inputs, ...mockOutputs(recorded) };
        const resource: RecordedResource = {
          ...recorded,
          state,
          registeredAt: ++events,
          finishedAt: Number.POSITIVE_INFINITY,
        };
        resources.push(resource);
        // The migration and ACM's validation take minutes on AWS: here a moment, so that what
        // does not wait for them registers before they finish.
        if (SLOW_TYPES.has(args.type)) await new Promise((resolve) => setTimeout(resolve, 50));
        resource.finishedAt = ++events;
        return { id: recorded.id, state };
      },
      call(args) {
        if (args.token === 'aws:index/getRegion:getRegion')
          return { region: MOCK_REGION, name: MOCK_REGION, id: MOCK_REGION };
        if (args.token === 'aws:index/getCallerIdentity:getCallerIdentity')
          return { accountId: ACCOUNT, arn: '', userId: '', id: ACCOUNT };
        if (args.token === 'aws:elb/getServiceAccount:getServiceAccount') {
          if (options.noElbAccount) throw new Error('unsupported AWS Region');
          return { arn: MOCK_ELB_ACCOUNT_ARN, id: '156460612806' };
        }
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
    outputs = Object.fromEntries(
      await Promise.all(Object.entries(program).map(async ([key, value]) => [key, await resolve(value)] as const)),
    );
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
 * What ECS would answer (DescribeServices) for a service after `pulumi up` waited for its
 * steady state: its deployment of the task definition it was given completed, or, when rolled
 * back, a rollback to the previous one did (test/fixtures/describe-services/ has recorded shapes).
 */
function describeService(
  resources: RecordedResource[],
  { service: serviceName }: ServiceLocation,
  options: MockOptions,
): DescribedService {
  const service = resources.find(
    (resource) => resource.type === TYPES.ecsService && resource.state.name === serviceName,
  );
  if (!service)
    throw new Error(`DescribeServices: no ECS service named ${serviceName} was registered before it was described`);
  const rolledBack = options.rolledBack?.some((name) => serviceName.endsWith(name)) ?? false;
  const taskDefinition = rolledBack ? PREVIOUS_TASK_DEFINITION : service.inputs.taskDefinition;
  const count = service.inputs.desiredCount;
  const now = new Date();
  return {
    serviceName,
    taskDefinition,
    deployments: [
      {
        id: 'ecs-svc/1111111111111111111',
        status: 'PRIMARY',
        taskDefinition,
        desiredCount: count,
        runningCount: count,
        pendingCount: 0,
        failedTasks: 0,
        rolloutState: 'COMPLETED',
        rolloutStateReason: 'ECS deployment ecs-svc/1111111111111111111 completed.',
        createdAt: now,
      },
    ],
    events: rolledBack
      ? [
          {
            message: `(service ${serviceName}) rolling back to deployment ecs-svc/1111111111111111111.`,
            createdAt: now,
          },
          {
            message: `(service ${serviceName}) (deployment ecs-svc/2222222222222222222) deployment failed: tasks failed to start.`,
            createdAt: now,
          },
        ]
      : [{ message: `(service ${serviceName}) has reached a steady state.`, createdAt: now }],
  };
}

/** The value of a Pulumi output (or a plain value); rejects when the output does. */
export function resolve(value: unknown): Promise<unknown> {
  // promise() is OutputImpl's own (sdk/nodejs/output.ts), not in the public type.
  const output = pulumi.output(value) as unknown as { promise(): Promise<unknown> };
  return output.promise();
}
