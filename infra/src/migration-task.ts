import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { MIGRATION_PASSWORD_VARIABLE, ROLE_PASSWORD_VARIABLES } from '@taskoverflow/db/roles';
import type { Database } from './database.js';
import { createExecutionRole } from './execution-role.js';
import { AWSLOGS_DELIVERY, environmentOf, secretsOf } from './todo-service.js';

/**
 * The migrate CLI of @taskoverflow/db (packages/db/src/cli/migrate.ts) inside the todo-write
 * image, relative to its WORKDIR: `pnpm deploy` puts the compiled package in node_modules.
 */
export const MIGRATE_COMMAND = ['node', 'node_modules/@taskoverflow/db/dist/cli/migrate.js'];
/** The same CLI's bootstrap: as the master user, creates (or updates) the migration role. */
export const BOOTSTRAP_COMMAND = [...MIGRATE_COMMAND, '--bootstrap'];

/** The log streams of the one-shot task: `migration/<container>/<task id>`. */
export const MIGRATION_STREAM_PREFIX = 'migration';

/** The runner Lambda's source, deployed as is (plain JavaScript). */
export const RUNNER_SOURCE = fileURLToPath(new URL('./one-shot-task/index.mjs', import.meta.url));

/** Lambda's longest run, in seconds: the runner's bound on starting the task (image pull included) and migrating. */
const RUNNER_TIMEOUT_SECONDS = 900;

export interface MigrationTaskArgs {
  clusterArn: pulumi.Input<string>;
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
  /** todo-write's image, which carries the migrate CLI and the RDS CA bundle. */
  image: pulumi.Input<string>;
  /** Its ECR repository, which the task's execution role may pull from. */
  repositoryArn: pulumi.Input<string>;
  database: Database;
  logGroupName: pulumi.Input<string>;
  logGroupArn: pulumi.Input<string>;
  region: pulumi.Input<string>;
  /** What must exist before the task runs: the security-group rules that let it reach PostgreSQL. */
  dependsOn: pulumi.Resource[];
}

/**
 * Migrations, once per deploy, before any service changes: a one-shot ECS task that `pulumi up`
 * runs to its end through a small Lambda function (src/one-shot-task/index.mjs) and an
 * `aws.lambda.Invocation`. The invocation runs again whenever its input changes, that is when
 * the task definition does (a new image, new migrations, a rotated password); todo-write's
 * service depends on it, so a failed migration fails `pulumi up` before any task changes.
 *
 * The task has two containers, run in turn:
 *
 * - `bootstrap`: `migrate --bootstrap` as the RDS master user (RDS's managed secret): creates
 *   the migration role, sets its password and hands it the schema. The only container anywhere
 *   that gets the master password.
 * - `migrate`: `migrate` as the migration role, which owns the schema: applies pending
 *   migrations (a database ahead of the code is left as it is) and sets the service roles'
 *   passwords.
 *
 * No service task migrates or holds either password: an old todo-write task started after a
 * rollback just starts, on a schema that is ahead of it (the expand/contract rule in docs/deploy.md).
 */
export class MigrationTask extends pulumi.ComponentResource {
  readonly taskDefinitionArn: pulumi.Output<string>;
  /** The run this deploy made (the runner's answer: the task and each container's exit code). */
  readonly invocation: aws.lambda.Invocation;

