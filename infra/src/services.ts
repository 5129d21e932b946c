import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { ROLE_PASSWORD_VARIABLES } from '@taskoverflow/db/roles';
import type { ServiceName } from '@taskoverflow/routing';
import type { Cache } from './cache.js';
import type { StackConfig } from './config.js';
import type { Database } from './database.js';
import type { LoadBalancer } from './load-balancer.js';
import type { Logs } from './logs.js';
import type { Network } from './network.js';
import { CONTAINER_PORTS } from './ports.js';
import { TodoService, type TodoServiceArgs } from './todo-service.js';

/**
 * The migrate CLI of @taskoverflow/db (packages/db/src/cli/migrate.ts) inside the todo-write
 * image, relative to its WORKDIR: `pnpm deploy` puts the compiled package in node_modules.
 */
export const MIGRATE_COMMAND = ['node', 'node_modules/@taskoverflow/db/dist/cli/migrate.js'];

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
 * Migrations run in each todo-write task before the service starts: a `migrate` container with
 * the schema owner's password, which also sets the service roles' passwords; todo-write itself
 * starts only when it succeeds, so a failing migration fails the deploy. Pulumi has no step
 * that runs a one-off task during `pulumi up`, and kysely's Migrator takes a lock in the
 * database, so several write tasks starting together migrate once. todo-read is deployed only
 * after todo-write's deploy is verified (TodoService.deployedTaskDefinition), so new read code
 * never meets an old schema and a failed write deploy stops `pulumi up` before it.
 */
export class Services extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly serviceNames: Record<ServiceName, pulumi.Output<string>>;
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
          PORT: String(CONTAINER_PORTS[service]),
          DATABASE_URL: database.credentials[service].url,
          LOG_LEVEL: config.app.logLevel,
          PG_POOL_MAX: String(config.app.pgPoolMax),
          PG_STATEMENT_TIMEOUT_MS: String(config.app.pgStatementTimeoutMs),
          RATE_LIMIT_MAX_REQUESTS: String(config.app.rateLimitMaxRequests),
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
        initContainer: {
          name: 'migrate',
          command: MIGRATE_COMMAND,
          environment: { DATABASE_URL: database.credentials.owner.url },
          secrets: {
            PGPASSWORD: database.credentials.owner.passwordSecretArn,
            [ROLE_PASSWORD_VARIABLES['todo-read']]: database.credentials['todo-read'].passwordSecretArn,
            [ROLE_PASSWORD_VARIABLES['todo-write']]: database.credentials['todo-write'].passwordSecretArn,
          },
        },
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
    this.deployedTaskDefinitions = { 'todo-read': read.deployedTaskDefinition, 'todo-write': write.deployedTaskDefinition };
    this.registerOutputs({ clusterName: this.clusterName });
  }
}
