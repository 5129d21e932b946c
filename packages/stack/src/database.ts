import { migrateDatabaseAt } from '@taskoverflow/db';
import pg from 'pg';

const APPLICATION_NAME = 'taskoverflow-stack';
/** SQLSTATE duplicate_database: another process created it first. */
const DUPLICATE_DATABASE = '42P04';

/** The URL of database `name` on the server `serverUrl` points at, with the same credentials. */
export function databaseUrlFor(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.href;
}

/** The URL with its password masked, for printing. */
export function redactPassword(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password) url.password = '***';
  return url.href;
}

/** Creates database `name` unless it exists; `adminUrl` must be allowed to CREATE DATABASE. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } catch (error) {
      if ((error as { code?: string }).code !== DUPLICATE_DATABASE) throw error;
    }
  });
}

/** Drops database `name`, closing the connections still open to it. */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
}

/** Brings the schema of the database at `databaseUrl` up to date; returns the migrations applied. */
export async function migrateDatabase(databaseUrl: string): Promise<string[]> {
  try {
    return await migrateDatabaseAt(databaseUrl, APPLICATION_NAME);
  } catch (error) {
    const reason = (error as Error).message;
    throw new Error(`could not migrate the database at ${redactPassword(databaseUrl)}: ${reason}`, { cause: error });
  }
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: APPLICATION_NAME });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot connect to PostgreSQL at ${redactPassword(url)}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