  constructor(name: string, args: MigrationTaskArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:MigrationTask', name, {}, opts);
    const { database } = args;
    const { master, credentials } = database;

    const secretArns = [
      // ECS reads the master password as a JSON key of RDS's secret; IAM grants the secret itself.
      master.passwordSecretArn.apply((valueFrom) => valueFrom.replace(/:password::$/, '')),
      credentials.migration.passwordSecretArn,
      credentials['todo-read'].passwordSecretArn,
      credentials['todo-write'].passwordSecretArn,
    ];
    const executionRole = createExecutionRole(
      name,
      {
        description:
          'ECS pulls the todo-write image for the one-shot migration task, writes its logs and reads its secrets',
        repositoryArn: args.repositoryArn,
        logGroupArn: args.logGroupArn,
        secretArns,
      },
      { parent: this },
    );

    const logConfiguration = {
      logDriver: 'awslogs',
      options: {
        'awslogs-group': args.logGroupName,
        'awslogs-region': args.region,
        'awslogs-stream-prefix': MIGRATION_STREAM_PREFIX,
        ...AWSLOGS_DELIVERY,
      },
    };
    const taskDefinition = new aws.ecs.TaskDefinition(
      name,
      {
        family: `${name}-${pulumi.getStack()}`,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        executionRoleArn: executionRole.arn,
        containerDefinitions: pulumi.jsonStringify([
          {
            name: 'bootstrap',
            image: args.image,
            essential: false,
            command: BOOTSTRAP_COMMAND,
            environment: environmentOf({ DATABASE_URL: master.url }),
            secrets: secretsOf({
              PGPASSWORD: master.passwordSecretArn,
              [MIGRATION_PASSWORD_VARIABLE]: credentials.migration.passwordSecretArn,
            }),
            readonlyRootFilesystem: true,
            logConfiguration,
          },
          {
            name: 'migrate',
            image: args.image,
            essential: true,
            dependsOn: [{ containerName: 'bootstrap', condition: 'SUCCESS' }],
            command: MIGRATE_COMMAND,
            environment: environmentOf({
              DATABASE_URL: credentials.migration.url,
              // A new password is a new task definition, so the invocation runs again and sets it.
              CREDENTIALS_REVISION: credentialsRevision([
                credentials.migration.versionId,
                credentials['todo-read'].versionId,
                credentials['todo-write'].versionId,
              ]),
            }),
            secrets: secretsOf({
              PGPASSWORD: credentials.migration.passwordSecretArn,
              [ROLE_PASSWORD_VARIABLES['todo-read']]: credentials['todo-read'].passwordSecretArn,
              [ROLE_PASSWORD_VARIABLES['todo-write']]: credentials['todo-write'].passwordSecretArn,
            }),
            readonlyRootFilesystem: true,
            logConfiguration,
          },
        ]),
      },
      { parent: this },
    );

    const runner = this.runner(name, taskDefinition, executionRole, args);
    this.invocation = new aws.lambda.Invocation(
      name,
      {
        functionName: runner.function.name,
        // A new task definition (image, migrations, passwords) replaces the invocation: it runs again.
        triggers: { taskDefinition: taskDefinition.arn },
        input: pulumi.jsonStringify({
          cluster: args.clusterArn,
          taskDefinition: taskDefinition.arn,
          subnets: args.subnetIds,
          securityGroups: [args.securityGroupId],
          logGroup: args.logGroupName,
          streamPrefix: MIGRATION_STREAM_PREFIX,
        }),
      },
      { parent: this, dependsOn: [runner.policy, ...args.dependsOn] },
    );
    this.taskDefinitionArn = taskDefinition.arn;
    this.registerOutputs({ taskDefinitionArn: this.taskDefinitionArn });
  }

  /** The Lambda function that runs the task to its end, allowed to run exactly this task family in this cluster. */
  private runner(
    name: string,
    taskDefinition: aws.ecs.TaskDefinition,
    executionRole: aws.iam.Role,
    args: MigrationTaskArgs,
  ) {
    const role = new aws.iam.Role(
      `${name}-runner`,
      {
        description: 'Runs the one-shot migration task during pulumi up and waits for it',
        assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'lambda.amazonaws.com' }),
      },
      { parent: this },
    );
    const inCluster = { ArnEquals: { 'ecs:cluster': args.clusterArn } };
    const policy = new aws.iam.RolePolicy(
      `${name}-runner`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['ecs:RunTask'],
              Resource: pulumi.interpolate`${taskDefinition.arnWithoutRevision}:*`,
              Condition: inCluster,
            },
            { Effect: 'Allow', Action: ['ecs:DescribeTasks'], Resource: '*', Condition: inCluster },
            {
              Effect: 'Allow',
              Action: ['iam:PassRole'],
              Resource: executionRole.arn,
              Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
            },
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: pulumi.interpolate`${args.logGroupArn}:log-stream:*`,
            },
          ],
        }),
      },
      { parent: this },
    );
    const runnerFunction = new aws.lambda.Function(
      `${name}-runner`,
      {
        description: 'TaskOverflow: runs the one-shot migration task to its end for pulumi up',
        runtime: aws.lambda.Runtime.NodeJS22dX,
        architectures: ['arm64'],
        handler: 'index.handler',
        code: new pulumi.asset.AssetArchive({ 'index.mjs': new pulumi.asset.FileAsset(RUNNER_SOURCE) }),
        role: role.arn,
        timeout: RUNNER_TIMEOUT_SECONDS,
        memorySize: 128,
        // Its lines go to the stack's log group, beside the task's own.
        loggingConfig: { logFormat: 'JSON', logGroup: args.logGroupName },
      },
      { parent: this, dependsOn: [policy] },
    );
    return { function: runnerFunction, policy };
  }
}

/**
 * A short digest of secret versions: a plain variable in the task definitions that read those
 * secrets, so that a new version (a rotated password) registers a new task definition and ECS
 * replaces the tasks, which read the secrets when they start. The version ids are no secret.
 */
export function credentialsRevision(versionIds: (pulumi.Input<string> | undefined)[]): pulumi.Output<string> {
  return pulumi
    .all(versionIds.map((versionId) => versionId ?? ''))
    .apply((ids) => createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 16));
}
