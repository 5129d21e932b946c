/**
 * TaskOverflow on AWS. `pulumi up` here builds the two service images and stands up:
 *
 *   VPC ─ public subnets: ALB (HTTPS with a certificate from config, listener rules from
 *       │                  @taskoverflow/routing; optional WAF; access logs to S3)
 *       └ private subnets: ECS Fargate todo-read (autoscaled) and todo-write, a one-shot
 *                          migration task per deploy, RDS PostgreSQL, ElastiCache Redis
 *   CloudWatch: log group, Logs Insights queries, alarms and failed deployments (to an SNS
 *   topic), dashboard
 *
 * Settings come from `pulumi config` (src/config.ts, docs/deploy.md); `preset` (lab or
 * production) sets the shape.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ServiceName } from '@taskoverflow/routing';
import { Cache } from './src/cache.js';
import { peakConnections, readStackConfig } from './src/config.js';
import { Database } from './src/database.js';
import { LoadBalancer, publicPorts } from './src/load-balancer.js';
import { Logs } from './src/logs.js';
import { Monitoring } from './src/monitoring.js';
import { Network } from './src/network.js';
import { Services } from './src/services.js';

const NAME = 'taskoverflow';
const config = readStackConfig();

const network = new Network(NAME, { ...config.network, publicPorts: publicPorts(config.loadBalancer.tls) });
const database = new Database(NAME, {
  ...config.database,
  subnetIds: network.privateSubnetIds,
  securityGroupId: network.securityGroups.database.id,
});
const cache = new Cache(NAME, {
  ...config.cache,
  subnetIds: network.privateSubnetIds,
  securityGroupId: network.securityGroups.cache.id,
});
const loadBalancer = new LoadBalancer(NAME, {
  ...config.loadBalancer,
  vpcId: network.vpcId,
  subnetIds: network.publicSubnetIds,
  securityGroupId: network.securityGroups.loadBalancer.id,
});
const logs = new Logs(NAME, config.logs);
const services = new Services(NAME, { config, network, database, cache, loadBalancer, logs });
const monitoring = new Monitoring(NAME, {
  ...config.alarms,
  loadBalancerArnSuffix: loadBalancer.arnSuffix,
  database: {
    instanceIdentifier: database.instanceIdentifier,
    maxConnections: config.database.maxConnections,
    connectionBudget: peakConnections(config.read, config.write, config.app.pgPoolMax),
    maxAllocatedStorageGb: config.database.maxAllocatedStorageGb,
    burstable: config.database.burstable,
  },
  cacheNodeIds: cache.nodeIds,
  cacheNodeCount: config.cache.nodeCount,
  targetGroupArnSuffixes: {
    'todo-read': loadBalancer.targetGroups['todo-read'].arnSuffix,
    'todo-write': loadBalancer.targetGroups['todo-write'].arnSuffix,
  },
  clusterName: services.clusterName,
  serviceNames: services.serviceNames,
  serviceArns: services.serviceArns,
  logGroupName: logs.groupName,
});

/** The API and web UI, e.g. for `ENDPOINT=<url> pnpm loadtest`: https:// with a certificate, http:// on a lab stack without one. */
export const url = loadBalancer.url;
/** Whether the API is served over TLS, and how to turn it on when it is not. */
export const tls = loadBalancer.tls;
export const preset = config.preset;
/** The S3 bucket of the ALB's access logs. */
export const accessLogBucket = loadBalancer.accessLogBucket;
/** The WAF web ACL guarding the ALB (its rate-based rule), when `waf` is on. */
export const webAclArn = loadBalancer.webAclArn;
export const logGroupName = logs.groupName;
export const dashboardName = monitoring.dashboardName;
export const alarmTopicArn = monitoring.alarmTopicArn;
/**
 * The task definition each service runs, verified after its steady state by ECS's own account
 * of the deployment: a rolled-back or failed deploy fails `pulumi up` here (deployment-check.ts).
 */
export const deployedTaskDefinitions = services.deployedTaskDefinitions;

const observedService = (service: ServiceName, maxTasks: number) => ({
  serviceName: services.serviceNames[service],
  targetGroupArnSuffix: loadBalancer.targetGroups[service].arnSuffix,
  maxTasks,
});
/**
 * What a load test's report reads back from CloudWatch (`pulumi stack output --json >
 * outputs.json`, then `pnpm loadtest --aws-outputs outputs.json`): the log group, and the
 * dimensions of the ECS, ALB, RDS and ElastiCache metrics, with each service's task maximum
 * to judge its running count by (docs/load-testing.md, "Running against AWS").
 */
export const cloudWatchResources = pulumi.output({
  region: aws.getRegionOutput().region,
  logGroupName: logs.groupName,
  clusterName: services.clusterName,
  services: {
    'todo-read': observedService('todo-read', config.read.maxCount),
    'todo-write': observedService('todo-write', config.write.desiredCount),
  },
  loadBalancerArnSuffix: loadBalancer.arnSuffix,
  databaseInstanceId: database.instanceIdentifier,
  databaseMaxConnections: config.database.maxConnections,
  // The node the services write to first; with replicas, each has its own CacheClusterId.
  cacheClusterId: cache.nodeIds.apply((ids) => ids[0]),
});
