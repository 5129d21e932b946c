import { Migrator, type Migration, type MigrationResult } from 'kysely';
import { inspect } from 'node:util';
import pg from 'pg';
import { createDb, poolConfig, type Db } from './connection.js';
import { MigrationError } from './errors.js';
import { ensureServiceRoles, type ServiceWithRole } from './roles.js';
import * as createTodos from './migrations/0001_create_todos.js';
import * as createIdempotencyKeys from './migrations/0002_create_idempotency_keys.js';
import * as serviceRoles from './migrations/0003_service_roles.js';

/**
 * Migrations are listed here rather than read from a folder, so they run the same from
 * TypeScript sources (tsx) and from the compiled dist/ in a container image.
 */
const migrations: Record<string, Migration> = {
  '0001_create_todos': createTodos,
  '0002_create_idempotency_keys': createIdempotencyKeys,
  '0003_service_roles': serviceRoles,
};

/**
 * Brings the schema up to date. Safe to call from several processes at once: kysely's
 * Migrator takes a lock in the database.
 */
export async function migrateToLatest(db: Db): Promise<MigrationResult[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new MigrationError(failed, error instanceof Error ? error.message : inspect(error), { cause: error });
  }
  return results ?? [];
}

/**
 * Migrates the database at `databaseUrl` over a connection of its own, then lets each service
 * role given a password log in with it (ensureServiceRoles); returns the migrations applied.
 */
export async function migrateDatabaseAt(
  databaseUrl: string,
  applicationName = 'taskoverflow-migrate',
  rolePasswords: Partial<Record<ServiceWithRole, string>> = {},
): Promise<string[]> {
  const pool = new pg.Pool(poolConfig({ connectionString: databaseUrl, applicationName, max: 1 }));
  try {
    const db = createDb(pool);
    const results = await migrateToLatest(db);
    await ensureServiceRoles(db, rolePasswords);
    return results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
  } finally {
    await pool.end();
  }
}
