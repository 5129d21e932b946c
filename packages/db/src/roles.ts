import { sql, type QueryExecutorProvider } from 'kysely';
import type { Db } from './connection.js';

/**
 * The PostgreSQL roles the services log in as. Least privilege: todo-read may only read
 * todos; todo-write may read and change rows (DML) but not the schema. The migrations, run as
 * MIGRATION_ROLE (which owns the schema), create these roles without a password and grant them
 * their privileges; ensureServiceRoles lets them log in.
 *
 * Roles belong to the PostgreSQL server, not to one database: every database on it (each
 * test's own, for instance) shares them.
 */
export const SERVICE_ROLES = {
  'todo-read': 'taskoverflow_read',
  'todo-write': 'taskoverflow_write',
} as const;

export type ServiceWithRole = keyof typeof SERVICE_ROLES;

/**
 * The role that owns the schema and runs the migrations: neither the master user nor a
 * superuser, and no service logs in as it. It has CREATEROLE, so that migrations can create
 * the service roles and the migrate CLI can set their passwords; on PostgreSQL 16 and later
 * that lets it alter only the roles it administers (those it created, and those
 * ensureMigrationRole hands it). The master user creates it once (`pnpm migrate --bootstrap`).
 */
export const MIGRATION_ROLE = 'taskoverflow_migrate';

/** The variable `pnpm migrate --bootstrap` reads MIGRATION_ROLE's password from. */
export const MIGRATION_PASSWORD_VARIABLE = 'TASKOVERFLOW_MIGRATE_PASSWORD';

/** The variables the migrate CLI reads each service role's password from (on AWS: ECS secrets). */
export const ROLE_PASSWORD_VARIABLES: Readonly<Record<ServiceWithRole, string>> = {
  'todo-read': 'TASKOVERFLOW_READ_PASSWORD',
  'todo-write': 'TASKOVERFLOW_WRITE_PASSWORD',
};

/** An arbitrary key of the advisory lock that serialises role changes (see ensureServiceRoles). */
const ROLE_CHANGES_LOCK = 7_316_200_415;

/**
 * Creates a role unless it exists, tolerating another session creating it at the same moment
 * (duplicate_object once committed, unique_violation while both are in flight).
 */
export function createRoleIfMissing(db: QueryExecutorProvider, role: string) {
  return sql`DO $$ BEGIN CREATE ROLE ${sql.id(role)}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`.execute(
    db,
  );
}

/**
 * Lets each service role log in with its password, creating the role when it is missing.
 * Needs a connection allowed to create roles (the schema owner). Changes are serialised by an
 * advisory lock, since two sessions altering one role at once fail with "tuple concurrently
 * updated"; advisory locks are per database, so concurrent callers must connect to the same one.
 */
export async function ensureServiceRoles(db: Db, passwords: Partial<Record<ServiceWithRole, string>>): Promise<void> {
  if (!Object.values(passwords).some(Boolean)) return;
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${ROLE_CHANGES_LOCK})`.execute(trx);
    for (const [service, password] of Object.entries(passwords) as [ServiceWithRole, string | undefined][]) {
      if (!password) continue;
      const role = SERVICE_ROLES[service];
      await createRoleIfMissing(trx, role);
      await sql`ALTER ROLE ${sql.id(role)} WITH LOGIN PASSWORD ${sql.lit(password)}`.execute(trx);
    }
  });
}

/**
 * The server-wide half of the bootstrap, run by an administrator (the RDS master user, the
 * local superuser): creates MIGRATION_ROLE unless it exists, lets it log in with `password`
 * and create roles, and makes it an administrator of the service roles that already exist
 * (created by an earlier schema owner), so that it may set their passwords. Idempotent;
 * running it again with a new password rotates the role's. Serialised by the advisory lock of
 * ensureServiceRoles (take it in one database for concurrent callers).
 */
export async function ensureMigrationRole(db: Db, password: string): Promise<void> {
  const role = sql.id(MIGRATION_ROLE);
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${ROLE_CHANGES_LOCK})`.execute(trx);
    await createRoleIfMissing(trx, MIGRATION_ROLE);
    await sql`ALTER ROLE ${role} WITH LOGIN CREATEROLE PASSWORD ${sql.lit(password)}`.execute(trx);
    const { rows } = await sql<{ rolname: string }>`
      SELECT service.rolname FROM pg_roles service
      WHERE service.rolname IN (${sql.join(Object.values(SERVICE_ROLES))})
        AND NOT EXISTS (
          SELECT 1 FROM pg_auth_members membership JOIN pg_roles member ON member.oid = membership.member
          WHERE membership.roleid = service.oid AND member.rolname = ${MIGRATION_ROLE} AND membership.admin_option)`.execute(
      trx,
    );
    for (const { rolname } of rows) await sql`GRANT ${sql.id(rolname)} TO ${role} WITH ADMIN OPTION`.execute(trx);
  });
}

/**
 * The per-database half of the bootstrap, run by an administrator connected to the app's
 * database: lets MIGRATION_ROLE connect and create in schema `public`, and hands it the
 * tables, views and sequences there that the administrator owns (a database migrated before
 * this role existed), kysely's migration tables included. A sequence a table owns moves with
 * its table. Idempotent.
 */
export async function handOverSchema(db: Db): Promise<void> {
  const role = sql.id(MIGRATION_ROLE);
  await db.transaction().execute(async (trx) => {
    await sql`DO $$ BEGIN EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), ${sql.lit(MIGRATION_ROLE)}); END $$`.execute(
      trx,
    );
    await sql`GRANT USAGE, CREATE ON SCHEMA public TO ${role}`.execute(trx);
    const { rows } = await sql<{ relation: string }>`
      SELECT relation.oid::regclass::text AS relation FROM pg_class relation
      JOIN pg_namespace namespace ON namespace.oid = relation.relnamespace
      WHERE namespace.nspname = 'public' AND relation.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
        AND relation.relkind IN ('r', 'p', 'v', 'm', 'S')
        AND NOT EXISTS (SELECT 1 FROM pg_depend owned WHERE owned.objid = relation.oid AND owned.deptype IN ('a', 'i') AND relation.relkind = 'S')`.execute(
      trx,
    );
    if (rows.length === 0) return;
    // Giving an object away takes membership in the new owner (a superuser needs none).
    const { rows: member } = await sql<{
      member: boolean;
    }>`SELECT pg_has_role(current_user, ${MIGRATION_ROLE}, 'MEMBER') AS member`.execute(trx);
    if (!member[0]?.member) await sql`GRANT ${role} TO CURRENT_USER`.execute(trx);
    for (const { relation } of rows) await sql`ALTER TABLE ${sql.raw(relation)} OWNER TO ${role}`.execute(trx);
  });
}
