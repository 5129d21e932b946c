import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { CacheConfig } from './config.js';
import { REDIS_PORT } from './ports.js';

export interface CacheArgs extends CacheConfig {
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
}

/**
 * ElastiCache Redis, one node, in the private subnets; only the services' security groups
 * reach it. It holds nothing that PostgreSQL does not (a lost node costs cache misses, not
 * data), so it has no replica. In-transit encryption is off because the services speak plain
 * `redis://`; the security group is the access control.
 */
export class Cache extends pulumi.ComponentResource {
  /** redis://host:6379, the services' REDIS_URL. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Cache', name, {}, opts);

    const subnetGroup = new aws.elasticache.SubnetGroup(`${name}-cache`, { subnetIds: args.subnetIds }, { parent: this });
    const redis = new aws.elasticache.ReplicationGroup(
      `${name}-cache`,
      {
        description: 'TaskOverflow read cache',
        engine: 'redis',
        engineVersion: '7.1',
        nodeType: args.nodeType,
        numCacheClusters: 1,
        port: REDIS_PORT,
        subnetGroupName: subnetGroup.name,
        securityGroupIds: [args.securityGroupId],
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: false,
        automaticFailoverEnabled: false,
        applyImmediately: true,
      },
      { parent: this },
    );

    this.url = pulumi.interpolate`redis://${redis.primaryEndpointAddress}:${REDIS_PORT}`;
    this.registerOutputs({ url: this.url });
  }
}
