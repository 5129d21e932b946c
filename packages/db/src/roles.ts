import { sql, type QueryExecutorProvider } from 'kysely';
import type { Db } from './connection.js';

/**
 * The PostgreSQL roles the services log in as. Least privilege: todo-read may only read
 * todos; todo-write may read and change rows (DML) but not the schema. The migrations, run as
 * the role that owns the schema (the RDS master user, the local superuser), create these
 * roles without a password and grant them their privileges; ensureServiceRoles lets them log in.
 *
 * Roles belong to the PostgreSQL server, not to one database: every database on it (each
 * test's own, for instance) shares them.
 */
export const SERVICE_ROLES = {
  'todo-read': 'taskoverflow_read',
  'todo-write': 'taskoverflow_write',
} as const;

export type ServiceWithRole = keyof typeof SERVICE_ROLES;

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
  return sql`DO $$ BEGIN CREATE ROLE ${sql.id(role)}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`.execute(db);
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
