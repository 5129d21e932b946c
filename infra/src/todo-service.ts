import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import type { ServiceName } from '@taskoverflow/routing';
import type { TaskSize } from './config.js';
import { CONTAINER_PORTS } from './ports.js';

/** The repository root, relative to infra/ (Pulumi runs the program there): the image build context. */
const REPOSITORY_ROOT = '..';

/**
 * Seconds between SIGTERM and SIGKILL when ECS stops a task. The services take up to
 * SHUTDOWN_GRACE_MS (10 s, packages/http-kit/src/server.ts) to finish in-flight requests and
 * close their pools; this leaves them 5 s more so they always exit on their own.
 */
export const STOP_TIMEOUT_SECONDS = 15;

/** How long ECS ignores failing ALB health checks of a new task while it starts (and migrates). */
const HEALTH_CHECK_GRACE_SECONDS = 60;

/** Autoscaling by target tracking: ECS adds tasks when either target is exceeded. */
export interface TargetTrackingScaling {
  minCount: number;
  maxCount: number;
  cpuTargetPercent: number;
  requestsPerTarget: number;
  /** `app/<name>/<id>` of the load balancer, for the ALBRequestCountPerTarget metric. */
  loadBalancerArnSuffix: pulumi.Input<string>;
}

export interface TodoServiceArgs {
  service: ServiceName;
  clusterArn: pulumi.Input<string>;
  clusterName: pulumi.Input<string>;
  size: TaskSize;
  scaling: { desiredCount: number } | TargetTrackingScaling;
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
  targetGroup: aws.lb.TargetGroup;
  /** Plain environment variables. */
  environment: Record<string, pulumi.Input<string>>;
  /** Environment variables filled by ECS from Secrets Manager: variable name → secret ARN. */
  secrets: Record<string, pulumi.Input<string>>;
  logGroupName: pulumi.Input<string>;
  logGroupArn: pulumi.Input<string>;
  region: pulumi.Input<string>;
}

const isTargetTracking = (scaling: TodoServiceArgs['scaling']): scaling is TargetTrackingScaling => 'maxCount' in scaling;

/**
 * One TaskOverflow service on ECS Fargate: its image (built from the root Dockerfile for it and
 * pushed to its own ECR repository), a task definition, the service registered in its target
 * group, and optionally target-tracking autoscaling.
 *
 * The task has no task role: the service calls no AWS API (its logs leave through stdout and
 * the awslogs driver). The execution role, used by ECS itself, may pull this image, write to
 * the log group and read exactly the secrets the task is given, nothing more.
 */
export class TodoService extends pulumi.ComponentResource {
  readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: TodoServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:TodoService', name, {}, opts);
    const { service } = args;
    const containerPort = CONTAINER_PORTS[service];

