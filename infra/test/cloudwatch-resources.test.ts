/**
 * The stack output `pnpm loadtest --aws-outputs` reads (packages/trace/src/cloudwatch/resources.ts):
 * every name the report needs to read a run back from CloudWatch, each the one of the resource
 * the program made.
 */
import t from 'tap';
import { deployWithMocks, MOCK_REGION, TYPES } from './helpers/mock-deployment.js';

t.test('cloudWatchResources names the log group and every metric dimension, with the task maxima', async (t) => {
  const deployment = await deployWithMocks({ readMaxCount: '7', writeDesiredCount: '2', dbMaxConnections: '150' });
  const resources = deployment.outputs.cloudWatchResources as Record<string, unknown> & {
    services: Record<string, { serviceName: string; targetGroupArnSuffix: string; maxTasks: number }>;
  };
  t.equal(resources.region, MOCK_REGION);
  t.equal(resources.logGroupName, deployment.outputs.logGroupName);
  const ecsNames = deployment.ofType(TYPES.ecsService).map((service) => service.state.name as string);
  const targetGroupSuffixes = deployment.ofType(TYPES.targetGroup).map((group) => group.state.arnSuffix as string);
  for (const [service, maxTasks] of [
    ['todo-read', 7],
    ['todo-write', 2],
  ] as const) {
    const named = resources.services[service]!;
    t.ok(ecsNames.includes(named.serviceName), `${service}: its ECS service (${named.serviceName})`);
    t.ok(
      targetGroupSuffixes.includes(named.targetGroupArnSuffix),
      `${service}: its target group (${named.targetGroupArnSuffix})`,
    );
    t.equal(named.maxTasks, maxTasks, `${service}: its most tasks`);
  }
  t.equal(resources.loadBalancerArnSuffix, deployment.ofType(TYPES.loadBalancer)[0]!.state.arnSuffix);
  t.equal(resources.databaseInstanceId, deployment.ofType(TYPES.rdsInstance)[0]!.state.identifier);
  t.equal(resources.databaseMaxConnections, 150);
  t.type(resources.clusterName, 'string');
  t.type(resources.cacheClusterId, 'string');
});
