import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ServiceName } from '@taskoverflow/routing';
import type { Cache } from './cache.js';
import type { StackConfig } from './config.js';
import type { Database } from './database.js';
import type { LoadBalancer } from './load-balancer.js';
import type { Logs } from './logs.js';
import type { Network } from './network.js';
import { CONTAINER_PORTS } from './ports.js';
import { TodoService, type TodoServiceArgs } from './todo-service.js';

export interface ServicesArgs {
  config: Pick<StackConfig, 'read' | 'write' | 'app'>;
  network: Network;
  database: Database;
  cache: Cache;
  loadBalancer: LoadBalancer;
  logs: Logs;
}

/**
 * The ECS cluster and the two services in it, wired to the database, the cache, the log group
 * and their target groups. Both get the same environment (the variables their config.ts
 * reads); todo-write also migrates.
 *
 * Migrations run when todo-write starts (MIGRATE_ON_START=true): Pulumi has no step that runs
 * a one-off task during `pulumi up`, and kysely's Migrator takes a lock in the database, so
 * several write tasks starting together migrate once. todo-read is deployed after todo-write
 * has reached a steady state, so new read code never meets an old schema.
 */
export class Services extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly serviceNames: Record<ServiceName, pulumi.Output<string>>;

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
          PORT: String(CONTAINER_PORTS[service]),
          DATABASE_URL: database.connectionUrl,
          REDIS_URL: cache.url,
          LOG_LEVEL: config.app.logLevel,
          PG_POOL_MAX: String(config.app.pgPoolMax),
          PG_STATEMENT_TIMEOUT_MS: String(config.app.pgStatementTimeoutMs),
          RATE_LIMIT_MAX_REQUESTS: String(config.app.rateLimitMaxRequests),
          RATE_LIMIT_WINDOW_S: String(config.app.rateLimitWindowSeconds),
          // The ALB is the one proxy in front: the client is the address it appends to X-Forwarded-For.
          TRUST_PROXY_HOPS: '1',
        },
        secrets: { PGPASSWORD: database.passwordSecretArn },
        logGroupName: logs.groupName,
        logGroupArn: logs.groupArn,
        region,
      }) satisfies Partial<TodoServiceArgs>;

    const writeCommon = common('todo-write');
    const write = new TodoService(
      `${name}-todo-write`,
      {
        ...writeCommon,
        environment: { ...writeCommon.environment, MIGRATE_ON_START: 'true' },
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
      { parent: this, dependsOn: [...loadBalancer.routing, write] },
    );

    this.clusterName = cluster.name;
    this.serviceNames = { 'todo-read': read.serviceName, 'todo-write': write.serviceName };
    this.registerOutputs({ clusterName: this.clusterName });
  }
}
