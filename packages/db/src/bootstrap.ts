import pg from 'pg';
import { createDb, poolConfig, type Db } from './connection.js';
import { ensureMigrationRole, handOverSchema } from './roles.js';

/**
 * `pnpm migrate --bootstrap`: as the administrator `adminUrl` names (the RDS master user, a
 * superuser), creates MIGRATION_ROLE with `password` (or sets a new one) and hands it the
 * schema of the database `adminUrl` names. The role is the server's, so that half runs in the
 * `postgres` database every server has, where concurrent bootstraps of several databases (test
 * files in parallel) take one lock; the grants and the hand-over run in the app's database.
 */
export async function bootstrapMigrationRole(
  adminUrl: string,
  password: string,
  applicationName = 'taskoverflow-migrate',
): Promise<void> {
  const serverUrl = new URL(adminUrl);
  serverUrl.pathname = '/postgres';
  const steps: Array<[string, (db: Db) => Promise<void>]> = [
    [serverUrl.href, (db) => ensureMigrationRole(db, password)],
    [adminUrl, handOverSchema],
  ];
  for (const [url, step] of steps) {
    const pool = new pg.Pool(poolConfig({ connectionString: url, applicationName, max: 1 }));
    try {
      await step(createDb(pool));
    } finally {
      await pool.end();
    }
  }
}
