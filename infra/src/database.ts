import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import type { DatabaseConfig } from './config.js';
import { POSTGRES_PORT } from './ports.js';

/**
 * Where the service images keep the RDS certificate authorities (the root Dockerfile
 * adds Amazon's global bundle there), so connections are encrypted and the server verified.
 */
export const RDS_CA_BUNDLE_PATH = '/etc/ssl/certs/rds-global-bundle.pem';

const DATABASE_NAME = 'taskoverflow';
const MASTER_USER = 'taskoverflow';

export interface DatabaseArgs extends DatabaseConfig {
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
}

/**
 * RDS PostgreSQL in the private subnets, reachable only through its security group. Its
 * password is generated here, stored in Secrets Manager and reaches the tasks as the secret
 * PGPASSWORD; `connectionUrl` (the services' DATABASE_URL) carries no password. node-postgres
 * falls back to PGPASSWORD when the URL has none (pg/lib/connection-parameters.js).
 */
export class Database extends pulumi.ComponentResource {
  /** postgres://user@host:5432/db?sslmode=verify-full…, without the password. */
  readonly connectionUrl: pulumi.Output<string>;
  /** The secret holding the password, as a plain string. */
  readonly passwordSecretArn: pulumi.Output<string>;
  readonly instanceIdentifier: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Database', name, {}, opts);

    // Alphanumeric: RDS refuses some punctuation in master passwords, and 40 characters from
    // 62 symbols are ample.
    const password = new random.RandomPassword(`${name}-db-password`, { length: 40, special: false }, { parent: this });
    const passwordSecret = new aws.secretsmanager.Secret(
      `${name}-db-password`,
      { description: 'TaskOverflow PostgreSQL master password (injected into tasks as PGPASSWORD)', recoveryWindowInDays: 7 },
      { parent: this },
    );
    new aws.secretsmanager.SecretVersion(
      `${name}-db-password`,
      { secretId: passwordSecret.id, secretString: password.result },
      { parent: this },
    );

    const subnetGroup = new aws.rds.SubnetGroup(`${name}-db`, { subnetIds: args.subnetIds }, { parent: this });
    const instance = new aws.rds.Instance(
      `${name}-db`,
      {
        engine: 'postgres',
        engineVersion: args.engineVersion,
        instanceClass: args.instanceClass,
        allocatedStorage: args.allocatedStorageGb,
        storageType: 'gp3',
        storageEncrypted: true,
        dbName: DATABASE_NAME,
        username: MASTER_USER,
        password: password.result,
        port: POSTGRES_PORT,
        dbSubnetGroupName: subnetGroup.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        publiclyAccessible: false,
        multiAz: args.multiAz,
        backupRetentionPeriod: 7,
        autoMinorVersionUpgrade: true,
        applyImmediately: true,
        deletionProtection: args.deletionProtection,
        skipFinalSnapshot: !args.finalSnapshot,
        finalSnapshotIdentifier: args.finalSnapshot ? `${name}-${pulumi.getStack()}-final` : undefined,
      },
      { parent: this },
    );

    this.passwordSecretArn = passwordSecret.arn;
    this.instanceIdentifier = instance.identifier;
    const tls = `sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE_PATH}`;
    this.connectionUrl = pulumi.interpolate`postgres://${MASTER_USER}@${instance.address}:${instance.port}/${DATABASE_NAME}?${tls}`;
    this.registerOutputs({ connectionUrl: this.connectionUrl, passwordSecretArn: this.passwordSecretArn });
  }
}
