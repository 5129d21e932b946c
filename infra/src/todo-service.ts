import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import type { ServiceName } from '@taskoverflow/routing';
import { DEPLOYMENT_MAXIMUM_PERCENT, type TaskSize } from './config.js';
import { describeService, judgeDeployment } from './deployment-check.js';
import { createExecutionRole } from './execution-role.js';
import { CONTAINER_PORTS } from './ports.js';

/** The repository root, relative to infra/ (Pulumi runs the program there): the image build context. */
const REPOSITORY_ROOT = '..';

/**
 * The Dockerfile stage the AWS images are built from: the runtime image plus the RDS CA bundle,
 * checked against rdsCaBundleSha256 (docker-compose builds `runtime`, without it).
 */
export const AWS_IMAGE_STAGE = 'aws';

/**
 * Seconds between SIGTERM and SIGKILL when ECS stops a task. The services take up to
 * SHUTDOWN_GRACE_MS (10 s, packages/http-kit/src/server.ts) to finish in-flight requests and
 * close their pools; this leaves them 5 s more so they always exit on their own.
 */
export const STOP_TIMEOUT_SECONDS = 15;

/** How long ECS ignores failing ALB health checks of a new task while it starts. */
const HEALTH_CHECK_GRACE_SECONDS = 60;

/**
 * How the awslogs driver delivers stdout, set explicitly rather than left to ECS's defaults.
 * Non-blocking: when CloudWatch Logs is slow, lines wait in this buffer and, once it is full,
 * are dropped. Blocking would instead stall the service's stdout writes, and with them its
 * event loop and every request: for an API, losing log lines beats losing requests. 25 MiB
 * holds about half a minute of a task's lines at the request rate it scales at (765 req/s ×
 * 3 lines × ≈ 400 bytes ≈ 0.9 MB/s), well inside the task's memory.
 */
export const AWSLOGS_DELIVERY = { mode: 'non-blocking', 'max-buffer-size': '25m' } as const;

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
  /**
   * A step the service's deployment waits for, given the service's image (todo-write: the
   * one-shot migration task, which runs that image): the ECS service changes only once it succeeded.
   */
  runBeforeDeploy?: (image: BuiltImage) => pulumi.Resource;
  /** The Dockerfile's RDS_CA_BUNDLE_SHA256 build argument. */
  rdsCaBundleSha256: string;
  logGroupName: pulumi.Input<string>;
  logGroupArn: pulumi.Input<string>;
  region: pulumi.Input<string>;
}

/** A service's image and the ECR repository it is pushed to. */
export interface BuiltImage {
  imageUri: pulumi.Output<string>;
  repositoryArn: pulumi.Output<string>;
}

const isTargetTracking = (scaling: TodoServiceArgs['scaling']): scaling is TargetTrackingScaling =>
  'maxCount' in scaling;

/**
 * When this program run started: ECS events since then belong to this update. Compared with
 * ECS's own timestamps, so the deploying machine's clock must be right to within seconds (NTP).
 */
const UPDATE_STARTED_AT = new Date();

/**
 * One TaskOverflow service on ECS Fargate: its image (built from the root Dockerfile for it and
 * pushed to its own ECR repository), a task definition, the service registered in its target
 * group, and optionally target-tracking autoscaling.
 *
 * `deployedTaskDefinition` resolves once the service's steady-state wait is over and ECS
 * confirms the deployment (judgeDeployment in deployment-check.ts): healthy, or still rolling
 * out / scaling out (a warning); a rolled-back or failed deployment fails the update with the
 * service's recent events.
 *
 * The task has no task role: the service calls no AWS API (its logs leave through stdout and
 * the awslogs driver). The execution role, used by ECS itself, may pull this image, write to
 * the log group and read exactly the secrets the task is given, nothing more.
 */
