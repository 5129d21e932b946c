import createError from '@fastify/error';
import { DATABASE_UNAVAILABLE_CODE } from '@taskoverflow/domain';

/**
 * The errors packages/db creates, each with a code that callers check (docs/design.md, Errors).
 */

/**
 * PostgreSQL cannot answer now: unreachable, restarting, out of connections, a connection that
 * died or passed its deadline, or no pool slot free in time. Transient: http-kit answers 503
 * with Retry-After. pg's own error is the `cause` (logged, never sent to the client).
 */
export const DatabaseUnavailableError = createError<typeof DATABASE_UNAVAILABLE_CODE, [options: { cause: unknown }]>(
  DATABASE_UNAVAILABLE_CODE,
  'database unavailable, retry shortly',
  503,
);

/** The database named by DATABASE_URL cannot be used: a wrong password, TLS, DNS or network. */
export const DatabaseUnreachableError = createError<
  'TASKOVERFLOW_DATABASE_UNREACHABLE',
  [target: string, reason: string, options: { cause: unknown }]
>(
  'TASKOVERFLOW_DATABASE_UNREACHABLE',
  "cannot use PostgreSQL at %s: %s. Check DATABASE_URL and PGPASSWORD (on AWS: the role's secret), " +
    'the CA bundle its sslrootcert names, and that the database admits this host (security group)',
);

/**
 * A migration failed. kysely runs a batch in one transaction on PostgreSQL, so none of it is
 * applied; kysely's error (often PostgreSQL's, with its SQLSTATE) is the `cause`.
 */
export const MigrationError = createError<
  'TASKOVERFLOW_MIGRATION_FAILED',
  [migration: string, reason: string, options: { cause: unknown }]
>(
  'TASKOVERFLOW_MIGRATION_FAILED',
  'migration %s failed: %s. Nothing of this run was applied (one transaction): fix the migration, ' +
    'or the database state it stumbled on, and run pnpm migrate again',
);

/**
 * The database's migration history does not extend this code's: a migration of this code is
 * not applied, yet the database has applied one that sorts after it, or one this code lacks
 * (code from another branch, or migrations renamed). Applying it now would run it out of order,
 * so nothing is applied. A database that is merely ahead (every migration of this code applied,
 * plus newer ones) is no error: the code runs on the expanded schema (docs/deploy.md).
 */
export const MigrationsDivergedError = createError<
  'TASKOVERFLOW_MIGRATIONS_DIVERGED',
  [pending: string, applied: string]
>(
  'TASKOVERFLOW_MIGRATIONS_DIVERGED',
  "cannot migrate: this code's migration(s) %s are not applied, but the database has applied %s, which come after them " +
    'or which this code lacks. Nothing was applied. A new migration must sort after every migration applied anywhere: ' +
    'rename it to come last, or deploy the code the database was migrated by',
);
