import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface ExecutionRoleArgs {
  /** What the tasks of this role are, for the role's description in the console. */
  description: string;
  repositoryArn: pulumi.Input<string>;
  logGroupArn: pulumi.Input<string>;
  /** The secrets ECS injects into the task's containers (whole secrets, not JSON keys). */
  secretArns: pulumi.Input<string>[];
}

/**
 * The role ECS itself uses to start a task: pull its image, write its logs, read its secrets.
 * One rule for the services and the one-shot migration task, so neither can grant more.
 */
export function createExecutionRole(
  name: string,
  args: ExecutionRoleArgs,
  opts: pulumi.CustomResourceOptions,
): aws.iam.Role {
  const role = new aws.iam.Role(
    `${name}-execution`,
    {
      description: args.description,
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: 'ecs-tasks.amazonaws.com' }),
    },
    opts,
  );
  new aws.iam.RolePolicy(
    `${name}-execution`,
    {
      role: role.id,
      policy: pulumi.jsonStringify({
        Version: '2012-10-17',
        Statement: [
          // GetAuthorizationToken has no resource-level permissions.
          { Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
          {
            Effect: 'Allow',
            Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
            Resource: args.repositoryArn,
          },
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: pulumi.interpolate`${args.logGroupArn}:log-stream:*`,
          },
          ...args.secretArns.map((secretArn) => ({
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue'],
            Resource: secretArn,
          })),
        ],
      }),
    },
    opts,
  );
  return role;
}