    const repository = new aws.ecr.Repository(
      name,
      { forceDelete: true, imageScanningConfiguration: { scanOnPush: true } },
      { parent: this },
    );
    new aws.ecr.LifecyclePolicy(
      name,
      {
        repository: repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: 'Keep the last 10 untagged images (earlier deploys) for rollbacks',
              selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 10 },
              action: { type: 'expire' },
            },
          ],
        }),
      },
      { parent: this },
    );
    const image = new awsx.ecr.Image(
      name,
      {
        repositoryUrl: repository.repositoryUrl,
        context: REPOSITORY_ROOT,
        dockerfile: `${REPOSITORY_ROOT}/Dockerfile`,
        args: { PACKAGE_DIR: `services/${service}`, PORT: String(containerPort) },
        platform: 'linux/amd64',
      },
      { parent: this },
    );

    const secretArns = Object.values(args.secrets);
    const executionRole = new aws.iam.Role(
      `${name}-execution`,
      {
        description: `ECS pulls the ${service} image, writes its logs and reads its secrets`,
        assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ecs-tasks.amazonaws.com' }),
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-execution`,
      {
        role: executionRole.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            // GetAuthorizationToken has no resource-level permissions.
            { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
            {
              Effect: 'Allow',
              Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
              Resource: repository.arn,
            },
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: pulumi.interpolate`${args.logGroupArn}:log-stream:*`,
            },
            ...secretArns.map((secretArn) => ({ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: secretArn })),
          ],
        }),
      },
      { parent: this },
    );

    const taskDefinition = new aws.ecs.TaskDefinition(
      name,
      {
        family: `${name}-${pulumi.getStack()}`,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(args.size.cpu),
        memory: String(args.size.memory),
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        executionRoleArn: executionRole.arn,
        containerDefinitions: pulumi.jsonStringify([
          {
            name: service,
            image: image.imageUri,
            essential: true,
            portMappings: [{ containerPort, protocol: 'tcp' }],
            environment: Object.entries(args.environment).map(([variable, value]) => ({ name: variable, value })),
            secrets: Object.entries(args.secrets).map(([variable, secretArn]) => ({ name: variable, valueFrom: secretArn })),
            stopTimeout: STOP_TIMEOUT_SECONDS,
            readonlyRootFilesystem: true,
            logConfiguration: {
              logDriver: 'awslogs',
              options: {
                'awslogs-group': args.logGroupName,
                'awslogs-region': args.region,
                // Streams are named <prefix>/<container>/<task id>: one per service and task.
                'awslogs-stream-prefix': service,
              },
            },
          },
        ]),
      },
      { parent: this },
    );

    const { scaling } = args;
    const ecsService = new aws.ecs.Service(
      name,
      {
        cluster: args.clusterArn,
        taskDefinition: taskDefinition.arn,
        launchType: 'FARGATE',
        desiredCount: isTargetTracking(scaling) ? scaling.minCount : scaling.desiredCount,
        networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: false },
        loadBalancers: [{ targetGroupArn: args.targetGroup.arn, containerName: service, containerPort }],
        healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
        // Rolling deploys: new tasks start beside the old ones; a deploy whose tasks never get
        // healthy is rolled back instead of leaving the service down.
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        waitForSteadyState: true,
        propagateTags: 'SERVICE',
      },
      // Once autoscaling owns the task count, a deploy must not reset it.
      { parent: this, ignoreChanges: isTargetTracking(scaling) ? ['desiredCount'] : [] },
    );
    this.serviceName = ecsService.name;

    if (isTargetTracking(scaling)) {
      this.addTargetTrackingScaling(name, args.clusterName, ecsService, args.targetGroup, scaling);
    }
    this.registerOutputs({ serviceName: this.serviceName });
  }

  private addTargetTrackingScaling(
    name: string,
    clusterName: pulumi.Input<string>,
    ecsService: aws.ecs.Service,
    targetGroup: aws.lb.TargetGroup,
    scaling: TargetTrackingScaling,
  ): void {
    const target = new aws.appautoscaling.Target(
      name,
      {
        serviceNamespace: 'ecs',
        scalableDimension: 'ecs:service:DesiredCount',
        resourceId: pulumi.interpolate`service/${clusterName}/${ecsService.name}`,
        minCapacity: scaling.minCount,
        maxCapacity: scaling.maxCount,
      },
      { parent: this },
    );
    const trackingPolicy = (metric: string, predefinedMetricType: string, targetValue: number, resourceLabel?: pulumi.Input<string>) =>
      new aws.appautoscaling.Policy(
        `${name}-${metric}`,
        {
          policyType: 'TargetTrackingScaling',
          serviceNamespace: target.serviceNamespace,
          scalableDimension: target.scalableDimension,
          resourceId: target.resourceId,
          targetTrackingScalingPolicyConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType, resourceLabel },
            targetValue,
            // Scale out fast when load arrives, in slowly so a bursty load test does not flap.
            scaleOutCooldown: 60,
            scaleInCooldown: 300,
          },
        },
        { parent: this },
      );
    trackingPolicy('cpu', 'ECSServiceAverageCPUUtilization', scaling.cpuTargetPercent);
    trackingPolicy(
      'requests',
      'ALBRequestCountPerTarget',
      scaling.requestsPerTarget,
      pulumi.interpolate`${scaling.loadBalancerArnSuffix}/${targetGroup.arnSuffix}`,
    );
  }
}
