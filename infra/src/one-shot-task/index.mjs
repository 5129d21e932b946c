// The Lambda function `pulumi up` invokes (aws.lambda.Invocation, infra/src/migration-task.ts)
// to run a one-shot ECS task to its end: it starts the task, waits for it to stop and fails
// unless every container exited 0, naming each one that did not with its log stream. Plain
// JavaScript, as Lambda's Node.js runtime runs it; the AWS SDK v3 is part of that runtime.
import { DescribeTasksCommand, ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';

/** How often the task's state is read while it runs. */
const POLL_MILLISECONDS = 5_000;
/** Stop waiting this long before Lambda's own timeout, to fail with a message rather than a timeout. */
const MARGIN_MILLISECONDS = 15_000;

/**
 * @typedef {object} OneShotInput
 * @property {string} cluster
 * @property {string} taskDefinition
 * @property {string[]} subnets
 * @property {string[]} securityGroups
 * @property {string} logGroup the task's log group, for the streams named in a failure
 * @property {string} streamPrefix its containers' awslogs-stream-prefix
 */

/**
 * Runs the task once and waits for it to stop. `ecs` is an ECSClient (or anything with its
 * `send`); `remainingMilliseconds` says how long the caller may still wait.
 * @param {{ send: (command: unknown) => Promise<any> }} ecs
 * @param {OneShotInput} input
 * @param {{ remainingMilliseconds: () => number, sleep: (ms: number) => Promise<void> }} clock
 * @returns {Promise<{ taskArn: string, containers: { name: string, exitCode: number }[] }>}
 */
export async function runToCompletion(ecs, input, clock) {
  const started = await ecs.send(
    new RunTaskCommand({
      cluster: input.cluster,
      taskDefinition: input.taskDefinition,
      launchType: 'FARGATE',
      count: 1,
      startedBy: 'pulumi-up',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: input.subnets,
          securityGroups: input.securityGroups,
          assignPublicIp: 'DISABLED',
        },
      },
    }),
  );
  const taskArn = started.tasks?.[0]?.taskArn;
  if (!taskArn) {
    const failures = (started.failures ?? []).map(
      (failure) => `${failure.reason}${failure.detail ? ` (${failure.detail})` : ''}`,
    );
    throw new Error(
      `ECS did not start ${input.taskDefinition}: ${failures.join('; ') || 'no task and no failure reported'}`,
    );
  }
  const taskId = taskArn.split('/').at(-1);
  for (;;) {
    const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: input.cluster, tasks: [taskArn] }));
    const task = tasks?.[0];
    if (task?.lastStatus === 'STOPPED') {
      const containers = (task.containers ?? []).map((container) => ({
        name: container.name,
        exitCode: container.exitCode,
        reason: container.reason,
      }));
      const failed = containers.filter((container) => container.exitCode !== 0);
      if (failed.length > 0) {
        const details = failed.map(
          (container) =>
            `${container.name} ${container.exitCode === undefined ? 'never ran' : `exited ${container.exitCode}`}` +
            `${container.reason ? ` (${container.reason})` : ''}: log stream ${input.streamPrefix}/${container.name}/${taskId}`,
        );
        throw new Error(
          `one-shot task ${taskId} of ${input.taskDefinition} failed (${task.stoppedReason ?? 'no stopped reason'}): ` +
            `${details.join('; ')} in log group ${input.logGroup}`,
        );
      }
      return { taskArn, containers: containers.map(({ name, exitCode }) => ({ name, exitCode })) };
    }
    if (clock.remainingMilliseconds() < POLL_MILLISECONDS + MARGIN_MILLISECONDS) {
      throw new Error(
        `one-shot task ${taskId} of ${input.taskDefinition} is still ${task?.lastStatus ?? 'unknown'}; gave up waiting ` +
          `(its logs: ${input.logGroup}, streams ${input.streamPrefix}/*/${taskId}); it keeps running, run pulumi up again once it stopped`,
      );
    }
    await clock.sleep(POLL_MILLISECONDS);
  }
}

/** @param {OneShotInput} event @param {{ getRemainingTimeInMillis: () => number }} context */
export async function handler(event, context) {
  const result = await runToCompletion(new ECSClient({}), event, {
    remainingMilliseconds: () => context.getRemainingTimeInMillis(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
  console.log(JSON.stringify({ msg: 'one-shot task completed', ...result }));
  return result;
}
