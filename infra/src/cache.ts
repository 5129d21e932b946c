import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { CacheConfig } from './config.js';
import { REDIS_PORT } from './ports.js';

export interface CacheArgs extends CacheConfig {
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
}

/**
 * ElastiCache Redis in the private subnets; only the services' security groups reach it. It
 * holds nothing that PostgreSQL does not (a lost node costs cache misses, not data), so a lab
 * stack runs one node. With `cacheNodeCount` ≥ 2 (the production preset) the replication group
 * has replicas in other AZs, automatic failover and Multi-AZ: a failed primary is replaced by a
 * replica behind the same primary endpoint within about a minute, and the services, which
 * start and serve uncached while Redis is unreachable, ride it out. Traffic is encrypted (TLS) and clients must present an AUTH
 * token, generated here. The services' REDIS_URL, `rediss://:<token>@host:6379`, is kept whole
 * in Secrets Manager and reaches the tasks as a secret: ioredis takes the token only from the
 * URL or its options, so the URL is the secret.
 */
export class Cache extends pulumi.ComponentResource {
  /** The secret holding the services' REDIS_URL (with the AUTH token). */
  readonly urlSecretArn: pulumi.Output<string>;
  /** Its current version (see DatabaseCredentials.versionId). */
  readonly urlSecretVersionId: pulumi.Output<string>;
  /** Each node's cluster id: the CacheClusterId dimension of its CloudWatch metrics. */
  readonly nodeIds: pulumi.Output<string[]>;

  constructor(name: string, args: CacheArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Cache', name, {}, opts);

    // ElastiCache takes 16–128 printable characters without @, " or /; alphanumeric ones also
    // need no escaping in the URL.
    const authToken = new random.RandomPassword(
      `${name}-cache-auth-token`,
      { length: 64, special: false },
      { parent: this },
    );
    const subnetGroup = new aws.elasticache.SubnetGroup(
      `${name}-cache`,
      { subnetIds: args.subnetIds },
      { parent: this },
    );
    const redis = new aws.elasticache.ReplicationGroup(
      `${name}-cache`,
      {
        description: 'TaskOverflow read cache',
        engine: 'redis',
        engineVersion: '7.1',
        nodeType: args.nodeType,
        numCacheClusters: args.nodeCount,
        port: REDIS_PORT,
        subnetGroupName: subnetGroup.name,
        securityGroupIds: [args.securityGroupId],
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true,
        authToken: authToken.result,
        automaticFailoverEnabled: args.nodeCount > 1,
        multiAzEnabled: args.nodeCount > 1,
        applyImmediately: args.applyImmediately,
      },
      { parent: this },
    );

    const urlSecret = new aws.secretsmanager.Secret(
      `${name}-cache-url`,
      {
        description: 'TaskOverflow REDIS_URL: rediss:// with the ElastiCache AUTH token (injected into tasks)',
        recoveryWindowInDays: 7,
      },
      { parent: this },
    );
    const urlVersion = new aws.secretsmanager.SecretVersion(
      `${name}-cache-url`,
      {
        secretId: urlSecret.id,
        secretString: pulumi.secret(
          pulumi.interpolate`rediss://:${authToken.result}@${redis.primaryEndpointAddress}:${REDIS_PORT}`,
        ),
      },
      { parent: this },
    );

    this.urlSecretArn = urlSecret.arn;
    this.urlSecretVersionId = urlVersion.versionId;
    this.nodeIds = redis.memberClusters;
    this.registerOutputs({ urlSecretArn: this.urlSecretArn });
  }
}
