import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { SERVICE_NODE_OPTIONS, type ServiceName } from '@taskoverflow/routing';
import type { Cache } from './cache.js';
import type { StackConfig } from './config.js';
import type { Database } from './database.js';
import type { LoadBalancer } from './load-balancer.js';
import type { Logs } from './logs.js';
import type { Network } from './network.js';
import { credentialsRevision, MigrationTask } from './migration-task.js';
import { CONTAINER_PORTS } from './ports.js';
import { TodoService, type TodoServiceArgs } from './todo-service.js';

export interface ServicesArgs {
  config: Pick<StackConfig, 'read' | 'write' | 'app' | 'rdsCaBundleSha256'>;
  network: Network;
  database: Database;
  cache: Cache;
  loadBalancer: LoadBalancer;
  logs: Logs;
}

/**
 * The ECS cluster and the two services in it, wired to the database, the cache, the log group
 * and their target groups. Both get the same settings (the variables their config.ts reads),
 * each its own database role.
 *
 * Order within a deploy: the one-shot migration task (MigrationTask) runs first, then
 * todo-write deploys, then, once its deploy is verified (TodoService.deployedTaskDefinition),
 * todo-read. A failed migration changes no service; a failed write deploy stops `pulumi up`
 * before todo-read; new read code never meets an old schema.
 *
 * Each task definition carries CREDENTIALS_REVISION, a digest of the versions of the secrets
 * its tasks read: a rotated password is a new task definition, so ECS replaces the tasks and
 * they read the new value (ECS reads secrets only when a task starts).
 */
export class Services extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly serviceNames: Record<ServiceName, pulumi.Output<string>>;
  readonly serviceArns: Record<ServiceName, pulumi.Output<string>>;
  /** Each service's verified task definition (TodoService.deployedTaskDefinition). */
  readonly deployedTaskDefinitions: Record<ServiceName, pulumi.Output<string>>;

  constructor(name: string, args: ServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Services', name, {}, opts);
    const { config, network, database, cache, loadBalancer, logs } = args;

    const cluster = new aws.ecs.Cluster(name, {}, { parent: this });
    const region = aws.getRegionOutput({}, { parent: this }).region;

    const common = (service: ServiceName) =>
      ({
        service,
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        subnetIds: network.privateSubnetIds,
        securityGroupId: network.securityGroups.services[service].id,
        targetGroup: loadBalancer.targetGroups[service],
        environment: {
          CREDENTIALS_REVISION: credentialsRevision([
            database.credentials[service].versionId,
            cache.urlSecretVersionId,
          ]),
          PORT: String(CONTAINER_PORTS[service]),
          // The V8 heap sizing every service runs with, as the image's ENV and the local stack.
          NODE_OPTIONS: SERVICE_NODE_OPTIONS,
          DATABASE_URL: database.credentials[service].url,
          LOG_LEVEL: config.app.logLevel,
          PG_POOL_MAX: String(config.app.pgPoolMax),
          PG_STATEMENT_TIMEOUT_MS: String(config.app.pgStatementTimeoutMs),
          RATE_LIMIT_MAX_REQUESTS: String(config.app.rateLimitMaxRequests[service]),
          RATE_LIMIT_WINDOW_S: String(config.app.rateLimitWindowSeconds),
          // The ALB is the one proxy in front: the client is the address it appends to X-Forwarded-For.
          TRUST_PROXY_HOPS: '1',
        },
        secrets: { PGPASSWORD: database.credentials[service].passwordSecretArn, REDIS_URL: cache.urlSecretArn },
        rdsCaBundleSha256: config.rdsCaBundleSha256,
        logGroupName: logs.groupName,
        logGroupArn: logs.groupArn,
        region,
      }) satisfies Partial<TodoServiceArgs>;

    const write = new TodoService(
      `${name}-todo-write`,
      {
        ...common('todo-write'),
        runBeforeDeploy: (image) =>
          new MigrationTask(
            `${name}-migration`,
            {
              clusterArn: cluster.arn,
              subnetIds: network.privateSubnetIds,
              securityGroupId: network.securityGroups.migration.id,
              image: image.imageUri,
              repositoryArn: image.repositoryArn,
              database,
              logGroupName: logs.groupName,
              logGroupArn: logs.groupArn,
              region,
              dependsOn: network.migrationRules,
            },
            { parent: this },
          ).invocation,
        size: config.write.size,
        scaling: { desiredCount: config.write.desiredCount },
      },
      { parent: this, dependsOn: loadBalancer.routing },
    );
    const read = new TodoService(
      `${name}-todo-read`,
      {
        ...common('todo-read'),
        size: config.read.size,
        scaling: {
          minCount: config.read.minCount,
          maxCount: config.read.maxCount,
          cpuTargetPercent: config.read.cpuTargetPercent,
          requestsPerTarget: config.read.requestsPerTarget,
          loadBalancerArnSuffix: loadBalancer.arnSuffix,
        },
      },
      // Only once todo-write's deploy is verified: a rejected check registers no read service.
      { parent: this, dependsOn: write.deployedTaskDefinition.apply(() => [...loadBalancer.routing, write]) },
    );

    this.clusterName = cluster.name;
    this.serviceNames = { 'todo-read': read.serviceName, 'todo-write': write.serviceName };
    this.serviceArns = { 'todo-read': read.serviceArn, 'todo-write': write.serviceArn };
    this.deployedTaskDefinitions = {
      'todo-read': read.deployedTaskDefinition,
      'todo-write': write.deployedTaskDefinition,
    };
    this.registerOutputs({ clusterName: this.clusterName });
  }
}
