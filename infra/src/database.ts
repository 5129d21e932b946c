import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { MIGRATION_ROLE, SERVICE_ROLES, type ServiceWithRole } from '@taskoverflow/db/roles';
import type { DatabaseConfig } from './config.js';
import { POSTGRES_PORT } from './ports.js';

/**
 * Where the service images keep the RDS certificate authorities (the root Dockerfile
 * adds Amazon's global bundle there), so connections are encrypted and the server verified.
 */
export const RDS_CA_BUNDLE_PATH = '/etc/ssl/certs/rds-global-bundle.pem';

const DATABASE_NAME = 'taskoverflow';
/**
 * The RDS master user. Its password is RDS's own managed secret (rotated by Secrets Manager,
 * never in the Pulumi state), read only by the one-shot migration task's bootstrap step, which
 * creates and updates the other logins. No service ever gets it.
 */
export const MASTER_USER = 'taskoverflow';

/** The logins with a password generated here: the migration role and each service's own role. */
export type DatabaseLogin = 'migration' | ServiceWithRole;
const LOGINS: readonly DatabaseLogin[] = ['migration', 'todo-read', 'todo-write'];

export interface DatabaseArgs extends DatabaseConfig {
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  securityGroupId: pulumi.Input<string>;
}

/** A login's connection: the URL (no password) and the Secrets Manager secret holding its password. */
export interface DatabaseCredentials {
  /** postgres://user@host:5432/db?sslmode=verify-full…, without the password. */
  url: pulumi.Output<string>;
  /** The secret holding the password (for the master user: its `password` JSON key), injected as a variable. */
  passwordSecretArn: pulumi.Output<string>;
  /**
   * The secret's current version: it goes into the task definitions that read it, so a new
   * password (dbPasswordGeneration) registers new task definitions and ECS replaces the tasks.
   * Undefined for the master user, whose secret RDS rotates and only the bootstrap step reads.
   */
  versionId: pulumi.Output<string> | undefined;
}

/**
 * RDS PostgreSQL in the private subnets, reachable only through its security group, and its
 * logins:
 *
 * - the master user, whose password RDS generates and keeps in a managed secret;
 * - the migration role (MIGRATION_ROLE), which owns the schema and runs the migrations;
 * - todo-read's and todo-write's least-privilege roles (SERVICE_ROLES).
 *
 * The last three passwords are generated here (`random.RandomPassword`, kept with
 * `dbPasswordGeneration` so that bumping it rotates them), stored in Secrets Manager and reach
 * the tasks as ECS secrets (PGPASSWORD and the migrate CLI's role variables); the URLs carry
 * none (node-postgres falls back to PGPASSWORD, pg/lib/connection-parameters.js). The one-shot
 * migration task's bootstrap step, as the master user, creates those roles and sets their
 * passwords (infra/src/migration-task.ts).
 *
 * `preset` decides Multi-AZ and whether changes wait for the maintenance window
 * (`applyImmediately: false` in production: no reboot in the middle of `pulumi up`).
 * Unless the stack is a lab stack, the data is protected: deletion protection, a final
 * snapshot, and Pulumi's `protect` (pulumi destroy refuses until it is lifted).
 */
export class Database extends pulumi.ComponentResource {
  readonly credentials: Record<DatabaseLogin, DatabaseCredentials>;
  /** The master user's connection, for the bootstrap step only. */
  readonly master: DatabaseCredentials;
  readonly instanceIdentifier: pulumi.Output<string>;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super('taskoverflow:infra:Database', name, {}, opts);

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
        username: MASTER_USER,
        manageMasterUserPassword: true,
        port: POSTGRES_PORT,
        dbSubnetGroupName: subnetGroup.name,
        vpcSecurityGroupIds: [args.securityGroupId],
        publiclyAccessible: false,
        multiAz: args.multiAz,
        backupRetentionPeriod: 7,
        copyTagsToSnapshot: true,
        autoMinorVersionUpgrade: true,
        applyImmediately: args.applyImmediately,
        deletionProtection: args.protect,
        skipFinalSnapshot: !args.protect,
        finalSnapshotIdentifier: args.protect
          ? pulumi.interpolate`${name}-${pulumi.getStack()}-final-${snapshotSuffix.hex}`
          : undefined,
      },
      { parent: this, protect: args.protect },
    );

    const tls = `sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE_PATH}`;
    const urlFor = (user: string) =>
      pulumi.interpolate`postgres://${user}@${instance.address}:${instance.port}/${DATABASE_NAME}?${tls}`;
    const userOf: Record<DatabaseLogin, string> = { migration: MIGRATION_ROLE, ...SERVICE_ROLES };
    this.credentials = Object.fromEntries(
      LOGINS.map((login) => {
        const { secret, version } = this.generatedPassword(`${name}-db-${login}`, login, args.passwordGeneration);
        return [login, { url: urlFor(userOf[login]), passwordSecretArn: secret.arn, versionId: version.versionId }];
      }),
    ) as Record<DatabaseLogin, DatabaseCredentials>;
    // ECS reads one JSON key of a secret with <arn>:<key>:: (version stage and id left to the current one).
    const masterSecretArn = instance.masterUserSecrets.apply((secrets) => secrets[0]!.secretArn);
    this.master = {
      url: urlFor(MASTER_USER),
      passwordSecretArn: pulumi.interpolate`${masterSecretArn}:password::`,
      versionId: undefined,
    };
    this.instanceIdentifier = instance.identifier;
    this.registerOutputs({ instanceIdentifier: this.instanceIdentifier });
  }

  /**
   * A generated password in a secret of its own. Alphanumeric: 40 characters from 62 symbols
   * are ample, and need no escaping anywhere. `generation` is its keeper: a new value, a new
   * password.
   */
  private generatedPassword(resourceName: string, login: DatabaseLogin, generation: number) {
    const password = new random.RandomPassword(
      resourceName,
      { length: 40, special: false, keepers: { generation: String(generation) } },
      { parent: this },
    );
    const secret = new aws.secretsmanager.Secret(
      resourceName,
      {
        description: `TaskOverflow PostgreSQL password of ${login === 'migration' ? 'the migration role (owns the schema)' : login}`,
        recoveryWindowInDays: 7,
      },
      { parent: this },
    );
    const version = new aws.secretsmanager.SecretVersion(
      resourceName,
      { secretId: secret.id, secretString: password.result },
      { parent: this },
    );
    return { secret, version };
  }
}
