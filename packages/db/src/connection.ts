import { Kysely, PostgresDialect, type KyselyConfig } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

const TIMESTAMP_OID = 1114;
const keepText = (value: string): string => value;

/** Settings of one service's connection pool. */
export interface PoolSettings {
  connectionString: string;
  /** Shown in pg_stat_activity, e.g. the service name. */
  applicationName: string;
  max?: number;
  /** How long to wait for a free connection (ms) before failing the request. */
  connectionTimeoutMillis?: number;
  /** Server-side limit on one statement (ms). */
  statementTimeoutMillis?: number;
}

/** pg.Pool options shared by the services, the CLI and the tests. */
export function poolConfig(settings: PoolSettings): pg.PoolConfig {
  return {
    connectionString: settings.connectionString,
    application_name: settings.applicationName,
    max: settings.max ?? 10,
    connectionTimeoutMillis: settings.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: settings.statementTimeoutMillis ?? 5_000,
    // Keep `timestamp` as PostgreSQL's text: a JS Date would lose microseconds and apply the
    // process's time zone to a naive UTC value.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === TIMESTAMP_OID ? keepText : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  };
}

export type Db = Kysely<Database>;

/** A kysely instance over an existing pool; whoever owns the pool closes it. */
export function createDb(pool: pg.Pool, options: Omit<KyselyConfig, 'dialect'> = {}): Db {
  return new Kysely<Database>({ ...options, dialect: new PostgresDialect({ pool }) });
}

/** Checks that a DATABASE_URL is a postgres URL; returns a message naming the fix if not. */
export function describeDatabaseUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `DATABASE_URL is not a URL: "${url}". Expected postgres://user:password@host:5432/database`;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    return `DATABASE_URL is not a postgres URL: "${parsed.protocol}//…". Expected postgres://user:password@host:5432/database`;
  }
  if (parsed.pathname.length <= 1) {
    return 'DATABASE_URL names no database: add it as the path, e.g. postgres://user:password@host:5432/taskoverflow';
  }
  return undefined;
}
