import pg from 'pg';
import { poolConfig, type PoolSettings } from './connection.js';
import { DatabaseUnreachableError } from './errors.js';

/**
 * One connection and round trip to PostgreSQL with the service's own settings (credentials,
 * TLS, timeouts), before the service builds and listens: a task that cannot use its database
 * exits, and a deploy of it is rolled back, instead of passing the (database-free) health
 * check and failing every uncached request.
 */
export async function checkDatabaseConnection(settings: PoolSettings): Promise<void> {
  const client = new pg.Client(poolConfig(settings));
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new DatabaseUnreachableError(describeTarget(settings.connectionString), (error as Error).message, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** user@host:port/database of a DATABASE_URL, without its password. */
function describeTarget(connectionString: string): string {
  const url = new URL(connectionString);
  const user = url.username || process.env.PGUSER || '(default user)';
  return `${decodeURIComponent(user)}@${url.host}${url.pathname}`;
}
