import { redactPassword } from '@taskoverflow/config';
import { DATABASE_UNAVAILABLE_CODE } from '@taskoverflow/domain';
import { Kysely, PostgresDialect, type KyselyConfig, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { DatabaseUnavailableError } from './errors.js';
import type { Database } from './schema.js';

const keepText = (value: string): string => value;

/** Settings of one service's connection pool. */
export interface PoolSettings {
  connectionString: string;
  /** Shown in pg_stat_activity, e.g. the service name. */
  applicationName: string;
  max?: number;
  /** How long to wait for a free connection, or for a new one to open (ms), before failing the request. */
  connectionTimeoutMillis?: number;
  /** Server-side limit on one statement (ms); the client gives up QUERY_DEADLINE_MARGIN_MS later. */
  statementTimeoutMillis?: number;
}

/**
 * How much longer than the statement timeout the client waits for an answer. A server that is
 * alive answers a slow statement with its own timeout error first; past this margin the
 * server is frozen or gone (an RDS failover leaves connections to the old primary hanging
 * without a reset), and the request fails with a 503 instead of hanging.
 */
export const QUERY_DEADLINE_MARGIN_MS = 1_000;

/** SQLSTATE classes of a server that cannot serve now: connection exception, insufficient resources, operator intervention (shutdown, restart). */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)/;

/**
 * What a failure of pool.connect() or of a query becomes. PostgreSQL's own errors carry a
 * SQLSTATE; pg's and the socket's do not (a connection ended, refused or timed out, a query
 * past its deadline, a client no longer queryable), so they are recognised by where they
 * come from, not by their wording: any failure of opening or using a connection that is not
 * an answer from the server means no database behind it. A TypeError is a bug in what was
 * sent, and stays a 500.
 */
function classifyFailure(error: unknown): Error & { code?: string } {
  if (error instanceof pg.DatabaseError)
    return UNAVAILABLE_SQLSTATE.test(error.code ?? '') ? new DatabaseUnavailableError({ cause: error }) : error;
  if (error instanceof TypeError) return error;
  return new DatabaseUnavailableError({ cause: error });
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
    query_timeout: (settings.statementTimeoutMillis ?? 5_000) + QUERY_DEADLINE_MARGIN_MS,
    // Keep `timestamp` as PostgreSQL's text: a JS Date would lose microseconds and apply the
    // process's time zone to a naive UTC value.
    types: {
      getTypeParser: (oid, format) =>
        oid === pg.types.builtins.TIMESTAMP
          ? keepText
          : (pg.types.getTypeParser(oid, format) as (value: string) => unknown),
    },
  };
}

export type Db = Kysely<Database>;

/** A kysely instance over an existing pool; whoever owns the pool closes it. */
export function createDb(pool: pg.Pool, options: Omit<KyselyConfig, 'dialect'> = {}): Db {
  return new Kysely<Database>({ ...options, dialect: new PostgresDialect({ pool: discardingBrokenClients(pool) }) });
}

/**
 * The pool as kysely uses it. Its failures that mean "no database now" become a
 * DatabaseUnavailableError (classifyFailure). It also guards each client against the ways its
 * connection breaks while a request holds it, or is about to:
 * - It dies between two queries (PostgreSQL restarting mid-transaction). pg-pool listens for
 *   errors only on idle clients, so the client's 'error' event would go unhandled and crash
 *   the process.
 * - It dies in the read that completes it: PostgreSQL shutting down sends its FATAL right
 *   behind the ReadyForQuery of a connection being opened, and a busy process reads both at
 *   once. pg-pool hands the new client over at ReadyForQuery and stops listening; pg then
 *   emits the FATAL before the caller could listen. Hence one listener per client, from the
 *   pool's 'connect' (emitted before the hand-over) for the client's whole life.
 * - A query passes its deadline: the connection may still be waiting on a server that froze
 *   or vanished, and pg would queue the next query behind the lost answer.
 * The client is then marked broken: its later queries (a transaction's ROLLBACK) fail at
 * once, with an error the services answer with 503, and on release the pool destroys it and
 * opens a fresh connection when one is needed.
 */
function discardingBrokenClients(pool: pg.Pool): PostgresPool {
  /** Why each broken client broke; a working client has no entry. */
  const broken = new WeakMap<pg.PoolClient, unknown>();
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      if (!broken.has(client)) broken.set(client, error);
    });
  });
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect().catch((error: unknown) => {
        throw classifyFailure(error);
      });
      const query = async (text: string, parameters: readonly unknown[]) => {
        if (broken.has(client)) throw new DatabaseUnavailableError({ cause: broken.get(client) });
        try {
          // pg only reads the values; no copy of kysely's readonly array on every query.
          return await client.query(text, parameters as unknown[]);
        } catch (error) {
          const failure = classifyFailure(error);
          // Past its deadline, pg would queue the next query behind the lost answer.
          if (failure.code === DATABASE_UNAVAILABLE_CODE) broken.set(client, error);
          throw failure;
        }
      };
      return {
        // kysely streams through cursors only when configured with one; this app never is.
        query: query as unknown as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy || broken.has(client)),
      };
    },
    end: () => pool.end(),
  };
}

/** Checks that a DATABASE_URL is a postgres URL; returns a message naming the fix if not. */
export function describeDatabaseUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `DATABASE_URL is not a URL: "${redactPassword(url)}". Expected postgres://user:password@host:5432/database (a password with @ / # or spaces percent-encoded)`;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    return `DATABASE_URL is not a postgres URL: "${parsed.protocol}//…". Expected postgres://user:password@host:5432/database`;
  }
  if (parsed.pathname.length <= 1) {
    return 'DATABASE_URL names no database: add it as the path, e.g. postgres://user:password@host:5432/taskoverflow';
  }
  return undefined;
}
