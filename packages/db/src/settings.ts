import type { EnvReader } from '@taskoverflow/config';
import { describeDatabaseUrlProblem, type PoolSettings } from './connection.js';

/** Pool settings from DATABASE_URL, PG_POOL_MAX, PG_STATEMENT_TIMEOUT_MS and PG_CONNECT_TIMEOUT_MS. */
export function readPoolSettings(reader: EnvReader, applicationName: string): PoolSettings {
  const connectionString = reader.string('DATABASE_URL');
  if (connectionString) reader.check(describeDatabaseUrlProblem(connectionString));
  return {
    connectionString,
    applicationName,
    max: reader.integer('PG_POOL_MAX', 10, { min: 1, max: 200 }),
    statementTimeoutMillis: reader.integer('PG_STATEMENT_TIMEOUT_MS', 5_000, { min: 100, max: 600_000 }),
    connectionTimeoutMillis: reader.integer('PG_CONNECT_TIMEOUT_MS', 5_000, { min: 100, max: 60_000 }),
  };
}
