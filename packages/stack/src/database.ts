import {
  bootstrapMigrationRole,
  createDb,
  describeSchemaAhead,
  ensureServiceRoles,
  migrateDatabaseAt,
  MIGRATION_ROLE,
  SERVICE_ROLES,
  type MigrationRun,
  type ServiceWithRole,
} from '@taskoverflow/db';
import { redactPassword } from '@taskoverflow/config';
import pg from 'pg';
import { DatabaseConnectError, DatabaseMigrationError, ServiceRolesError } from './errors.js';

const APPLICATION_NAME = 'taskoverflow-stack';
/** SQLSTATE duplicate_database: another process created it first. */
const DUPLICATE_DATABASE = '42P04';

/** The URL of database `name` on the server `serverUrl` points at, with the same credentials. */
export function databaseUrlFor(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.href;
}

/**
 * The service roles' passwords wherever the stack runs locally (pnpm start, the tests,
 * docker-compose.yml): like the local superuser's, not secrets. On AWS they are generated and
 * kept in Secrets Manager.
 */
export const LOCAL_ROLE_PASSWORDS: Readonly<Record<ServiceWithRole, string>> = {
  'todo-read': 'taskoverflow_read',
  'todo-write': 'taskoverflow_write',
};

/** The migration role's password wherever the stack runs locally: not a secret either. */
export const LOCAL_MIGRATION_PASSWORD = 'taskoverflow_migrate';

/**
 * Lets the services' least-privilege roles log in, with their local passwords, on the server
 * `adminUrl` points at (it must be allowed to create roles). Roles belong to the server, so
 * concurrent callers (test files in parallel) all take ensureServiceRoles' lock in the same
 * database: `postgres`, which every server has.
 */
export async function ensureLocalServiceRoles(adminUrl: string): Promise<void> {
  const maintenanceUrl = databaseUrlFor(adminUrl, 'postgres');
  const pool = new pg.Pool({ connectionString: maintenanceUrl, application_name: APPLICATION_NAME, max: 1 });
  try {
    await ensureServiceRoles(createDb(pool), LOCAL_ROLE_PASSWORDS);
  } catch (error) {
    throw new ServiceRolesError(redactPassword(maintenanceUrl), (error as Error).message, { cause: error });
  } finally {
    await pool.end();
  }
}

/** The URL `service` connects with: the database at `databaseUrl`, as the service's own role. */
export function serviceDatabaseUrl(databaseUrl: string, service: ServiceWithRole): string {
  const url = new URL(databaseUrl);
  url.username = SERVICE_ROLES[service];
  url.password = LOCAL_ROLE_PASSWORDS[service];
  return url.href;
}

/** Creates database `name` unless it exists; `adminUrl` must be allowed to CREATE DATABASE. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } catch (error) {
      if ((error as { code?: string }).code !== DUPLICATE_DATABASE) throw error;
    }
  });
}

/** Connects to `url` and runs one query; DatabaseConnectError if it cannot. */
export async function checkConnection(url: string): Promise<void> {
  await withClient(url, (client) => client.query('SELECT 1'));
}

/** Drops database `name`, closing the connections still open to it. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

/**
 * Brings the schema of the database at `adminUrl` up to date as on AWS: the administrator
 * (here the superuser) bootstraps the migration role, then the migrations run as that role.
 * Returns what the run did, and whether the database is ahead of this code (migrateToLatest).
 */
export async function migrateDatabase(adminUrl: string): Promise<MigrationRun> {
  try {
    await bootstrapMigrationRole(adminUrl, LOCAL_MIGRATION_PASSWORD, APPLICATION_NAME);
    return await migrateDatabaseAt(migrationDatabaseUrl(adminUrl), APPLICATION_NAME);
  } catch (error) {
    throw new DatabaseMigrationError(redactPassword(adminUrl), (error as Error).message, { cause: error });
  }
}

/** A migration run in a few words, for a progress line: `applied 0004_x`, `up to date`, or that the schema is ahead. */
export function describeMigrationRun({ applied, ahead }: MigrationRun): string {
  if (ahead.length > 0) return describeSchemaAhead(ahead);
  return applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date';
}

/** The URL the migrations run with: the database at `adminUrl`, as the migration role. */
export function migrationDatabaseUrl(adminUrl: string): string {
  const url = new URL(adminUrl);
  url.username = MIGRATION_ROLE;
  url.password = LOCAL_MIGRATION_PASSWORD;
  return url.href;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: APPLICATION_NAME });
  try {
    await client.connect();
  } catch (error) {
    throw new DatabaseConnectError(redactPassword(url), (error as Error).message, { cause: error });
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