export class TodoService extends pulumi.ComponentResource {
  readonly serviceName: pulumi.Output<string>;
  readonly serviceArn: pulumi.Output<string>;
  /** The task definition the service runs after this update; rejects when the deploy failed. */
  readonly deployedTaskDefinition: pulumi.Output<string>;

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
        target: AWS_IMAGE_STAGE,
        args: {
          PACKAGE_DIR: `services/${service}`,
          PORT: String(containerPort),
          RDS_CA_BUNDLE_SHA256: args.rdsCaBundleSha256,
        },
        platform: 'linux/amd64',
      },
      { parent: this },
    );

    const secretArns = [...new Set(Object.values(args.secrets))];
    const executionRole = createExecutionRole(
      name,
      {
        description: `ECS pulls the ${service} image, writes its logs and reads its secrets`,
        repositoryArn: repository.arn,
        logGroupArn: args.logGroupArn,
        secretArns,
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
            environment: environmentOf(args.environment),
            secrets: secretsOf(args.secrets),
            stopTimeout: STOP_TIMEOUT_SECONDS,
            readonlyRootFilesystem: true,
            logConfiguration: logConfigurationOf(args, service),
          },
        ]),
      },
      { parent: this },
    );

    const { scaling } = args;
    const firstStep = args.runBeforeDeploy?.({ imageUri: image.imageUri, repositoryArn: repository.arn });
    const ecsService = new aws.ecs.Service(
      name,
      {
        cluster: args.clusterArn,
        taskDefinition: taskDefinition.arn,
        launchType: 'FARGATE',
        desiredCount: isTargetTracking(scaling) ? scaling.minCount : scaling.desiredCount,
        networkConfiguration: {
          subnets: args.subnetIds,
          securityGroups: [args.securityGroupId],
          assignPublicIp: false,
        },
        loadBalancers: [{ targetGroupArn: args.targetGroup.arn, containerName: service, containerPort }],
        healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
        // Rolling deploys: new tasks start beside the old ones; a deploy whose tasks never get
        // healthy is rolled back instead of leaving the service down.
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: DEPLOYMENT_MAXIMUM_PERCENT,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        waitForSteadyState: true,
        propagateTags: 'SERVICE',
      },
      // Once autoscaling owns the task count, a deploy must not reset it.
      {
        parent: this,
        ignoreChanges: isTargetTracking(scaling) ? ['desiredCount'] : [],
        dependsOn: firstStep ? [firstStep] : [],
      },
    );
    this.serviceName = ecsService.name;
    this.serviceArn = ecsService.arn;
    this.deployedTaskDefinition = pulumi
      .all([ecsService.name, taskDefinition.arn, args.clusterName, args.region])
      .apply(async ([serviceName, registered, cluster, region]) => {
        // A preview deploys nothing: there is no deployment to judge.
        if (pulumi.runtime.isDryRun()) return registered;
        const described = await describeService({ region, cluster, service: serviceName });
        const verdict = judgeDeployment(described, {
          registeredTaskDefinition: registered,
          startedAt: UPDATE_STARTED_AT,
        });
        if (verdict.kind === 'rolled-back' || verdict.kind === 'failed') {
          throw new pulumi.RunError(
            `${service} failed to deploy: ${verdict.message}. Its tasks' logs and stopped reasons say why (docs/deploy.md, "How a failed deploy surfaces")`,
          );
        }
        if (verdict.kind === 'in-progress') await pulumi.log.warn(`${service}: ${verdict.message}`, this);
        return registered;
      });

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
    const trackingPolicy = (
      metric: string,
      predefinedMetricType: string,
      targetValue: number,
      resourceLabel?: pulumi.Input<string>,
    ) =>
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

export const environmentOf = (variables: Record<string, pulumi.Input<string>>) =>
  Object.entries(variables).map(([variable, value]) => ({ name: variable, value }));
export const secretsOf = (variables: Record<string, pulumi.Input<string>>) =>
  Object.entries(variables).map(([variable, secretArn]) => ({ name: variable, valueFrom: secretArn }));

function logConfigurationOf(args: Pick<TodoServiceArgs, 'logGroupName' | 'region'>, service: ServiceName) {
  return {
    logDriver: 'awslogs',
    options: {
      'awslogs-group': args.logGroupName,
      'awslogs-region': args.region,
      // Streams are named <prefix>/<container>/<task id>: one per service, container and task.
      'awslogs-stream-prefix': service,
      ...AWSLOGS_DELIVERY,
    },
  };
}
