import { sql, type Kysely } from 'kysely';
import { createRoleIfMissing, SERVICE_ROLES } from '../roles.js';

/**
 * The services' least-privilege roles: todo-read reads todos, todo-write changes rows of both
 * tables. Neither owns a table, so neither can alter or drop one; the schema belongs to the
 * role the migrations run as. A later migration that adds a table grants it here the same way.
 * The roles are created without a password: ensureServiceRoles (the migrate CLI, the local
 * stack) lets them log in.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const read = sql.id(SERVICE_ROLES['todo-read']);
  const write = sql.id(SERVICE_ROLES['todo-write']);
  await createRoleIfMissing(db, SERVICE_ROLES['todo-read']);
  await createRoleIfMissing(db, SERVICE_ROLES['todo-write']);
  await sql`GRANT SELECT ON todos TO ${read}`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON todos, idempotency_keys TO ${write}`.execute(db);
  await sql`GRANT USAGE ON SEQUENCE todos_id_seq TO ${write}`.execute(db);
}

/** Revokes what up granted; the roles stay, as other databases on the server may use them. */
export async function down(db: Kysely<unknown>): Promise<void> {
  const read = sql.id(SERVICE_ROLES['todo-read']);
  const write = sql.id(SERVICE_ROLES['todo-write']);
  await sql`REVOKE ALL ON todos FROM ${read}`.execute(db);
  await sql`REVOKE ALL ON todos, idempotency_keys FROM ${write}`.execute(db);
  await sql`REVOKE ALL ON SEQUENCE todos_id_seq FROM ${write}`.execute(db);
}
