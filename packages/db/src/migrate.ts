import { DEFAULT_MIGRATION_TABLE, Migrator, sql, type Migration } from 'kysely';
import { inspect } from 'node:util';
import pg from 'pg';
import { createDb, poolConfig, type Db } from './connection.js';
import { MigrationError, MigrationsDivergedError } from './errors.js';
import { ensureServiceRoles, type ServiceWithRole } from './roles.js';
import * as createTodos from './migrations/0001_create_todos.js';
import * as createIdempotencyKeys from './migrations/0002_create_idempotency_keys.js';
import * as serviceRoles from './migrations/0003_service_roles.js';

/**
 * This code's migrations, by name; they run in the order of their names. Listed here rather
 * than read from a folder, so they run the same from TypeScript sources (tsx) and from the
 * compiled dist/ in a container image.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_create_todos': createTodos,
  '0002_create_idempotency_keys': createIdempotencyKeys,
  '0003_service_roles': serviceRoles,
};

/** What a migration run did, and what it found. */
export interface MigrationRun {
  /** The migrations this run applied, in order. */
  applied: string[];
  /**
   * Migrations the database has applied that this code does not have: the schema is ahead
   * (a deploy that migrated was rolled back). Nothing is applied then; the code runs on the
   * expanded schema, which expand/contract migrations keep compatible (docs/deploy.md).
   */
  ahead: string[];
}

/** An arbitrary key of the advisory lock that serialises migration runs (see migrateToLatest). */
const MIGRATION_RUN_LOCK = 7_316_200_416;

/** The line that says a database is ahead of the code running on it (the migrate CLI, the stack). */
export function describeSchemaAhead(ahead: readonly string[]): string {
  const count = ahead.length === 1 ? '1 newer migration' : `${ahead.length} newer migrations`;
  return `database schema is ahead of this code: ${count} (${ahead.join(', ')}); running on the expanded schema`;
}

/**
 * Brings the schema up to date with `migrations` (this code's, unless a test passes others).
 *
 * kysely's Migrator refuses a database that has applied a migration it does not know
 * ("corrupted migrations"), which would strand the code of a rolled-back deploy. So the
 * history is read first: a database ahead of the code (every migration of the code applied,
 * plus newer ones) is accepted as it is (`ahead`); one whose history does not extend the
 * code's (a migration of the code pending before one applied) is a MigrationsDivergedError;
 * anything else goes to the Migrator.
 *
 * Safe to call from several processes at once: each run holds a session advisory lock from
 * reading the history to the end of the Migrator's run (which takes kysely's own lock too), so
 * no run reads a history another is changing.
 */
export async function migrateToLatest(
  db: Db,
  migrations: Readonly<Record<string, Migration>> = MIGRATIONS,
): Promise<MigrationRun> {
  return db.connection().execute(async (connection) => {
    await sql`SELECT pg_advisory_lock(${MIGRATION_RUN_LOCK})`.execute(connection);
    try {
      return await migrateHoldingLock(connection, migrations);
    } finally {
      // A connection that died has released its session lock already.
      await sql`SELECT pg_advisory_unlock(${MIGRATION_RUN_LOCK})`.execute(connection).catch(() => undefined);
    }
  });
}

async function migrateHoldingLock(db: Db, migrations: Readonly<Record<string, Migration>>): Promise<MigrationRun> {
  const applied = await appliedMigrations(db);
  const known = Object.keys(migrations).sort();
  const pending = known.filter((name) => !applied.includes(name));
  const ahead = applied.filter((name) => !(name in migrations));
  const lastApplied = applied.at(-1);
  if (pending.length > 0 && lastApplied !== undefined && (ahead.length > 0 || pending[0]! < lastApplied)) {
    const later = ahead.length > 0 ? ahead : applied.filter((name) => name > pending[0]!);
    throw new MigrationsDivergedError(pending.join(', '), later.join(', '));
  }
  if (ahead.length > 0) return { applied: [], ahead };

  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(failed, error instanceof Error ? error.message : inspect(error), { cause: error });
  }
  return {
    applied: (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName),
    ahead: [],
  };
}

/** The names of the migrations the database has applied, sorted; none before kysely's table exists. */
async function appliedMigrations(db: Db): Promise<string[]> {
  const { rows: table } = await sql<{
    exists: boolean;
  }>`SELECT to_regclass(${DEFAULT_MIGRATION_TABLE}) IS NOT NULL AS exists`.execute(db);
  if (!table[0]?.exists) return [];
  const { rows } = await sql<{ name: string }>`SELECT name FROM ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(db);
  return rows.map((row) => row.name).sort();
}

/**
 * Migrates the database at `databaseUrl` over a connection of its own, as the role the URL
 * names (MIGRATION_ROLE on AWS and locally), then lets each service role given a password log
 * in with it (ensureServiceRoles).
 */
export async function migrateDatabaseAt(
  databaseUrl: string,
  applicationName = 'taskoverflow-migrate',
  rolePasswords: Partial<Record<ServiceWithRole, string>> = {},
): Promise<MigrationRun> {
  const pool = new pg.Pool(poolConfig({ connectionString: databaseUrl, applicationName, max: 1 }));
  try {
    const db = createDb(pool);
    const run = await migrateToLatest(db);
    await ensureServiceRoles(db, rolePasswords);
    return run;
  } finally {
    await pool.end();
  }
}
