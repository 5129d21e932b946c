/**
 * The Lambda function that runs the one-shot migration task for `pulumi up`
 * (src/one-shot-task/index.mjs), against a stand-in for ECS that answers RunTask and
 * DescribeTasks as ECS does: it waits for the task to stop, and fails unless every container
 * exited 0, naming the one that did not and its log stream.
 */
import t from 'tap';
import { runToCompletion } from '../src/one-shot-task/index.mjs';

const TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/taskoverflow-cluster/0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const INPUT = {
  cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/taskoverflow-cluster',
  taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/taskoverflow-migration-prod:4',
  subnets: ['subnet-a', 'subnet-b'],
  securityGroups: ['sg-migration'],
  logGroup: 'taskoverflow-prod',
  streamPrefix: 'migration',
};

interface Command {
  constructor: { name: string };
  input: Record<string, unknown>;
}

/** ECS answering with `statuses` in turn for DescribeTasks, the last one STOPPED with `containers`. */
function fakeEcs(
  statuses: string[],
  containers: Record<string, unknown>[],
  runTask: Record<string, unknown> = { tasks: [{ taskArn: TASK_ARN }] },
) {
  const sent: Command[] = [];
  let described = 0;
  return {
    sent,
    async send(command: Command) {
      sent.push(command);
      if (command.constructor.name === 'RunTaskCommand') return runTask;
      const lastStatus = statuses[Math.min(described++, statuses.length - 1)];
      return {
        tasks: [
          {
            taskArn: TASK_ARN,
            lastStatus,
            stoppedReason: 'Essential container in task exited',
            containers: lastStatus === 'STOPPED' ? containers : [],
          },
        ],
      };
    },
  };
}
const clock = (remaining = 600_000) => {
  const sleeps: number[] = [];
  return { sleeps, remainingMilliseconds: () => remaining, sleep: async (ms: number) => void sleeps.push(ms) };
};

t.test('runs the task on Fargate in the private subnets and waits until it stopped', async (t) => {
  const ecs = fakeEcs(
    ['PROVISIONING', 'PENDING', 'RUNNING', 'STOPPED'],
    [
      { name: 'bootstrap', exitCode: 0 },
      { name: 'migrate', exitCode: 0 },
    ],
  );
  const timer = clock();
  const result = await runToCompletion(ecs, INPUT, timer);
  t.same(result, {
    taskArn: TASK_ARN,
    containers: [
      { name: 'bootstrap', exitCode: 0 },
      { name: 'migrate', exitCode: 0 },
    ],
  });
  t.match(ecs.sent[0]!.input, {
    cluster: INPUT.cluster,
    taskDefinition: INPUT.taskDefinition,
    launchType: 'FARGATE',
    count: 1,
    networkConfiguration: {
      awsvpcConfiguration: { subnets: INPUT.subnets, securityGroups: INPUT.securityGroups, assignPublicIp: 'DISABLED' },
    },
  });
  t.same(
    ecs.sent.map((command) => command.constructor.name),
    ['RunTaskCommand', 'DescribeTasksCommand', 'DescribeTasksCommand', 'DescribeTasksCommand', 'DescribeTasksCommand'],
  );
  t.equal(timer.sleeps.length, 3, 'polls until STOPPED');
});

t.test('a failed migration fails the invocation, naming the container, its exit code and log stream', async (t) => {
  const ecs = fakeEcs(
    ['RUNNING', 'STOPPED'],
    [
      { name: 'bootstrap', exitCode: 0 },
      { name: 'migrate', exitCode: 1 },
    ],
  );
  await t.rejects(runToCompletion(ecs, INPUT, clock()), {
    message:
      'one-shot task 0f1e2d3c4b5a69788796a5b4c3d2e1f0 of arn:aws:ecs:eu-west-1:123456789012:task-definition/taskoverflow-migration-prod:4 ' +
      'failed (Essential container in task exited): migrate exited 1: log stream migration/migrate/0f1e2d3c4b5a69788796a5b4c3d2e1f0 ' +
      'in log group taskoverflow-prod',
  });
});

t.test('a bootstrap that fails leaves migrate never run, and says so', async (t) => {
  const ecs = fakeEcs(
    ['STOPPED'],
    [
      { name: 'bootstrap', exitCode: 1, reason: undefined },
      { name: 'migrate', reason: 'CannotStartContainerError: dependency bootstrap did not succeed' },
    ],
  );
  await t.rejects(
    runToCompletion(ecs, INPUT, clock()),
    /bootstrap exited 1: .*; migrate never ran \(CannotStartContainerError/,
  );
});

t.test('a task ECS cannot start fails at once with its reasons', async (t) => {
  const ecs = fakeEcs([], [], {
    tasks: [],
    failures: [{ reason: 'RESOURCE:ENI', detail: 'no free IP addresses in subnet-a' }],
  });
  await t.rejects(runToCompletion(ecs, INPUT, clock()), {
    message: `ECS did not start ${INPUT.taskDefinition}: RESOURCE:ENI (no free IP addresses in subnet-a)`,
  });
});

t.test('gives up before Lambda times out, saying where the still-running task logs', async (t) => {
  const ecs = fakeEcs(['RUNNING'], []);
  await t.rejects(
    runToCompletion(ecs, INPUT, clock(10_000)),
    /is still RUNNING; gave up waiting \(its logs: taskoverflow-prod, streams migration\/\*\/0f1e2d3c/,
  );
});
