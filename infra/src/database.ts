import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { SERVICE_ROLES, type ServiceWithRole } from '@taskoverflow/db/roles';
import type { DatabaseConfig } from './config.js';
import { POSTGRES_PORT } from './ports.js';

/**
 * Where the service images keep the RDS certificate authorities (the root Dockerfile
 * adds Amazon's global bundle there), so connections are encrypted and the server verified.
 */
export const RDS_CA_BUNDLE_PATH = '/etc/ssl/certs/rds-global-bundle.pem';

const DATABASE_NAME = 'taskoverflow';
/** The RDS master user: it owns the schema and runs the migrations; no service logs in as it. */
export const OWNER_ROLE = 'taskoverflow';

/** Who logs in to the database: the schema owner (migrations) and each service's own role. */
export type DatabaseLogin = 'owner' | ServiceWithRole;

export interface DatabaseArgs extends DatabaseConfig {
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
}

/** A login's connection: the URL (no password) and the Secrets Manager secret holding its password. */
export interface DatabaseCredentials {
  /** postgres://user@host:5432/db?sslmode=verify-full…, without the password. */
  url: pulumi.Output<string>;
  /** The secret holding the password, as a plain string, injected as PGPASSWORD. */
  passwordSecretArn: pulumi.Output<string>;
}

/**
 * RDS PostgreSQL in the private subnets, reachable only through its security group, and the
 * three logins to it. Each password is generated here, stored in Secrets Manager and reaches
 * tasks as the secret PGPASSWORD; the URLs carry none (node-postgres falls back to PGPASSWORD,
 * pg/lib/connection-parameters.js). The master user owns the schema and only the migrate
 * container gets its password; todo-read and todo-write log in as their least-privilege roles,
 * which the migrations create and the migrate container gives these passwords.
 *
 * Unless the stack is a lab stack, the data is protected: deletion protection, a final
 * snapshot, and Pulumi's `protect` (pulumi destroy refuses until it is lifted).
 */
export class Database extends pulumi.ComponentResource {
  readonly credentials: Record<DatabaseLogin, DatabaseCredentials>;
  readonly instanceIdentifier: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Database', name, {}, opts);

    const passwords = Object.fromEntries(
      (['owner', 'todo-read', 'todo-write'] as const).map((login) => [login, this.generatedPassword(`${name}-db-${login}`, login)]),
    ) as Record<DatabaseLogin, { password: random.RandomPassword; secret: aws.secretsmanager.Secret }>;

    const subnetGroup = new aws.rds.SubnetGroup(`${name}-db`, { subnetIds: args.subnetIds }, { parent: this });
    // A new suffix per instance: a stack destroyed and created again leaves its first final
    // snapshot in place, and RDS refuses a second one of the same name.
    const snapshotSuffix = new random.RandomId(`${name}-db-final-snapshot`, { byteLength: 4 }, { parent: this });
    const instance = new aws.rds.Instance(
      `${name}-db`,
      {
        engine: 'postgres',
        engineVersion: args.engineVersion,
        instanceClass: args.instanceClass,
        allocatedStorage: args.allocatedStorageGb,
        maxAllocatedStorage: args.maxAllocatedStorageGb,
        storageType: 'gp3',
        storageEncrypted: true,
        dbName: DATABASE_NAME,
        username: OWNER_ROLE,
        password: passwords.owner.password.result,
        port: POSTGRES_PORT,
        dbSubnetGroupName: subnetGroup.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        publiclyAccessible: false,
        multiAz: args.multiAz,
        backupRetentionPeriod: 7,
        copyTagsToSnapshot: true,
        autoMinorVersionUpgrade: true,
        applyImmediately: true,
        deletionProtection: args.protect,
        skipFinalSnapshot: !args.protect,
        finalSnapshotIdentifier: args.protect ? pulumi.interpolate`${name}-${pulumi.getStack()}-final-${snapshotSuffix.hex}` : undefined,
      },
      { parent: this, protect: args.protect },
    );

    const tls = `sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE_PATH}`;
    const urlFor = (user: string) => pulumi.interpolate`postgres://${user}@${instance.address}:${instance.port}/${DATABASE_NAME}?${tls}`;
    const userOf: Record<DatabaseLogin, string> = { owner: OWNER_ROLE, ...SERVICE_ROLES };
    this.credentials = Object.fromEntries(
      Object.entries(passwords).map(([login, { secret }]) => [
        login,
        { url: urlFor(userOf[login as DatabaseLogin]), passwordSecretArn: secret.arn },
      ]),
    ) as Record<DatabaseLogin, DatabaseCredentials>;
    this.instanceIdentifier = instance.identifier;
    this.registerOutputs({ instanceIdentifier: this.instanceIdentifier });
  }

  /**
   * A generated password in a secret of its own. Alphanumeric: RDS refuses some punctuation in
   * master passwords, and 40 characters from 62 symbols are ample.
   */
  private generatedPassword(resourceName: string, login: DatabaseLogin) {
    const password = new random.RandomPassword(resourceName, { length: 40, special: false }, { parent: this });
    const secret = new aws.secretsmanager.Secret(
      resourceName,
      {
        description: `TaskOverflow PostgreSQL password of ${login === 'owner' ? 'the schema owner (migrations)' : login}`,
        recoveryWindowInDays: 7,
      },
      { parent: this },
    );
    new aws.secretsmanager.SecretVersion(resourceName, { secretId: secret.id, secretString: password.result }, { parent: this });
    return { password, secret };
  }
}
